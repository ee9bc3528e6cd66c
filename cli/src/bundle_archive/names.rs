//! Safe path components for names that come from peers. Node names are chosen by
//! agents and region file names by whoever configured the collector; neither may
//! steer where a file lands, so each becomes one plain component under the
//! bundle's top directory.

use std::collections::HashSet;

/// Longest component kept; tar handles long paths, people reading them do not.
const MAX_LEN: usize = 64;

/// `raw` as a single path component: ASCII letters, digits, `.`, `_` and `-`
/// kept, anything else (`/`, `\`, spaces, control characters, non-ASCII) becomes
/// `_`; no leading dot (so no `.`, `..` or hidden files); at most 64 bytes.
/// `fallback` when nothing usable is left.
pub fn sanitize(raw: &str, fallback: &str) -> String {
    let mut name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let dots = name.len() - name.trim_start_matches('.').len();
    name.replace_range(..dots, &"_".repeat(dots));
    name.truncate(MAX_LEN);
    if name.chars().all(|c| matches!(c, '_' | '.')) {
        fallback.to_string()
    } else {
        name
    }
}

/// Hands out distinct sanitised names, so `a/b` and `a_b` cannot overwrite
/// each other: a repeated name gets `-2`, `-3`… appended.
#[derive(Debug, Default)]
pub struct UniqueNames {
    /// Names already handed out.
    taken: HashSet<String>,
}

impl UniqueNames {
    /// A distinct safe name for `raw`; `fallback` when it has nothing usable.
    pub fn claim(&mut self, raw: &str, fallback: &str) -> String {
        let base = sanitize(raw, fallback);
        let mut name = base.clone();
        let mut n = 2;
        while !self.taken.insert(name.clone()) {
            name = format!("{base}-{n}");
            n += 1;
        }
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_stay_one_component() {
        let cases = [
            ("oms-node-1", "oms-node-1"),
            ("10.0.0.11", "10.0.0.11"),
            ("../../etc/passwd", "___.._etc_passwd"),
            ("..", "node-1"),
            (".", "node-1"),
            ("", "node-1"),
            ("/", "node-1"),
            (".hidden", "_hidden"),
            ("a\nb\tc\u{7}", "a_b_c_"),
            ("C:\\win", "C__win"),
            ("nöde", "n_de"),
        ];
        for (raw, want) in cases {
            let got = sanitize(raw, "node-1");
            assert_eq!(got, want, "{raw:?}");
            assert!(!got.contains('/') && !got.starts_with('.'), "{got}");
        }
        assert_eq!(sanitize(&"x".repeat(300), "f").len(), 64);
    }

    #[test]
    fn colliding_names_get_distinct_suffixes() {
        let mut names = UniqueNames::default();
        assert_eq!(names.claim("a/b", "node-1"), "a_b");
        assert_eq!(names.claim("a_b", "node-2"), "a_b-2");
        assert_eq!(names.claim("a?b", "node-3"), "a_b-3");
        assert_eq!(names.claim("..", "node-4"), "node-4");
    }
}
