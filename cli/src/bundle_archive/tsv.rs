//! Tab-separated tables, one row per line, as `mysql --batch` prints them, so a
//! support engineer can load them anywhere. Values are escaped so a tab or a
//! newline inside a value (MetaDB rows are not validated by OMS) cannot shift a
//! column or add a row: `\\`, `\t`, `\n`, `\r`, `\0`; a SQL NULL is `\N`.

use omswatch_common::proto::v1 as pb;

/// Columns of `host.tsv`, the runbook's `SELECT ip, host_status FROM host`.
pub const HOST_COLUMNS: [&str; 2] = ["ip", "host_status"];
/// Columns of `heart_beat.tsv`, the runbook's heartbeat query plus the age by the MetaDB clock.
pub const HEARTBEAT_COLUMNS: [&str; 5] = [
    "host_ip",
    "task_type",
    "gmt_created",
    "gmt_modified",
    "age_s",
];

/// One value escaped for a TSV cell; `None` is SQL NULL.
pub fn cell(value: Option<&str>) -> String {
    let Some(value) = value else {
        return "\\N".to_string();
    };
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out
}

/// A table: the header row, then one line per row of already escaped cells.
pub fn table<const N: usize>(
    header: [&str; N],
    rows: impl IntoIterator<Item = [String; N]>,
) -> String {
    let mut out = header.join("\t");
    out.push('\n');
    for row in rows {
        out.push_str(&row.join("\t"));
        out.push('\n');
    }
    out
}

/// `host.tsv` of a region.
pub fn hosts(rows: &[pb::HostRowMsg]) -> String {
    table(
        HOST_COLUMNS,
        rows.iter()
            .map(|r| [cell(Some(&r.ip)), cell(r.host_status.as_deref())]),
    )
}

/// `heart_beat.tsv` of a region.
pub fn heartbeats(rows: &[pb::HeartbeatRowMsg]) -> String {
    table(
        HEARTBEAT_COLUMNS,
        rows.iter().map(|r| {
            [
                cell(Some(&r.host_ip)),
                cell(r.task_type.as_deref()),
                cell(r.gmt_created.as_deref()),
                cell(r.gmt_modified.as_deref()),
                cell(r.age_s.map(|a| a.to_string()).as_deref()),
            ]
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabs_and_newlines_cannot_shift_columns_or_add_rows() {
        let text = hosts(&[
            pb::HostRowMsg {
                ip: "10.0.0.1\tx".into(),
                host_status: Some("ON\nLINE\\".into()),
            },
            pb::HostRowMsg {
                ip: "10.0.0.2".into(),
                host_status: None,
            },
        ]);
        assert_eq!(
            text,
            "ip\thost_status\n10.0.0.1\\tx\tON\\nLINE\\\\\n10.0.0.2\t\\N\n"
        );
        assert!(text.lines().all(|l| l.split('\t').count() == 2));
    }

    #[test]
    fn heartbeat_rows_keep_every_column() {
        let text = heartbeats(&[pb::HeartbeatRowMsg {
            host_ip: "10.0.0.1".into(),
            task_type: Some("supervisor".into()),
            gmt_created: Some("2024-01-01 00:00:00".into()),
            gmt_modified: None,
            age_s: Some(3),
        }]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "host_ip\ttask_type\tgmt_created\tgmt_modified\tage_s"
        );
        assert_eq!(
            lines[1],
            "10.0.0.1\tsupervisor\t2024-01-01 00:00:00\t\\N\t3"
        );
    }
}
