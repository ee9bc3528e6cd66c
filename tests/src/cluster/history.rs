//! The cluster's store and timeline: the collector's `--store` flags (an SQLite file, or a
//! database on the cluster's MariaDB with its password in a file) and `omswatch history`.

use std::time::Duration;

use anyhow::{Context, bail};
use tempfile::TempDir;

use super::{Cluster, STORE_PASSWORD, STORE_USER_DB, StoreKind};
use crate::MariaDb;

impl Cluster {
    /// Runs `omswatch history --format json` with `args`; returns the events.
    pub async fn history(&self, args: &[&str]) -> anyhow::Result<Vec<serde_json::Value>> {
        let mut all = vec!["history", "--format", "json"];
        all.extend_from_slice(args);
        let (stdout, code) = self.omswatch(&all).await?;
        if code != 0 {
            bail!(
                "omswatch history exited {code}: {stdout}\nlogs:\n{}",
                self.logs()
            );
        }
        let doc: serde_json::Value = serde_json::from_str(&stdout)
            .with_context(|| format!("history is not JSON: {stdout}"))?;
        Ok(doc["events"].as_array().cloned().unwrap_or_default())
    }

    /// Polls the history until `done` holds; the error shows the last events and logs.
    pub async fn wait_history(
        &self,
        what: &str,
        done: impl Fn(&[serde_json::Value]) -> bool,
    ) -> anyhow::Result<Vec<serde_json::Value>> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let mut last = Vec::new();
        while tokio::time::Instant::now() < deadline {
            if let Ok(events) = self.history(&[]).await {
                if done(&events) {
                    return Ok(events);
                }
                last = events;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        // One line per event first: CI shows only part of a long failure, and these lines say
        // what happened in order; the full events and the logs follow.
        bail!(
            "timed out waiting for {what}; last history in brief:\n{}\nin full:\n{}\nlogs:\n{}",
            brief(&last),
            serde_json::to_string_pretty(&last)?,
            self.logs()
        )
    }
}

/// One line per event: time, kind, code, nodes, from -> to, message.
pub fn brief(events: &[serde_json::Value]) -> String {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_string();
    events
        .iter()
        .map(|e| {
            format!(
                "  {} {} {} {} {}->{} {}",
                text(&e["at"]),
                text(&e["kind"]),
                text(&e["code"]),
                e["nodes"],
                text(&e["from"]),
                text(&e["to"]),
                text(&e["message"]),
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The collector's `--store` flags: an SQLite file in the cluster's directory, or a database
/// and user made on the cluster's MariaDB with the password in a file (never on the command line).
pub(super) async fn store_args(
    db: &MariaDb,
    dir: &TempDir,
    kind: StoreKind,
) -> anyhow::Result<Vec<String>> {
    Ok(match kind {
        StoreKind::Sqlite => vec![
            "--store".into(),
            dir.path().join("omswatch.db").display().to_string(),
        ],
        StoreKind::MariaDb => {
            let (user, database) = STORE_USER_DB;
            db.create_store_db(database, user, STORE_PASSWORD).await?;
            let file = dir.path().join("store-password");
            std::fs::write(&file, format!("{STORE_PASSWORD}\n"))?;
            std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
            vec![
                "--store".into(),
                format!("mysql://{user}@127.0.0.1:{}/{database}", db.port()),
                "--store-password-file".into(),
                file.display().to_string(),
            ]
        }
    })
}
