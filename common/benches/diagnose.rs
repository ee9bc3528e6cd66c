//! How the diagnosis scales with cluster size: every rule over N nodes.
//!
//! Baseline: the 3-node cluster of the demo, measured in the same run; figures
//! are medians of repeated runs, reported as ratios to it because this machine
//! is noisy. Run: `cargo bench -p omswatch-common --bench diagnose`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use omswatch_common::diagnose::diagnose;

#[path = "support/synthetic.rs"]
mod synthetic;
use synthetic::snapshot;

/// Median time of one diagnosis over enough repetitions to take ~0.5 s.
fn median(n: usize) -> (Duration, usize) {
    let s = snapshot(n);
    let findings = diagnose(&s).findings.len();
    let reps = (3000 / n).clamp(5, 1000);
    let mut times: Vec<Duration> = (0..reps)
        .map(|_| {
            let start = Instant::now();
            black_box(diagnose(black_box(&s)));
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[times.len() / 2], findings)
}

fn main() {
    let (baseline, _) = median(3);
    println!("diagnose(): median per call; baseline = 3 nodes ({baseline:?})");
    println!(
        "{:>6}  {:>12}  {:>9}  {:>12}  {:>8}",
        "nodes", "median", "x base", "per node", "findings"
    );
    for n in [3, 30, 300, 1000, 3000] {
        let (t, findings) = median(n);
        let ratio = t.as_secs_f64() / baseline.as_secs_f64();
        let per_node = t / u32::try_from(n).unwrap_or(u32::MAX);
        println!("{n:>6}  {t:>12.2?}  {ratio:>9.1}  {per_node:>12.2?}  {findings:>8}");
    }
}
