//! [`TrackedChild`]: how the harness owns every long-running process it starts (mariadbd,
//! supervisord, agents, the collector), so that each one dies with its test and is reaped,
//! whatever stands between the harness and the program (`ip netns exec`, `unshare`, `sh`,
//! `setpriv`, supervisord and its programs) and however the test ends.
//!
//! - The child leads its own process group and carries the environment entry
//!   `OMSWATCH_HARNESS_CHILD=<owner>.<n>`, which every descendant inherits (wrappers and
//!   supervisord pass their environment on). Killing it SIGKILLs its group and everything that
//!   carries the entry, which also reaches processes that left the group (supervisord puts each
//!   program in a group of its own).
//! - Descendants die first, so that their parent, still alive, reaps them; then the child, which
//!   the harness reaps. A process that outlives its parent is handed to pid 1, which on this VM
//!   does not reap: it would stay a zombie.
//! - `<owner>` names the test process (pid and start time). A test process killed before any
//!   `Drop` runs (a nextest timeout) takes its direct children along (the harness starts them
//!   through `setpriv --pdeathsig KILL`); [`sweep_orphans`], run before each spawn and by
//!   `omswatch-test-sweep`, kills whatever else still carries its tag.

use std::process::ExitStatus;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use rustix::process::Signal;
use tokio::process::{Child, ChildStdout, Command};

use crate::process::{is_gone, live_processes, signal, start_time, wait_blocking, wait_dead};

/// The environment variable that tags a tracked child and all its descendants.
pub const TAG_VAR: &str = "OMSWATCH_HARNESS_CHILD";
/// Kill passes over the descendants: a parent may start new ones while it is being torn down.
const KILL_ROUNDS: usize = 5;
/// How long killed descendants get to be reaped by their (living) parent.
const DESCENDANTS_REAP_TIMEOUT: Duration = Duration::from_secs(1);
/// How long the killed child gets to exit before the harness gives up reaping it.
const REAP_TIMEOUT: Duration = Duration::from_secs(5);

/// Numbers the children of this test process.
static NEXT_CHILD: AtomicU64 = AtomicU64::new(0);

/// A process the harness started, with everything it starts in turn; dropping it kills them all
/// (SIGKILL, descendants first) and reaps it. See the module docs for how they are found.
#[derive(Debug)]
pub struct TrackedChild {
    /// The process itself, leader of its own process group.
    child: Child,
    /// The value of [`TAG_VAR`] it and its descendants carry.
    tag: String,
}

impl TrackedChild {
    /// Spawns `command` in a process group of its own, tagged for cleanup. First kills the
    /// leftovers of test processes that died without cleaning up ([`sweep_orphans`]).
    pub fn spawn(command: &mut Command) -> anyhow::Result<TrackedChild> {
        sweep_orphans();
        let tag = format!(
            "{}.{}",
            owner_id(),
            NEXT_CHILD.fetch_add(1, Ordering::Relaxed)
        );
        let child = command
            .env(TAG_VAR, &tag)
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("spawning {command:?}"))?;
        Ok(TrackedChild { child, tag })
    }

    /// The child's pid; `None` once it has been reaped.
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }

    /// Its exit status if it has exited (reaping it), `None` while it runs.
    pub fn try_wait(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        self.child.try_wait().context("polling a tracked child")
    }

    /// Takes the pipe of its stdout, if it was spawned with `Stdio::piped()`.
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// Every live process of this child: itself and all its descendants.
    pub fn pids(&self) -> Vec<u32> {
        self.members(self.id())
    }

    /// SIGKILLs the child and everything it started, descendants first, and reaps the child.
    /// Blocks for at most a few seconds; calling it again does nothing.
    pub fn kill(&mut self) {
        self.kill_descendants();
        if self.child.id().is_some() {
            let _ = self.child.start_kill();
            wait_blocking(&mut self.child, REAP_TIMEOUT);
        }
        // Whatever it started after the first pass is an orphan now: no group, only the tag.
        self.kill_descendants();
    }

    /// SIGKILLs everything the child started but not the child itself, and waits (bounded) for
    /// the child to reap them.
    pub(crate) fn kill_descendants(&mut self) {
        let leader = self.child.id();
        for _ in 0..KILL_ROUNDS {
            let descendants: Vec<u32> = self
                .members(leader)
                .into_iter()
                .filter(|pid| Some(*pid) != leader)
                .collect();
            if descendants.is_empty() {
                return;
            }
            for pid in &descendants {
                signal(*pid, Signal::KILL);
            }
            wait_reaped(&descendants, DESCENDANTS_REAP_TIMEOUT);
        }
    }

    /// Waits, blocking, until the child exits (reaping it) or `timeout` passes.
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> bool {
        wait_blocking(&mut self.child, timeout)
    }

    /// The live processes that carry this child's tag or belong to the group `leader` leads.
    fn members(&self, leader: Option<u32>) -> Vec<u32> {
        live_processes()
            .into_iter()
            .filter(|entry| {
                entry.env(TAG_VAR) == Some(self.tag.as_str()) || Some(entry.pgid) == leader
            })
            .map(|entry| entry.pid)
            .collect()
    }
}

impl Drop for TrackedChild {
    fn drop(&mut self) {
        self.kill();
    }
}

/// SIGKILLs every process tagged by a test process that is gone (killed before its `Drop`s
/// ran): programs of its supervisord, anything its children forked. Leaves live owners' alone.
pub fn sweep_orphans() {
    for _ in 0..KILL_ROUNDS {
        let orphans: Vec<u32> = live_processes()
            .into_iter()
            .filter(|entry| entry.env(TAG_VAR).is_some_and(|tag| !owner_alive(tag)))
            .map(|entry| entry.pid)
            .collect();
        if orphans.is_empty() {
            return;
        }
        for pid in &orphans {
            signal(*pid, Signal::KILL);
        }
        wait_dead(&orphans, DESCENDANTS_REAP_TIMEOUT);
    }
}

/// This test process as `<pid>.<start time>`: unique on the machine while it lives.
fn owner_id() -> &'static str {
    static OWNER: OnceLock<String> = OnceLock::new();
    OWNER.get_or_init(|| {
        let pid = std::process::id();
        format!("{pid}.{}", start_time(pid).unwrap_or_default())
    })
}

/// Whether the test process named at the start of `tag` (`<pid>.<start time>.<n>`) still runs.
/// A tag in another format counts as alive: never kill what we cannot attribute.
fn owner_alive(tag: &str) -> bool {
    let mut parts = tag.split('.');
    let (Some(Ok(pid)), Some(Ok(started))) = (
        parts.next().map(str::parse::<u32>),
        parts.next().map(str::parse::<u64>),
    ) else {
        return true;
    };
    start_time(pid) == Some(started)
}

/// Waits, blocking, until every one of `pids` is reaped, or `timeout` passes.
fn wait_reaped(pids: &[u32], timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while !pids.iter().all(|pid| is_gone(*pid)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}
