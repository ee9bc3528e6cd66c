//! The agent's own process and its ancestors, read from `/proc/<pid>/stat`: a program
//! whose pid is among them is the agent itself (run directly by supervisord, or through
//! a wrapper such as `sh -c` or `setpriv`), whatever its program is called, and is
//! never restarted: stopping it would kill the agent mid-restart.

use std::path::Path;

/// How far up the tree to look; real chains are a few processes long.
const MAX_DEPTH: usize = 64;

/// `pid` and its ancestors up to (not including) pid 1, read under `proc_root`.
pub fn ancestors(proc_root: &Path, pid: u32) -> Vec<u32> {
    let mut chain = Vec::new();
    let mut current = pid;
    while current > 1 && chain.len() < MAX_DEPTH && !chain.contains(&current) {
        chain.push(current);
        let stat = std::fs::read_to_string(proc_root.join(current.to_string()).join("stat"));
        match stat.ok().as_deref().and_then(parent_of) {
            Some(parent) => current = parent,
            None => break,
        }
    }
    chain
}

/// The parent pid in a `/proc/<pid>/stat` line: the field after the state, which
/// follows the command name in parentheses (a name that may itself hold `)` and spaces).
fn parent_of(stat: &str) -> Option<u32> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    let _state = fields.next()?;
    fields.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_stat(root: &Path, pid: u32, name: &str, parent: u32) {
        let dir = root.join(pid.to_string());
        std::fs::create_dir_all(&dir).expect("dir");
        let line = format!("{pid} ({name}) S {parent} {pid} {pid} 0 -1 4194560 0 0");
        std::fs::write(dir.join("stat"), line).expect("stat");
    }

    #[test]
    fn the_chain_goes_up_to_pid_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_stat(dir.path(), 40, "omswatch-agent", 30);
        write_stat(dir.path(), 30, "sh) S 1 (odd", 20);
        write_stat(dir.path(), 20, "supervisord", 1);
        assert_eq!(ancestors(dir.path(), 40), [40, 30, 20]);
    }

    #[test]
    fn a_missing_or_looping_chain_stops() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_stat(dir.path(), 7, "a", 8);
        write_stat(dir.path(), 8, "b", 7);
        assert_eq!(ancestors(dir.path(), 7), [7, 8]);
        assert_eq!(ancestors(dir.path(), 99), [99], "no stat: itself only");
    }

    #[test]
    fn the_real_chain_holds_this_process() {
        let chain = ancestors(Path::new("/proc"), std::process::id());
        assert_eq!(chain.first(), Some(&std::process::id()));
        assert!(chain.len() >= 2, "{chain:?}");
    }
}
