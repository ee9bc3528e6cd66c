//! `omswatch explain CODE`: what a finding code means, why it happens, how to
//! fix it (the catalogue), and what it can explain and be explained by (the
//! causal links of [`omswatch_common::findings::causes`]), so an operator
//! reading a folded symptom can see why it sits under its root.

use std::fmt::Write;

use omswatch_common::findings::Code;
use omswatch_common::findings::causes::{self, Link};

/// `omswatch explain [CODE] [--all]`: prints the code (any case), or every
/// code; returns the exit code (3 for an unknown or missing code).
pub fn print(code: Option<&str>, all: bool) -> u8 {
    let codes: Vec<Code> = match (code, all) {
        (_, true) => Code::ALL.to_vec(),
        (Some(name), false) => match Code::parse(name) {
            Some(code) => vec![code],
            None => {
                let known: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
                eprintln!(
                    "omswatch: unknown finding code {name:?}; known codes: {}",
                    known.join(", ")
                );
                return super::EXIT_UNUSABLE;
            }
        },
        (None, false) => {
            eprintln!(
                "omswatch: name a finding code, e.g. `omswatch explain NODE_SILENT`, or pass --all"
            );
            return super::EXIT_UNUSABLE;
        }
    };
    for code in codes {
        println!("{}", render(code));
    }
    0
}

/// The text of one code: catalogue entry, then its links both ways.
pub fn render(code: Code) -> String {
    let e = code.entry();
    let mut out = format!(
        "{} ({})\n  means: {}\n  cause: {}\n  fix:   {}\n",
        e.code, e.severity, e.meaning, e.cause, e.remedy
    );
    let explains: Vec<&Link> = causes::explains(code).collect();
    out.push_str("  can explain (these fold under it when both show):\n");
    if explains.is_empty() {
        out.push_str("    nothing: it is never the cause of another finding\n");
    }
    for link in explains {
        let symptoms: Vec<&str> = link.symptoms.iter().map(|c| c.as_str()).collect();
        let of = match link.programs {
            [] => String::new(),
            programs => format!(" (when the program is {})", programs.join(" or ")),
        };
        let _ = writeln!(
            out,
            "    {}{of}: {} [{}]",
            symptoms.join(", "),
            link.tie.describe(),
            link.certainty.as_str()
        );
    }
    let causes: Vec<&Link> = causes::explained_by(code).collect();
    out.push_str("  can be explained by (it folds under them when both show):\n");
    if causes.is_empty() {
        out.push_str("    nothing: when it shows, it is a root cause to fix\n");
    }
    for link in causes {
        let label = causes::cause_label(link).replace('`', "");
        let _ = writeln!(
            out,
            "    {label}: when this finding is {} [{}]",
            link.tie.describe(),
            link.certainty.as_str()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_lists_its_symptoms_and_a_symptom_its_causes() {
        let dup = render(Code::DuplicateOmsHostIp);
        assert!(
            dup.starts_with("DUPLICATE_OMS_HOST_IP (critical)\n"),
            "{dup}"
        );
        assert!(
            dup.contains("    OMS_HOST_IP_MISMATCH: on the same node [sure]"),
            "{dup}"
        );
        assert!(
            dup.contains("nothing: when it shows, it is a root cause"),
            "{dup}"
        );
        let stale = render(Code::HeartbeatStale);
        assert!(
            stale.contains("    COMPONENT_NOT_RUNNING of oms_drc_supervisor: when this finding is of the node's OMS_HOST_IP [probable]"),
            "{stale}"
        );
        assert!(
            stale.contains("    NODE_SILENT: when this finding is"),
            "{stale}"
        );
        assert!(
            stale.contains("    HOST_NOT_ONLINE: of the same IP [probable]"),
            "{stale}"
        );
        let component = render(Code::ComponentNotRunning);
        assert!(
            component.contains("(when the program is nginx or oms_console)"),
            "{component}"
        );
        let load = render(Code::LoadHigh);
        assert!(load.contains("nothing: it is never the cause"), "{load}");
    }
}
