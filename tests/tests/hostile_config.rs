//! Issue 7, bounded work on a hostile config.yaml, with the real collector and the real CLI: a
//! 50 MB file of 1.5 M keys (which once hung the collector at 940 MiB) is CONFIG_INVALID within
//! a tick, naming its size and the cap, while `omswatch status` keeps answering and the
//! collector stays small; files under the cap that would make the YAML parser quadratic or
//! explode are refused too; an unchanged file is not parsed again.
//!
//! Speed figures are printed (and recorded in BENCHMARKS.md); the assertions only check that
//! answers come, with generous bounds.
#![allow(missing_docs)]

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use omswatch_tests::standalone::Standalone;

type Result = anyhow::Result<()>;

/// The collector's memory must stay under this whatever config.yaml holds.
const MAX_RSS_KIB: u64 = 64 * 1024;
/// omswatch_common::oms_config::MAX_CONFIG_BYTES.
const CAP: u64 = 128 * 1024;

/// Writes `text` beside `path` and renames it over, as an operator's editor would.
fn replace(path: &Path, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result {
    let aside = path.with_extension("new");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&aside)?);
    write(&mut file)?;
    file.flush()?;
    drop(file);
    std::fs::rename(&aside, path)?;
    Ok(())
}

/// The CONFIG_INVALID findings' problems in a status document.
fn config_problems(doc: &serde_json::Value) -> Vec<String> {
    doc["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["code"] == "CONFIG_INVALID")
        .filter_map(|f| f["evidence"]["problem"].as_str().map(String::from))
        .collect()
}

/// Asks for the status until a CONFIG_INVALID problem contains `needle`; every answer must
/// come. Returns (time until found, slowest answer).
async fn until_problem(
    collector: &Standalone,
    needle: &str,
) -> anyhow::Result<(Duration, Duration)> {
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    loop {
        let (doc, code, took) = collector.status().await?;
        slowest = slowest.max(took);
        if code == 3 || doc.is_null() {
            bail!(
                "status did not answer (exit {code}) after {took:?}:\n{}",
                collector.log()
            );
        }
        if config_problems(&doc).iter().any(|p| p.contains(needle)) {
            return Ok((started.elapsed(), slowest));
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!(
                "no CONFIG_INVALID with {needle:?}; problems: {:?}\n{}",
                config_problems(&doc),
                collector.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn check_memory(collector: &Standalone, after: &str) -> Result {
    let (hwm, rss) = collector.memory_kib()?;
    eprintln!("after {after}: collector VmHWM {hwm} KiB, VmRSS {rss} KiB");
    if hwm >= MAX_RSS_KIB {
        bail!("collector peak RSS {hwm} KiB >= {MAX_RSS_KIB} KiB after {after}");
    }
    Ok(())
}

#[tokio::test]
async fn a_hostile_config_is_invalid_within_a_tick_while_status_answers() -> Result {
    let collector = Standalone::start(&[]).await?;
    until_problem(&collector, "cannot read the file").await?;
    let mut baseline = Vec::new();
    for _ in 0..5 {
        baseline.push(collector.status().await?.2);
    }
    eprintln!("status latency, no config.yaml yet (baseline): {baseline:?}");

    // 1.5 M keys, ~52 MB: refused by its size, never read.
    replace(&collector.config, |f| {
        for i in 0..1_500_000 {
            writeln!(f, "config_key_{i:07}: value_{i:07}")?;
        }
        Ok(())
    })?;
    let size = std::fs::metadata(&collector.config)?.len();
    assert!(size > 50_000_000, "{size}");
    let needle = format!("{size} bytes, over the {CAP}-byte cap");
    let (found, slowest) = until_problem(&collector, &needle).await?;
    eprintln!(
        "1.5M keys ({size} bytes): CONFIG_INVALID after {found:?}; slowest status {slowest:?}"
    );
    assert!(
        found < Duration::from_secs(10),
        "took {found:?} (tick is 1s)"
    );
    let mut latencies = Vec::new();
    for _ in 0..5 {
        let (doc, code, took) = collector.status().await?;
        assert!(
            code != 3 && !doc.is_null(),
            "status failed:\n{}",
            collector.log()
        );
        latencies.push(took);
    }
    eprintln!("status latency with the 1.5M-key file: {latencies:?}");
    check_memory(&collector, "the 1.5M-key file")?;

    // Under the cap, an alias fan-out: 6·10^8 values from 125 KB.
    replace(&collector.config, |f| {
        writeln!(f, "a: &a [{}]", vec!["1"; 25_000].join(","))?;
        writeln!(f, "b: [{}]", vec!["*a"; 25_000].join(","))
    })?;
    let (found, slowest) = until_problem(&collector, "aliases").await?;
    eprintln!("alias fan-out: CONFIG_INVALID after {found:?}; slowest status {slowest:?}");
    check_memory(&collector, "the alias fan-out")?;

    // Under the cap, 60,000 nested `[`: ten seconds of the YAML scanner if parsed.
    replace(&collector.config, |f| {
        writeln!(f, "a: {}{}", "[".repeat(60_000), "]".repeat(60_000))
    })?;
    let (found, _) = until_problem(&collector, "`[`/`{`").await?;
    eprintln!("60k nested brackets: CONFIG_INVALID after {found:?}");
    check_memory(&collector, "the nested brackets")?;

    // Under the cap and accepted: the most values plain YAML packs in (a flat list of 60,000).
    replace(&collector.config, |f| {
        writeln!(f, "a: [{}]", vec!["1"; 60_000].join(","))
    })?;
    let (found, _) = until_problem(&collector, "oms_meta_host").await?;
    eprintln!("60k-item list: parsed, CONFIG_INVALID (keys missing) after {found:?}");
    check_memory(&collector, "the 60k-item list")?;
    Ok(())
}

#[tokio::test]
async fn an_unchanged_config_is_not_parsed_again() -> Result {
    let collector = Standalone::start(&[]).await?;
    // Just under the cap, comments only: once parsed every tick.
    replace(&collector.config, |f| {
        let line = "# a comment line that goes on for a while, as comments do\n";
        for _ in 0..(CAP as usize - 4096) / line.len() {
            f.write_all(line.as_bytes())?;
        }
        Ok(())
    })?;
    until_problem(&collector, "the file is empty").await?;
    let file = collector.config.display().to_string();
    let parses = || {
        let log =
            std::fs::read_to_string(collector.dir.path().join("collector.log")).unwrap_or_default();
        log.lines()
            .filter(|l| l.contains("config.yaml parsed") && l.contains(&file))
            .count()
    };
    let before = parses();
    let pid = collector.pid()?;
    let cpu_before = omswatch_tests::standalone::cpu_time(pid)?;
    tokio::time::sleep(Duration::from_secs(4)).await; // four ticks
    let cpu = omswatch_tests::standalone::cpu_time(pid)? - cpu_before;
    eprintln!("4 ticks with an unchanged {CAP}-byte comment-only file: {cpu:?} CPU");
    assert_eq!(
        parses(),
        before,
        "parsed again though unchanged:\n{}",
        collector.log()
    );
    std::fs::OpenOptions::new()
        .append(true)
        .open(&collector.config)
        .context("append")?
        .write_all(b"cm_region: changed\n")?;
    until_problem(&collector, "oms_meta_host").await?;
    assert_eq!(parses(), before + 1, "{}", collector.log());
    Ok(())
}
