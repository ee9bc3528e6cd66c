//! The agent's own checks of a restart command, before anything is asked of
//! supervisord. Pure: the clocks are arguments, so every rule is a unit test.
//!
//! In order, each refusal naming the switch or rule:
//! 1. **replay**: an id seen before is refused (ids are kept [`SEEN_FOR`], longer than
//!    any command stays valid, so an old id is refused by its expiry after that);
//! 2. **expiry**: the command carries its expiry in this node's clock, as the
//!    collector estimated it from this agent's last report (so a skew between the two
//!    clocks cancels out); it is refused [`EXPIRY_SLACK`] after it, or when it claims
//!    to be valid for more than [`MAX_AHEAD`] (no collector sends that);
//! 3. `--allow-restart` off; 4. the agent itself (by name; by pid in [`super`]);
//! 5. a program outside `--restart-programs`; 6. a second restart of a program within
//!    [`MIN_INTERVAL`] (counted from when the first was accepted).

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use omswatch_common::proto::v1::RestartCommand;
use omswatch_common::restart::{EXPIRY_SLACK, MIN_INTERVAL, names_the_agent};
use tokio::time::Instant;

/// How long a command's id is remembered.
pub const SEEN_FOR: Duration = Duration::from_secs(600);
/// Most ids remembered; past it (a collector gone mad), commands are refused until
/// the oldest are [`SEEN_FOR`] old.
pub const MAX_SEEN: usize = 1024;
/// The furthest ahead of this node's clock an expiry may be.
pub const MAX_AHEAD: Duration = Duration::from_secs(300);

/// The agent's switches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `--allow-restart`.
    pub allow: bool,
    /// `--restart-programs`.
    pub programs: Vec<String>,
}

impl Default for Policy {
    /// Off, with the default programs.
    fn default() -> Self {
        Self {
            allow: false,
            programs: omswatch_common::restart::DEFAULT_RESTART_PROGRAMS
                .map(String::from)
                .to_vec(),
        }
    }
}

/// What the agent remembers of commands.
#[derive(Debug, Default)]
pub struct Guard {
    /// Ids received, oldest first.
    seen: VecDeque<(String, Instant)>,
    /// When each program's last restart was accepted.
    last: HashMap<String, Instant>,
}

impl Guard {
    /// Checks `command` received at `now` (monotonic) and `now_unix_ms` (this node's
    /// clock); on success the program's minute starts now.
    pub fn check(
        &mut self,
        policy: &Policy,
        command: &RestartCommand,
        now: Instant,
        now_unix_ms: i64,
    ) -> Result<(), String> {
        self.remember(&command.id, now)?;
        expiry(command, now_unix_ms)?;
        let program = command.program.as_str();
        if !policy.allow {
            return Err("restarts are off on this node: start omswatch-agent with \
                        --allow-restart (OMSWATCH_ALLOW_RESTART=true) to allow them"
                .into());
        }
        if names_the_agent(program) {
            return Err(format!(
                "{program} is omswatch's own agent, which is never restarted through itself"
            ));
        }
        if !policy.programs.iter().any(|p| p == program) {
            return Err(format!(
                "{program} is not in this agent's --restart-programs ({}): add it there to allow it",
                policy.programs.join(",")
            ));
        }
        self.last
            .retain(|_, at| now.saturating_duration_since(*at) < MIN_INTERVAL);
        if let Some(at) = self.last.get(program) {
            let ago = now.saturating_duration_since(*at);
            return Err(format!(
                "{program} was restarted on this node {}s ago: one restart per program per \
                 minute; retry in {}s",
                ago.as_secs(),
                MIN_INTERVAL.saturating_sub(ago).as_secs().max(1)
            ));
        }
        self.last.insert(program.to_string(), now);
        Ok(())
    }

    /// Frees `program`'s minute taken at `at`: the restart did not happen after all.
    pub fn give_back(&mut self, program: &str, at: Instant) {
        if self.last.get(program) == Some(&at) {
            self.last.remove(program);
        }
    }

    /// Records `id`; refuses one seen before.
    fn remember(&mut self, id: &str, now: Instant) -> Result<(), String> {
        while self
            .seen
            .front()
            .is_some_and(|(_, at)| now.saturating_duration_since(*at) >= SEEN_FOR)
        {
            self.seen.pop_front();
        }
        if id.is_empty() {
            return Err("the command has no id; refusing it".into());
        }
        if let Some((_, at)) = self.seen.iter().find(|(seen, _)| seen == id) {
            return Err(format!(
                "command {id} was already received {}s ago: a replayed command is ignored",
                now.saturating_duration_since(*at).as_secs()
            ));
        }
        if self.seen.len() >= MAX_SEEN {
            return Err(format!(
                "over {MAX_SEEN} commands within {} minutes: refusing more until they age",
                SEEN_FOR.as_secs() / 60
            ));
        }
        self.seen.push_back((id.to_string(), now));
        Ok(())
    }
}

/// Whether the command is still valid by this node's clock.
fn expiry(command: &RestartCommand, now_unix_ms: i64) -> Result<(), String> {
    let slack = i64::try_from(EXPIRY_SLACK.as_millis()).unwrap_or(i64::MAX);
    let ahead = i64::try_from(MAX_AHEAD.as_millis()).unwrap_or(i64::MAX);
    let expires = command.expires_at_unix_ms;
    if now_unix_ms > expires.saturating_add(slack) {
        return Err(format!(
            "the command expired {:.1}s ago by this node's clock (valid for {}s after the \
             collector sent it): a delayed command is ignored; ask again",
            (now_unix_ms - expires) as f64 / 1000.0,
            command.ttl_ms / 1000
        ));
    }
    if expires.saturating_sub(now_unix_ms) > ahead {
        return Err(format!(
            "the command claims to be valid for {}s more, over the {}s any collector gives: ignored",
            expires.saturating_sub(now_unix_ms) / 1000,
            MAX_AHEAD.as_secs()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
