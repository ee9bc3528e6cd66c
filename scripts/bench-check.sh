#!/usr/bin/env bash
# How long `omswatch check` takes to answer (BENCHMARKS.md): a real MariaDB seeded as the MetaDB of
# two regions, `omswatch check` against the same queries in the `mariadb` client (the baseline,
# measured in the same run), then with the MetaDB down. Release build. Usage: scripts/bench-check.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prereqs.sh
cargo build --release --quiet -p omswatch-cli --bin omswatch -p omswatch-tests --bin omswatch-bench-check
target/release/omswatch-bench-check "${1:-20}"
