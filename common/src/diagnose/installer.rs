//! The deploy-time rules the OMS installer enforces on the regions' config.yaml
//! files: the region keys are present, cm_location and drc_cm_heartbeat_db are
//! unique per region, and exactly one region is the default.

use std::collections::BTreeMap;

use super::context::Context;
use crate::findings::{Code, Finding};
use crate::oms_config::RegionConfig;

pub(super) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let configs: Vec<&RegionConfig> = ctx.regions.iter().map(|r| r.config).collect();
    keys_missing(&configs, out);
    locations(&configs, out);
    heartbeat_dbs(&configs, out);
    defaults(&configs, out);
}

fn keys_missing(configs: &[&RegionConfig], out: &mut Vec<Finding>) {
    let several = configs.len() >= 2;
    for c in configs {
        if c.cm_location.as_deref().is_none_or(|s| s.trim().is_empty()) {
            out.push(missing(
                c,
                "cm_location",
                "the region's code: a number in 0..127 no other region uses, e.g. `cm_location: 0`",
            ));
        }
        if c.cm_is_default.is_none() {
            out.push(missing(
                c,
                "cm_is_default",
                "`true` in exactly one region's file, `false` in the others",
            ));
        }
        if several && c.cm_region.trim().is_empty() {
            out.push(missing(
                c,
                "cm_region",
                "the region's name, different in each region's file, e.g. `cm_region: cn-hangzhou`",
            ));
        }
    }
}

fn missing(config: &RegionConfig, key: &str, hint: &str) -> Finding {
    Finding::new(
        Code::ConfigKeyMissing,
        format!("{} has no `{key}` (or it is empty)", config.file),
    )
    .with("file", &config.file)
    .with("key", key)
    .with("hint", hint)
}

/// Each cm_location must be an integer in 0..=127 and no two regions may share one.
fn locations(configs: &[&RegionConfig], out: &mut Vec<Finding>) {
    let mut by_value: BTreeMap<u8, Vec<&str>> = BTreeMap::new();
    for c in configs {
        let Some(raw) = c.cm_location.as_deref().map(str::trim) else {
            continue;
        };
        if raw.is_empty() {
            continue; // CONFIG_KEY_MISSING
        }
        match raw.parse::<u8>() {
            Ok(value) if value <= 127 => by_value.entry(value).or_default().push(&c.file),
            _ => {
                let line = c
                    .line_of("cm_location")
                    .map_or_else(|| "unknown".to_string(), |l| l.to_string());
                out.push(
                    Finding::new(
                        Code::CmLocationInvalid,
                        format!(
                            "{}:{line}: cm_location is {raw:?}, not a number in 0..127",
                            c.file
                        ),
                    )
                    .with("files", &c.file)
                    .with("cm_location", raw)
                    .with("line", line),
                );
            }
        }
    }
    for (value, files) in by_value.into_iter().filter(|(_, f)| f.len() > 1) {
        let files = files.join(", ");
        out.push(
            Finding::new(
                Code::CmLocationInvalid,
                format!("cm_location {value} is used by several regions: {files}"),
            )
            .with("files", files)
            .with("cm_location", value),
        );
    }
}

/// Each region needs its own drc_cm_heartbeat_db (compared case-insensitively,
/// as MetaDBs with lower_case_table_names do).
fn heartbeat_dbs(configs: &[&RegionConfig], out: &mut Vec<Finding>) {
    let mut by_db: BTreeMap<String, (&str, Vec<&str>)> = BTreeMap::new();
    for c in configs {
        let db = c.drc_cm_heartbeat_db.as_str();
        let entry = by_db
            .entry(db.to_ascii_lowercase())
            .or_insert_with(|| (db, Vec::new()));
        entry.1.push(&c.file);
    }
    for (db, files) in by_db.into_values().filter(|(_, f)| f.len() > 1) {
        let files = files.join(", ");
        out.push(
            Finding::new(
                Code::HeartbeatDbShared,
                format!("drc_cm_heartbeat_db {db} is named by several regions: {files}"),
            )
            .with("files", files)
            .with("db", db),
        );
    }
}

/// Exactly one region has `cm_is_default: true`. When none has and some file
/// lacks the key, CONFIG_KEY_MISSING already says where to add it.
fn defaults(configs: &[&RegionConfig], out: &mut Vec<Finding>) {
    if configs.is_empty() {
        return;
    }
    let trues: Vec<&str> = configs
        .iter()
        .filter(|c| c.cm_is_default == Some(true))
        .map(|c| c.file.as_str())
        .collect();
    if trues.len() == 1 || (trues.is_empty() && configs.iter().any(|c| c.cm_is_default.is_none())) {
        return;
    }
    let defaults = if trues.is_empty() {
        "none".to_string()
    } else {
        trues.join(", ")
    };
    out.push(
        Finding::new(
            Code::DefaultRegionCount,
            format!(
                "{} of {} regions have cm_is_default: true (in: {defaults}); exactly one must",
                trues.len(),
                configs.len()
            ),
        )
        .with("defaults", defaults)
        .with("count", trues.len()),
    );
}
