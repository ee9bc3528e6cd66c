//! CONFIG_INVALID: every problem found while parsing a config.yaml.

use crate::findings::{Code, Finding};
use crate::snapshot::Snapshot;

pub(super) fn check(snapshot: &Snapshot, out: &mut Vec<Finding>) {
    for region in &snapshot.regions {
        let Err(issues) = &region.config else {
            continue;
        };
        for issue in issues {
            let line = issue
                .line
                .map_or_else(|| "absent".to_string(), |l| l.to_string());
            let place = match (issue.key.is_empty(), issue.line) {
                (true, None) => issue.file.clone(),
                (true, Some(l)) => format!("{}:{l}", issue.file),
                (false, None) => format!("{} (key {})", issue.file, issue.key),
                (false, Some(l)) => format!("{}:{l} (key {})", issue.file, issue.key),
            };
            out.push(
                Finding::new(Code::ConfigInvalid, format!("{place}: {}", issue.problem))
                    .with("file", &issue.file)
                    .with("key", &issue.key)
                    .with("line", line)
                    .with("problem", &issue.problem),
            );
        }
    }
}
