//! The shipped alert rules (deploy/prometheus/omswatch-rules.yml) under Prometheus's own
//! checker and unit-test runner: `promtool check rules` and `promtool test rules` with the
//! cases of omswatch-rules.test.yml (roots page, symptoms never do). A missing promtool is a
//! failure naming the package, never a skip.
#![allow(missing_docs)]

use std::path::PathBuf;

use anyhow::{Context, ensure};
use omswatch_tests::require_program;
use tokio::process::Command;

fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/prometheus")
}

async fn promtool(args: &[&str]) -> anyhow::Result<String> {
    let promtool = require_program("promtool", "prometheus")?;
    let out = Command::new(promtool)
        .args(args)
        .current_dir(rules_dir())
        .output()
        .await
        .context("running promtool")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(out.status.success(), "promtool {args:?} failed:\n{text}");
    Ok(text)
}

#[tokio::test]
async fn the_rules_are_valid() -> anyhow::Result<()> {
    let text = promtool(&["check", "rules", "omswatch-rules.yml"]).await?;
    assert!(text.contains("SUCCESS"), "{text}");
    Ok(())
}

#[tokio::test]
async fn the_rules_pass_their_unit_tests() -> anyhow::Result<()> {
    let text = promtool(&["test", "rules", "omswatch-rules.test.yml"]).await?;
    assert!(text.contains("SUCCESS"), "{text}");
    Ok(())
}

/// Every `omswatch_*` metric the rules use is one the collector exposes (a renamed family
/// would leave an alert that can never fire).
#[test]
fn the_rules_use_only_metrics_the_collector_exposes() -> anyhow::Result<()> {
    let rules = std::fs::read_to_string(rules_dir().join("omswatch-rules.yml"))?;
    let families = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../collector/src/metrics/families.rs"),
    )?;
    let mut used: Vec<&str> = rules
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("omswatch_"))
        .collect();
    used.sort_unstable();
    used.dedup();
    assert!(used.len() >= 4, "{used:?}");
    for metric in used {
        assert!(
            families.contains(&format!("\"{metric}\"")),
            "{metric} is used by the rules but not registered in collector/src/metrics/families.rs"
        );
    }
    Ok(())
}
