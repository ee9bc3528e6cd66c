//! The test suite leaves nothing behind (issue 13): a [`TrackedChild`] dies with everything it
//! started, `scripts/leak-check.sh` names, kills and fails on a process a run left alive, and
//! `scripts/cleanup.sh` removes dead tests' leftovers while sparing what running tests hold.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use omswatch_tests::{TestNet, TrackedChild, is_gone, require_program};
use tokio::io::AsyncBufReadExt;
use tokio::process::Command;

/// The variable scripts/test.sh marks its run's processes with.
const RUN_VAR: &str = "OMSWATCH_TEST_RUN";

/// A script of the checkout's `scripts/` dir.
fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts")
        .join(name)
}

/// Runs `scripts/leak-check.sh args`, with `marker` in its own environment as under
/// scripts/test.sh (so it must spare itself); returns its exit code and stderr.
async fn leak_check(marker: &str, args: &[&str]) -> anyhow::Result<(Option<i32>, String)> {
    let out = Command::new(script("leak-check.sh"))
        .args(["--marker", marker])
        .args(args)
        .env(RUN_VAR, marker)
        .output()
        .await
        .context("running scripts/leak-check.sh")?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    Ok((out.status.code(), stderr))
}

/// Waits until `child` exits; its status.
async fn exit_status(child: &mut TrackedChild) -> anyhow::Result<ExitStatus> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            bail!("the process still runs");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The start time of `pid` in clock ticks after boot (field 22 of `/proc/<pid>/stat`).
fn start_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let (_, fields) = stat.rsplit_once(") ").context("no ') ' in stat")?;
    Ok(fields
        .split_whitespace()
        .nth(19)
        .context("short stat")?
        .parse()?)
}

#[tokio::test]
async fn a_tracked_child_dies_with_everything_it_started() -> anyhow::Result<()> {
    // A wrapper that forks its program and waits for it, as `faketime` does, plus a grandchild
    // that left the wrapper's process group, as supervisord's programs do.
    let mut wrapper = TrackedChild::spawn(
        Command::new("sh")
            .args([
                "-c",
                "sleep 1011 & echo $!; setsid sleep 1012 & echo $!; wait",
            ])
            .stdout(Stdio::piped()),
    )?;
    let stdout = wrapper.take_stdout().context("wrapper stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let mut pids = vec![wrapper.id().context("wrapper pid")?];
    for _ in 0..2 {
        let line = lines.next_line().await?.context("a pid from the wrapper")?;
        pids.push(line.trim().parse()?);
    }
    let mut tracked = wrapper.pids();
    tracked.sort_unstable();
    let mut expected = pids.clone();
    expected.sort_unstable();
    assert_eq!(tracked, expected);

    drop(wrapper);
    for pid in pids {
        assert!(
            is_gone(pid),
            "pid {pid} still runs or is an unreaped zombie"
        );
    }
    Ok(())
}

#[tokio::test]
async fn the_leak_check_names_kills_and_fails_on_a_leaked_process() -> anyhow::Result<()> {
    let marker = format!("leak-check-self-test-{}", std::process::id());
    let mut leaked = TrackedChild::spawn(Command::new("sleep").arg("1013").env(RUN_VAR, &marker))?;
    let pid = leaked.id().context("sleep pid")?;

    let (code, stderr) = leak_check(&marker, &[]).await?;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(&format!("pid {pid} ")), "{stderr}");
    assert!(stderr.contains("sleep 1013"), "{stderr}");
    assert!(stderr.contains("FAILED"), "{stderr}");
    assert_eq!(
        stderr.matches("  pid ").count(),
        1,
        "only the sleep: {stderr}"
    );
    let status = exit_status(&mut leaked).await?;
    assert_eq!(status.signal(), Some(9), "killed by the check: {status}");

    let (code, stderr) = leak_check(&marker, &[]).await?;
    assert_eq!(code, Some(0), "nothing is left now: {stderr}");
    Ok(())
}

#[tokio::test]
async fn the_leak_check_finds_a_binary_of_the_checkout_that_lost_its_marker() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let binary = dir.path().join("omswatch-fake-agent");
    std::fs::copy(require_program("sleep", "coreutils")?, &binary)?;
    let mut leaked = TrackedChild::spawn(Command::new(&binary).arg("1014").env_remove(RUN_VAR))?;
    let pid = leaked.id().context("pid")?;
    let started = start_ticks(pid)?;
    let marker = format!("leak-check-exe-test-{}", std::process::id());
    let exe_dir = dir.path().display().to_string();

    let later = (started + 1).to_string();
    let (code, stderr) = leak_check(&marker, &["--exe-dir", &exe_dir, "--since", &later]).await?;
    assert_eq!(code, Some(0), "started before the run: spared: {stderr}");
    assert!(leaked.try_wait()?.is_none(), "spared means alive");

    let since = started.to_string();
    let (code, stderr) = leak_check(&marker, &["--exe-dir", &exe_dir, "--since", &since]).await?;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(&format!("pid {pid} ")), "{stderr}");
    assert!(stderr.contains("omswatch-fake-agent 1014"), "{stderr}");
    let status = exit_status(&mut leaked).await?;
    assert_eq!(status.signal(), Some(9), "{status}");
    Ok(())
}

#[tokio::test]
async fn cleanup_removes_dead_slots_and_spares_held_ones() -> anyhow::Result<()> {
    let held = TestNet::new(1)?;
    // A namespace of a slot nobody holds (the last one: tests claim the lowest free slot), with
    // a process inside, as a test process killed before its Drop leaves them.
    let ip = require_program("ip", "iproute2")?;
    let dead_ns = "omsw2303n0";
    let _ = Command::new(&ip)
        .args(["netns", "del", dead_ns])
        .status()
        .await;
    let added = Command::new(&ip)
        .args(["netns", "add", dead_ns])
        .status()
        .await?;
    assert!(added.success(), "ip netns add {dead_ns}");
    let mut inside =
        TrackedChild::spawn(Command::new(&ip).args(["netns", "exec", dead_ns, "sleep", "1015"]))?;

    let out = Command::new(script("cleanup.sh")).output().await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8(
        Command::new(&ip)
            .args(["netns", "list"])
            .output()
            .await?
            .stdout,
    )?;
    let names: Vec<&str> = listed
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(!names.contains(&dead_ns), "{dead_ns} survived: {listed}");
    assert!(
        names.contains(&held.nodes()[0].ns.as_str()),
        "the held {} was removed: {listed}",
        held.nodes()[0].ns
    );
    let status = exit_status(&mut inside).await?;
    assert_eq!(
        status.signal(),
        Some(9),
        "the process inside was killed: {status}"
    );
    Ok(())
}
