#!/usr/bin/env bash
# The agent's cost with two collector streams (a pair, `--collector A,B`) against one, in ONE
# run so both see the same machine and load: two shipped agents (scripts/build-static-agent.sh)
# side by side, probing the same real supervisord (the demo's four programs), config.yaml, logs
# and disks; agent "one" reports to collector A, agent "pair" to A and B, over mutual TLS on
# loopback. CPU per snapshot (utime+stime from /proc/PID/stat over the window / the probes each
# logged) and steady RSS (VmRSS) of each, and their ratios (goal: pair within 10% of one).
# The set-up is scripts/bench-agent.sh's.
#
# Usage (as root): scripts/bench-agent-pair.sh [SECONDS]   (default 120; after a warm-up)
# Environment: OMSWATCH_BENCH_AGENT=PATH measures another agent binary;
#              OMSWATCH_BENCH_PROBE_EVERY (default 200ms) and OMSWATCH_BENCH_INTERVAL (default 1s).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prereqs.sh

window=${1:-120}
probe_every=${OMSWATCH_BENCH_PROBE_EVERY:-200ms}
interval=${OMSWATCH_BENCH_INTERVAL:-1s}
readonly warmup=5
source scripts/bench-node.sh
collector_port=$(free_port) peer_port=$(free_port)

for node in one pair; do "$omswatch" certs node --dir "$dir/pki" --name "bench-$node" >/dev/null; done
# Two collectors, each with its own SQLite store: the agent's side is what is measured here.
for port in "$collector_port" "$peer_port"; do
  "$collector" --listen "127.0.0.1:$port" --oms-config "$dir/config.yaml" --metadb-timeout 1s \
    --http-listen "127.0.0.1:0" --store "$dir/store-$port.db" \
    --tls-cert "$dir/pki/collector-bench.pem" --tls-key "$dir/pki/collector-bench-key.pem" \
    --client-ca "$dir/pki/ca.pem" >"$dir/collector-$port.log" 2>&1 &
  pids+=($!)
done
sleep 1

start_agent() { # NAME COLLECTORS
  OMS_HOST_IP=127.0.0.1 RUST_LOG=info,omswatch_agent::run=debug "$agent" \
    --collector "$2" --ca "$dir/pki/ca.pem" \
    --cert "$dir/pki/node-bench-$1.pem" --key "$dir/pki/node-bench-$1-key.pem" \
    --probe-every "$probe_every" --interval "$interval" --pid1-environ /dev/null \
    --supervisor-conf "$dir/supervisord.conf" --oms-config "$dir/config.yaml" \
    --docker-init-log-dir "$dir/logs" --disk-path "$dir" --disk-path /tmp \
    >"$dir/agent-$1.log" 2>&1 &
  pids+=($!)
}
start_agent one "https://127.0.0.1:$collector_port"
one_pid=$!
start_agent pair "https://127.0.0.1:$collector_port,https://127.0.0.1:$peer_port"
pair_pid=$!

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
probes() { grep -c ' probed ' "$dir/agent-$1.log" || true; }
connected() { grep -c "connected to the collector" "$dir/agent-$1.log" || true; }
rss_kib() { awk -v key="$2:" '$1 == key {print $2}' "/proc/$1/status"; }

for _ in $(seq 300); do
  [ "$(connected one)" -ge 1 ] && [ "$(connected pair)" -ge 2 ] && break
  sleep 0.1
done
[ "$(connected one)" -ge 1 ] && [ "$(connected pair)" -ge 2 ] \
  || { tail -5 "$dir"/agent-*.log >&2; echo "omswatch: the agents did not connect within 30s" >&2; exit 1; }
sleep "$warmup"
one_cpu0=$(ticks "$one_pid") pair_cpu0=$(ticks "$pair_pid") one_p0=$(probes one) pair_p0=$(probes pair)
echo "== measuring both agents for ${window}s (probe every $probe_every, report every $interval)" >&2
sleep "$window"
one_cpu1=$(ticks "$one_pid") pair_cpu1=$(ticks "$pair_pid") one_p1=$(probes one) pair_p1=$(probes pair)
one_rss=$(rss_kib "$one_pid" VmRSS) pair_rss=$(rss_kib "$pair_pid" VmRSS)
one_anon=$(rss_kib "$one_pid" RssAnon) pair_anon=$(rss_kib "$pair_pid" RssAnon)
grep -h "ERROR\|WARN" "$dir"/agent-*.log | head -5 >&2 || true

hz=$(getconf CLK_TCK)
python3 - <<EOF
hz = $hz
one_ms = ($one_cpu1 - $one_cpu0) / hz * 1000 / max(1, $one_p1 - $one_p0)
pair_ms = ($pair_cpu1 - $pair_cpu0) / hz * 1000 / max(1, $pair_p1 - $pair_p0)
print(f"agent            {'$agent'}")
print(f"one collector    {$one_p1 - $one_p0} snapshots, {one_ms:.3f} ms CPU per snapshot, RSS {$one_rss / 1024:.1f} MiB ({$one_anon / 1024:.1f} anon)")
print(f"two collectors   {$pair_p1 - $pair_p0} snapshots, {pair_ms:.3f} ms CPU per snapshot, RSS {$pair_rss / 1024:.1f} MiB ({$pair_anon / 1024:.1f} anon)")
print(f"ratios           CPU {pair_ms / one_ms:.2f}x, RSS {$pair_rss / $one_rss:.2f}x (goal: both <= 1.10x)")
EOF
echo "machine          $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME"), load $(cut -d' ' -f1-3 /proc/loadavg)"
