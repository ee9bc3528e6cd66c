//! Text from peers made safe for a terminal. Node names, descriptions, spawn
//! errors and config values travel from agents into the table; a control
//! character (ESC sequences, carriage returns, newlines) or an invisible
//! bidirectional override could rewrite what an operator sees. They are shown
//! as `\u{…}` escapes instead. JSON needs none of this: serde escapes it.

use std::borrow::Cow;

use omswatch_common::proto::v1 as pb;

/// Characters a terminal would act on or hide: controls, bidi overrides and
/// isolates, zero-width characters and the BOM.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// `text` with every unsafe character escaped.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if unsafe_char(c) {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

fn clean(text: &mut String) {
    if let Cow::Owned(safe) = printable(text) {
        *text = safe;
    }
}

/// A copy of `status` whose every peer-supplied string is printable.
pub fn sanitized(status: &pb::ClusterStatus) -> pb::ClusterStatus {
    let mut status = status.clone();
    for node in &mut status.nodes {
        for text in [
            &mut node.name,
            &mut node.state,
            &mut node.region,
            &mut node.hostname,
        ] {
            clean(text);
        }
        node.oms_host_ip
            .iter_mut()
            .chain(node.host_status.iter_mut())
            .chain(node.hostname_ips.iter_mut())
            .for_each(clean);
        for component in &mut node.components {
            clean(&mut component.name);
            clean(&mut component.state);
        }
    }
    for finding in &mut status.findings {
        for text in [
            &mut finding.code,
            &mut finding.severity,
            &mut finding.message,
            &mut finding.remedy,
            &mut finding.id,
            &mut finding.caused_by,
        ] {
            clean(text);
        }
        finding.nodes.iter_mut().for_each(clean);
        finding.explains.iter_mut().for_each(clean);
        finding.evidence.values_mut().for_each(clean);
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls_and_bidi_but_keeps_ordinary_text() {
        assert_eq!(
            printable("oms_console is STOPPED (Nov 25 02:02 AM)"),
            "oms_console is STOPPED (Nov 25 02:02 AM)"
        );
        assert_eq!(
            printable("a\u{1b}]0;pwned\u{7}b"),
            "a\\u{1b}]0;pwned\\u{7}b"
        );
        assert_eq!(printable("x\ny\rz"), "x\\u{a}y\\u{d}z");
        assert_eq!(printable("evil\u{202E}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(printable("中文 ok"), "中文 ok");
    }

    #[test]
    fn sanitized_covers_messages_and_names() {
        let status = pb::ClusterStatus {
            nodes: vec![pb::NodeStatus {
                name: "n\u{1b}[2J".into(),
                ..Default::default()
            }],
            findings: vec![pb::Finding {
                message: "desc \u{1b}[31mred".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let clean = sanitized(&status);
        assert!(!format!("{clean:?}").contains('\u{1b}'));
    }
}
