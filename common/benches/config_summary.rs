//! The config.yaml summary (what the collector computes for each region's file and an agent for
//! its node's) against the number of top-level keys, and the rescan it replaced as the baseline,
//! measured in the same run.
//!
//! Until issue 7, `summarize` found each key's line by rescanning the whole text (`key_line`),
//! so the summary was quadratic: 40,000 keys (1.4 MB) took the collector 33 CPU-s. The baseline
//! below is that rescan alone (the rest of the old summary was linear). Files that large are now
//! refused by the 128 KiB cap before they are parsed; the bench calls the summary directly to
//! show its growth. Run: `cargo bench -p omswatch-common --bench config_summary`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use omswatch_common::oms_config::summary::summarize;

fn text(keys: usize) -> String {
    (0..keys)
        .map(|i| format!("config_key_{i:06}: value_{i:06}\n"))
        .collect()
}

/// The line lookup as it was: one scan of the text per key.
fn rescan_lines(text: &str) -> usize {
    let keys: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once(':').map(|(k, _)| k))
        .collect();
    keys.iter()
        .filter_map(|key| {
            text.lines()
                .position(|line| line.split_once(':').map(|(k, _)| k) == Some(*key))
        })
        .count()
}

fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn main() {
    println!("summarize(): median per call; old = the per-key rescan it replaced");
    println!(
        "{:>7}  {:>9}  {:>12}  {:>12}  {:>8}",
        "keys", "bytes", "summarize", "old rescan", "old/new"
    );
    for keys in [400, 4_000, 40_000] {
        let text = text(keys);
        let new = median(5, || {
            black_box(summarize("/c.yaml", black_box(&text)));
        });
        // The rescan is quadratic: one run is plenty at 40,000 keys.
        let runs = if keys >= 40_000 { 1 } else { 3 };
        let old = median(runs, || {
            black_box(rescan_lines(black_box(&text)));
        });
        let ratio = old.as_secs_f64() / new.as_secs_f64();
        println!(
            "{keys:>7}  {:>9}  {new:>12.2?}  {old:>12.2?}  {ratio:>8.0}",
            text.len()
        );
    }
}
