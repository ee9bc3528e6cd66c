//! `omswatch-agent --once`: probe once, print the report, exit; for checking a node by hand (the
//! collector is not needed) and for the test that runs the shipped agent in an empty chroot.

use std::io::Write;

use omswatch_common::proto::v1::NodeReport;

/// Writes `report` to `out` as it would be sent, as indented JSON with the proto's field names
/// (an absent optional field is `null`), and a final newline.
pub fn print(report: &NodeReport, out: &mut impl Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)?;
    out.flush()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use omswatch_common::proto::v1::{Program, SupervisorStatus};

    use super::*;

    #[test]
    fn the_report_as_json_with_the_proto_names() {
        let report = NodeReport {
            node: "oms-node-1".into(),
            seq: 1,
            supervisor: Some(SupervisorStatus {
                reachable: true,
                programs: vec![Program {
                    name: "oms_console".into(),
                    state: "STOPPED".into(),
                    autostart: Some(false),
                    ..Program::default()
                }],
                ..SupervisorStatus::default()
            }),
            ..NodeReport::default()
        };
        let mut out = Vec::new();
        print(&report, &mut out).unwrap();
        assert!(out.ends_with(b"}\n"));
        let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(json["node"], "oms-node-1");
        let program = &json["supervisor"]["programs"][0];
        assert_eq!(
            (&program["name"], &program["state"], &program["autostart"]),
            (
                &"oms_console".into(),
                &"STOPPED".into(),
                &serde_json::Value::Bool(false)
            )
        );
        assert_eq!(json["identity"], serde_json::Value::Null);
    }
}
