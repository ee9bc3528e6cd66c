//! `autostart=` of each program, read from supervisord's config and the files it includes.
//!
//! supervisord does not report it, yet it matters: after an upgrade, an `oms_console` left with
//! `autostart=false` stays STOPPED across every restart and the node is Down. The sections are
//! read the way supervisord reads them: the main file, then each `[include] files = ...` glob
//! (space-separated, relative to the main file's directory, `%(here)s` expanded, sorted, not
//! recursive), later definitions of a key winning. What cannot be read is skipped: a program
//! whose section is not found keeps `autostart` unknown.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ini::Ini;
use omswatch_common::proto::v1::Program;

use super::conf::{here, load_ini};
use crate::probe::stamp::Watched;

/// Section prefixes of the processes supervisord manages.
const PREFIXES: [&str; 3] = ["program:", "fcgi-program:", "eventlistener:"];

/// Largest config file read; supervisord configs are a few KiB, a glob may match anything.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// What the config says of one program.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ProgramSection {
    /// `autostart=` as written, None when absent (supervisord then starts the program).
    pub(crate) autostart: Option<String>,
    /// The file of the last definition of the section.
    pub(crate) file: PathBuf,
}

/// Program name → section, from `conf` and its includes. Files that cannot be read or parsed
/// are skipped (an unreadable main file yields nothing).
#[cfg(test)]
pub(crate) fn read_sections(conf: &Path) -> HashMap<String, ProgramSection> {
    read_watched(conf).0
}

/// The program sections, and what was looked at to find them: every file read and every directory listed for an
/// `[include]` pattern (a program file added to `conf.d/` changes that directory), stamped
/// before reading, so the sections are read again only when one of them changes.
pub(crate) fn read_watched(conf: &Path) -> (HashMap<String, ProgramSection>, Watched) {
    let conf = std::path::absolute(conf).unwrap_or_else(|_| conf.to_owned());
    let mut watched = Watched::new();
    let mut sections = HashMap::new();
    let Some(main) = load(&conf, &mut watched) else {
        return (sections, watched);
    };
    merge(&mut sections, &main, &conf);
    for file in included_files(&main, &conf, &mut watched) {
        if let Some(ini) = load(&file, &mut watched) {
            merge(&mut sections, &ini, &file);
        }
    }
    (sections, watched)
}

/// Sets `autostart` and `config_file` of each program whose section is known. supervisord names a
/// process after its program (`[program:x]`, numprocs 1) or groups a program's processes under
/// its name, so both are tried.
pub(crate) fn annotate(programs: &mut [Program], sections: &HashMap<String, ProgramSection>) {
    for program in programs {
        let section = sections
            .get(&program.name)
            .or_else(|| sections.get(&program.group));
        if let Some(section) = section {
            program.config_file = section.file.display().to_string();
            // Absent means supervisord's default, true; a value supervisord would refuse to
            // start with stays unknown.
            program.autostart = section.autostart.as_deref().map_or(Some(true), boolean);
        }
    }
}

/// One file, parsed (and watched); None (and a debug event) when it cannot be.
fn load(path: &Path, watched: &mut Watched) -> Option<Ini> {
    watched.add(path);
    let readable = std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() <= MAX_FILE_BYTES);
    let text = readable
        .then(|| std::fs::read_to_string(path).ok())
        .flatten();
    let Some(text) = text else {
        tracing::debug!(path = %path.display(), "supervisord config not readable for autostart");
        return None;
    };
    match load_ini(&text, path) {
        Ok(ini) => Some(ini),
        Err(error) => {
            tracing::debug!(%error, "supervisord config not parsed for autostart");
            None
        }
    }
}

/// Folds `ini`'s program sections into `sections`, as ConfigParser merges files read in turn.
fn merge(sections: &mut HashMap<String, ProgramSection>, ini: &Ini, file: &Path) {
    for (name, props) in ini.iter() {
        let Some(program) =
            name.and_then(|n| PREFIXES.iter().find_map(|prefix| n.strip_prefix(prefix)))
        else {
            continue;
        };
        let entry = sections.entry(program.trim().to_owned()).or_default();
        entry.file = file.to_owned();
        if let Some((_, value)) = props
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("autostart"))
        {
            entry.autostart = Some(value.to_owned());
        }
    }
}

/// supervisor's `boolean()`.
fn boolean(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// The files `[include] files` names, each pattern's matches sorted.
fn included_files(main: &Ini, conf: &Path, watched: &mut Watched) -> Vec<PathBuf> {
    let Some(files) = main
        .section(Some("include"))
        .and_then(|props| props.iter().find(|(k, _)| k.eq_ignore_ascii_case("files")))
        .map(|(_, v)| v.replace("%(here)s", &here(conf)))
    else {
        return Vec::new();
    };
    let base = PathBuf::from(here(conf));
    let mut found = Vec::new();
    for pattern in files.split_whitespace() {
        let mut matches = glob(&base.join(pattern), watched);
        matches.sort();
        found.extend(matches);
    }
    found
}

/// Paths matching `pattern`, whose components may hold `*` and `?` (as Python's glob, a wildcard
/// does not match a leading `.`; `[...]` classes are not supported). Each directory listed, and
/// each path of a pattern without wildcards, is added to `watched`.
fn glob(pattern: &Path, watched: &mut Watched) -> Vec<PathBuf> {
    let mut candidates = vec![PathBuf::new()];
    for component in pattern.components() {
        let part = component.as_os_str().to_string_lossy();
        if !part.contains(['*', '?']) {
            candidates.iter_mut().for_each(|c| c.push(component));
            continue;
        }
        let mut next = Vec::new();
        for dir in &candidates {
            watched.add(dir);
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if wildcard(&part, &name) && (!name.starts_with('.') || part.starts_with('.')) {
                    next.push(dir.join(name));
                }
            }
        }
        candidates = next;
    }
    for path in &candidates {
        watched.add(path);
    }
    candidates.retain(|path| path.exists());
    candidates
}

/// Whether `name` matches `pattern`, where `*` is any run of characters and `?` one character.
fn wildcard(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(&c) if c == '?' || c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
