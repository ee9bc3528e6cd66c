//! What a binary needs from a system to start, as binutils' `readelf` reads it: its program
//! interpreter (`/lib64/ld-linux-x86-64.so.2` for a dynamic glibc binary), the shared libraries
//! it names (`NEEDED`) and the newest glibc symbol version it asks for (`GLIBC_2.34` will not
//! start on CentOS 7, whose glibc is 2.17). A static binary has none of the three.

use std::path::Path;

use anyhow::{Context, bail};

use crate::require_program;

/// What a binary needs to start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Linkage {
    /// The requested program interpreter, if any.
    pub interpreter: Option<String>,
    /// The shared libraries it needs, in order.
    pub needed: Vec<String>,
    /// The newest `GLIBC_x.y[.z]` version it needs, as numbers.
    pub newest_glibc: Option<Vec<u32>>,
}

impl Linkage {
    /// Neither an interpreter nor a shared library: starts on any Linux kernel, in an empty root.
    pub fn is_static(&self) -> bool {
        self.interpreter.is_none() && self.needed.is_empty()
    }

    /// Whether it starts on a system with glibc `version` (e.g. `[2, 17]`), judged by the symbol
    /// versions it needs.
    pub fn runs_on_glibc(&self, version: &[u32]) -> bool {
        self.newest_glibc
            .as_ref()
            .is_none_or(|needed| needed.as_slice() <= version)
    }
}

/// Reads `path`'s linkage with `readelf`.
pub fn linkage(path: &Path) -> anyhow::Result<Linkage> {
    let readelf = require_program("readelf", "binutils")?;
    let run = |flag: &str| -> anyhow::Result<String> {
        let output = std::process::Command::new(&readelf)
            .args(["-W", flag])
            .arg(path)
            .output()
            .with_context(|| format!("running readelf {flag} {}", path.display()))?;
        if !output.status.success() {
            bail!(
                "readelf {flag} {} failed ({}): {}",
                path.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    Ok(parse(
        &run("--program-headers")?,
        &run("--dynamic")?,
        &run("--version-info")?,
    ))
}

/// The linkage from readelf's `--program-headers`, `--dynamic` and `--version-info` outputs.
pub fn parse(program_headers: &str, dynamic: &str, version_info: &str) -> Linkage {
    let interpreter = program_headers.lines().find_map(|line| {
        let rest = line.split_once("[Requesting program interpreter: ")?.1;
        Some(rest.trim_end().trim_end_matches(']').to_owned())
    });
    let needed = dynamic
        .lines()
        .filter(|line| line.contains("(NEEDED)"))
        .filter_map(|line| {
            let name = line.split_once("Shared library: [")?.1;
            Some(name.trim_end().trim_end_matches(']').to_owned())
        })
        .collect();
    let newest_glibc = version_info
        .split(|c: char| c.is_whitespace())
        .filter_map(|word| word.strip_prefix("GLIBC_"))
        .filter_map(|version| {
            version
                .split('.')
                .map(|n| n.parse::<u32>().ok())
                .collect::<Option<Vec<u32>>>()
        })
        .max();
    Linkage {
        interpreter,
        needed,
        newest_glibc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DYNAMIC_HEADERS: &str = "  INTERP  0x0002e0 0x2e0 0x2e0 0x00001c 0x00001c R   0x1\n      \
        [Requesting program interpreter: /lib64/ld-linux-x86-64.so.2]\n";
    const DYNAMIC: &str = " 0x0000000000000001 (NEEDED)             Shared library: [libgcc_s.so.1]\n \
        0x0000000000000001 (NEEDED)             Shared library: [libc.so.6]\n \
        0x000000000000000c (INIT)               0x52000\n";
    const VERSIONS: &str = "  0x0040:   Name: GCC_3.0  Flags: none  Version: 5\n  \
        0x0070:   Name: GLIBC_2.29  Flags: none  Version: 9\n  \
        0x0080:   Name: GLIBC_2.2.5  Flags: none  Version: 3\n  \
        0x0090:   Name: GLIBC_2.34  Flags: none  Version: 7\n  \
        0x00a0:   Name: GLIBC_PRIVATE  Flags: none  Version: 8\n";

    #[test]
    fn a_dynamic_glibc_binary() {
        let linkage = parse(DYNAMIC_HEADERS, DYNAMIC, VERSIONS);
        assert_eq!(
            linkage.interpreter.as_deref(),
            Some("/lib64/ld-linux-x86-64.so.2")
        );
        assert_eq!(linkage.needed, ["libgcc_s.so.1", "libc.so.6"]);
        assert_eq!(linkage.newest_glibc, Some(vec![2, 34]));
        assert!(!linkage.is_static());
        assert!(!linkage.runs_on_glibc(&[2, 17]));
        assert!(linkage.runs_on_glibc(&[2, 36]));
    }

    #[test]
    fn a_static_pie() {
        let dynamic = "Dynamic section at offset 0x75f778 contains 20 entries:\n \
            0x000000000000000c (INIT)               0x52000\n";
        let linkage = parse(
            "  LOAD  0x000000 0x0 0x0 0x051f58 0x051f58 R   0x1000\n",
            dynamic,
            "",
        );
        assert!(linkage.is_static(), "{linkage:?}");
        assert!(linkage.runs_on_glibc(&[2, 17]));
    }

    #[test]
    fn glibc_versions_compare_as_numbers() {
        let old = parse(
            "",
            "",
            "Name: GLIBC_2.2.5\nName: GLIBC_2.17\nName: GLIBC_2.3.4\n",
        );
        assert_eq!(old.newest_glibc, Some(vec![2, 17]));
        assert!(old.runs_on_glibc(&[2, 17]));
    }
}
