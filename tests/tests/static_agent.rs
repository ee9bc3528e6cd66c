//! The agent that ships (scripts/build-static-agent.sh, run by scripts/test.sh) starts in any OMS
//! container: it needs no libc from the system (CentOS 7 has glibc 2.17), proven by reading its
//! ELF headers and by running `omswatch-agent --once` in an empty chroot (the binary, a bind of
//! supervisord's socket and a bind of /proc, nothing else) against a real supervisord.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use omswatch_tests::bins::static_agent_path;
use omswatch_tests::elf::linkage;
use omswatch_tests::{ProgramSpec, Supervisord, bin_path, require_program, require_root};
use tokio::process::Command;

/// CentOS 7's glibc, the oldest an OMS container has.
const CENTOS7_GLIBC: [u32; 2] = [2, 17];

#[test]
fn the_shipped_agent_needs_no_libc_from_the_system() {
    let agent = static_agent_path().unwrap();
    let shipped = linkage(&agent).unwrap();
    assert!(
        shipped.is_static(),
        "{} is not static: {shipped:?}",
        agent.display()
    );
    assert!(shipped.runs_on_glibc(&CENTOS7_GLIBC), "{shipped:?}");

    // The check can fail: the debug agent the other tests run is a dynamic glibc binary built
    // against this machine's newer glibc.
    let debug = linkage(&bin_path("omswatch-agent").unwrap()).unwrap();
    assert!(!debug.is_static(), "{debug:?}");
    assert!(!debug.runs_on_glibc(&CENTOS7_GLIBC), "{debug:?}");
}

/// supervisord's programs, in all three states an operator meets.
fn programs() -> Vec<ProgramSpec> {
    vec![
        ProgramSpec::sleeper("nginx"),
        ProgramSpec {
            autostart: false,
            ..ProgramSpec::sleeper("oms_console")
        },
        ProgramSpec::failing("oms_drc_cm"),
        ProgramSpec::sleeper("oms_drc_supervisor"),
    ]
}

#[tokio::test]
async fn the_shipped_agent_reports_supervisord_from_an_empty_chroot() {
    require_root().unwrap();
    let agent = static_agent_path().unwrap();
    let supervisord = Supervisord::start(&programs(), None).await.unwrap();
    let root = tempfile::tempdir().unwrap();
    std::fs::copy(&agent, root.path().join("omswatch-agent")).unwrap();
    std::fs::create_dir(root.path().join("proc")).unwrap();
    std::fs::write(root.path().join("supervisor.sock"), "").unwrap();
    let mut entries: Vec<String> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, ["omswatch-agent", "proc", "supervisor.sock"]);

    let report = once_in_chroot(root.path(), &supervisord.socket_path())
        .await
        .unwrap();

    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(
        report["node"],
        hostname.trim(),
        "named from /proc's host name"
    );
    let supervisor = &report["supervisor"];
    assert_eq!(supervisor["reachable"], true, "{supervisor:#}");
    let states: BTreeMap<&str, &str> = supervisor["programs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["state"].as_str().unwrap()))
        .collect();
    let expected = BTreeMap::from([
        ("nginx", "RUNNING"),
        ("oms_console", "STOPPED"),
        ("oms_drc_cm", "FATAL"),
        ("oms_drc_supervisor", "RUNNING"),
    ]);
    assert_eq!(states, expected, "{supervisor:#}");
    for (name, state) in expected {
        assert_eq!(supervisord.program_state(name).await.unwrap(), state);
    }
    let nginx = supervisor["programs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "nginx")
        .unwrap();
    assert_eq!(
        nginx["pid"],
        supervisord.program_pid("nginx").await.unwrap()
    );
    let resources = &report["resources"];
    assert!(
        resources["mem_total_bytes"].as_u64().unwrap() > 0 && resources["cpus"].as_u64() >= Some(1),
        "read from the /proc bind: {resources:#}"
    );
}

/// Runs `/omswatch-agent --once` chrooted in `root`, with /proc and supervisord's `socket` bound
/// into it, in a mount namespace of its own (the binds vanish with it) and a network namespace
/// of its own (nothing to resolve the host name with: the lookup fails at once instead of
/// waiting on a name server); returns the report it printed (`--format json`).
async fn once_in_chroot(root: &Path, socket: &Path) -> anyhow::Result<serde_json::Value> {
    let unshare = require_program("unshare", "util-linux")?;
    require_program("chroot", "coreutils")?;
    require_program("mount", "mount")?;
    let script = r#"mount --bind /proc "$1/proc" && mount --bind "$2" "$1/supervisor.sock" \
        && exec chroot "$1" /omswatch-agent --once --format json --supervisor unix:///supervisor.sock"#;
    let mut command = Command::new(unshare);
    command
        .args(["--mount", "--propagation", "private", "--net", "--"])
        .args(["sh", "-c", script, "sh"])
        .arg(root)
        .arg(socket)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .context("omswatch-agent --once did not finish within 30s")?
        .context("running unshare … chroot … omswatch-agent --once")?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    // 0, 1 or 2 say what the node's findings are (a FATAL program is critical); 3 or a signal
    // means the agent itself failed.
    if !matches!(output.status.code(), Some(0..=2)) {
        bail!(
            "omswatch-agent --once in the chroot failed ({}): {stderr}",
            output.status
        );
    }
    serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "the report printed is not JSON: {}\nstderr: {stderr}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}
