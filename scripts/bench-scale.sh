#!/usr/bin/env bash
# "10,000 agents on one collector": N simulated agents (each its own TCP connection and Report
# stream, plain-text loopback, a realistic ~2.4 KB report every 5 s) against a real
# omswatch-collector (release build, its SQLite store on) and, in the SAME run, against a bare
# tonic server of the same proto that only acks (the baseline), each its own process:
# sent/acked per second, ack p50/p99/max, CPU per report and RSS per node from /proc/PID, the
# status through the CLI's own client (and `omswatch status --format json` and the table, timed),
# then saturation (64 agents sending as fast as they are acked). Ratios are against the bare
# server of the same run: the machine is shared and noisy. Results: BENCHMARKS.md.
#
# Usage: scripts/bench-scale.sh [N ...]    (default: 100 1000 10000)
# Environment: OMSWATCH_SCALE_ARGS: more loadgen flags (e.g. "--duration 60s --saturate 128");
#              OMSWATCH_SCALE_ONLY=collector skips the baseline (not for BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 1000 10000)

# 10,000 streams are ~10,000 fds in the loadgen and as many in the server.
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt 21000 ] && [ "$(id -u)" = 0 ]; then
  ulimit -n 65536 2>/dev/null || true
fi
echo "fd limit: $(ulimit -n)" >&2

export CARGO_INCREMENTAL=0
cargo build --release --locked --quiet -p omswatch-collector -p omswatch-cli \
  -p omswatch-tests --bin omswatch-collector --bin omswatch --bin omswatch-loadgen \
  --features omswatch-collector/mimalloc
export OMSWATCH_BIN_DIR=$PWD/target/release

echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty')"
for n in "${sizes[@]}"; do
  ramp=$(( n / 500 + 5 ))
  echo
  echo "# N = $n"
  # shellcheck disable=SC2086
  target/release/omswatch-loadgen --agents "$n" --ramp "${ramp}s" \
    ${OMSWATCH_SCALE_ONLY:+--only $OMSWATCH_SCALE_ONLY} ${OMSWATCH_SCALE_ARGS:-}
done
