//! What one scrape of `GET /metrics` costs at the collector, against one
//! `omswatch status --format json` answer, at 3 and 1,000 nodes, in the same run.
//!
//! Both start from the same snapshot (the synthetic cluster of `common/benches`, every tenth
//! node with a problem) and run the same diagnosis, as the handlers do: the scrape then builds
//! every family in a fresh registry and encodes it (Prometheus text), the status converts to
//! the wire form and renders the documented JSON. Figures are medians; ratios are to the
//! status JSON of the same size, measured in the same run, because this machine is noisy.
//! Run: `cargo bench -p omswatch-collector --bench scrape`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use omswatch_collector::convert;
use omswatch_collector::ingest::Refusal;
use omswatch_collector::metrics::{self, CollectorStats, Format};
use omswatch_common::diagnose::diagnose;
use omswatch_common::views::status_json;

#[path = "../../common/benches/support/synthetic.rs"]
mod synthetic;

fn stats() -> CollectorStats {
    CollectorStats {
        reports_received: 123_456,
        reports_refused: Refusal::ALL.iter().map(|r| (*r, 1)).collect(),
        agents_connected: 1000,
        ..CollectorStats::default()
    }
}

/// Median of `reps` runs of `f`, and the size of what it returned.
fn median(reps: usize, mut f: impl FnMut() -> String) -> (Duration, usize) {
    let mut bytes = 0;
    let mut times: Vec<Duration> = (0..reps)
        .map(|_| {
            let start = Instant::now();
            let out = black_box(f());
            let elapsed = start.elapsed();
            bytes = out.len();
            elapsed
        })
        .collect();
    times.sort();
    (times[times.len() / 2], bytes)
}

fn main() {
    let stats = stats();
    println!("median per call; ratio = scrape / status JSON of the same cluster, same run");
    println!(
        "{:>6}  {:>14}  {:>14}  {:>6}  {:>16}  {:>10}  {:>10}",
        "nodes", "status JSON", "scrape", "ratio", "metrics only", "JSON bytes", "scrape B"
    );
    for n in [3, 1000] {
        let snapshot = synthetic::snapshot(n);
        let reps = if n < 100 { 2000 } else { 40 };
        let (json, json_bytes) = median(reps, || {
            let d = diagnose(&snapshot);
            status_json::document(&convert::cluster_status(
                &d,
                snapshot.now_unix_ms,
                &|_| None,
                Default::default(),
            ))
        });
        let (scrape, scrape_bytes) = median(reps, || {
            let d = diagnose(&snapshot);
            metrics::render(&snapshot, &d, &stats, Format::Prometheus)
        });
        let diagnosis = diagnose(&snapshot);
        let (only, _) = median(reps, || {
            metrics::render(&snapshot, &diagnosis, &stats, Format::Prometheus)
        });
        let ratio = scrape.as_secs_f64() / json.as_secs_f64();
        println!(
            "{n:>6}  {json:>14.2?}  {scrape:>14.2?}  {ratio:>6.2}  {only:>16.2?}  {json_bytes:>10}  {scrape_bytes:>10}"
        );
    }
}
