#!/usr/bin/env bash
# Measures what the agent costs a node, against what an operator already runs there, in ONE run:
#   - the shipped agent (static, scripts/build-static-agent.sh), long-running, reporting over
#     mutual TLS to a real collector on loopback, probing a real supervisord with the demo's four
#     programs (nginx serving /oms/health, oms_console, oms_drc_cm, oms_drc_supervisor), its
#     config.yaml, docker_init log, load, memory and disk: CPU per snapshot (utime+stime from
#     /proc/PID/stat over the window, divided by the probes it logged) and steady RSS (VmRSS);
#   - one `supervisorctl status` (the runbook's step 2): CPU of the process (getrusage of
#     children, mean of several runs);
#   - prometheus-node-exporter (Debian package), started on loopback and scraped a few times: RSS.
# Prints the figures and the ratios recorded in BENCHMARKS.md.
#
# Usage (as root): scripts/bench-agent.sh [SECONDS]   (default 120; the window after a warm-up)
# Environment: OMSWATCH_BENCH_AGENT=PATH measures another agent binary (e.g. a glibc build);
#              OMSWATCH_BENCH_PROBE_EVERY (default 200ms) and OMSWATCH_BENCH_INTERVAL (default 1s):
#              the default agent's 1s/5s ratio of probes to reports, five times faster;
#              OMSWATCH_BENCH_PERF=FILE records the window with `perf record` (where the CPU goes;
#              the figures then include perf's overhead).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prereqs.sh

window=${1:-120}
probe_every=${OMSWATCH_BENCH_PROBE_EVERY:-200ms}
interval=${OMSWATCH_BENCH_INTERVAL:-1s}
readonly warmup=5 ctl_runs=5 scrapes=5

if ! command -v prometheus-node-exporter >/dev/null; then
  echo "omswatch: installing prometheus-node-exporter (the RSS baseline)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-node-exporter >/dev/null
fi
source scripts/bench-node.sh
collector_port=$(free_port) exporter_port=$(free_port)

"$omswatch" certs node --dir "$dir/pki" --name bench-node >/dev/null
"$collector" --listen "127.0.0.1:$collector_port" --oms-config "$dir/config.yaml" --metadb-timeout 1s \
  --tls-cert "$dir/pki/collector-bench.pem" --tls-key "$dir/pki/collector-bench-key.pem" \
  --client-ca "$dir/pki/ca.pem" >"$dir/collector.log" 2>&1 &
pids+=($!)
sleep 1

# The per-probe debug line is the snapshot counter; nothing else of the agent logs at debug here.
OMS_HOST_IP=127.0.0.1 RUST_LOG=info,omswatch_agent::run=debug "$agent" \
  --collector "https://127.0.0.1:$collector_port" --ca "$dir/pki/ca.pem" \
  --cert "$dir/pki/node-bench-node.pem" --key "$dir/pki/node-bench-node-key.pem" \
  --probe-every "$probe_every" --interval "$interval" --pid1-environ /dev/null \
  --supervisor-conf "$dir/supervisord.conf" --oms-config "$dir/config.yaml" \
  --docker-init-log-dir "$dir/logs" --disk-path "$dir" --disk-path /tmp \
  >"$dir/agent.log" 2>&1 &
agent_pid=$!
pids+=("$agent_pid")

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
probes() { grep -c ' probed ' "$dir/agent.log" || true; }
rss_kib() { awk -v key="$2:" '$1 == key {print $2}' "/proc/$1/status"; }

for _ in $(seq 300); do
  grep -q "connected to the collector" "$dir/agent.log" && break
  sleep 0.1
done
grep -q "connected to the collector" "$dir/agent.log" \
  || { cat "$dir/agent.log" >&2; echo "omswatch: the agent did not connect within 30s" >&2; exit 1; }
sleep "$warmup"
cpu0=$(ticks "$agent_pid") probes0=$(probes)
echo "== measuring the agent for ${window}s (probe every $probe_every, report every $interval)" >&2
if [ -n "${OMSWATCH_BENCH_PERF:-}" ]; then
  perf record -q -F 4999 --call-graph dwarf -p "$agent_pid" -o "$OMSWATCH_BENCH_PERF" -- sleep "$window" >&2
else
  sleep "$window"
fi
cpu1=$(ticks "$agent_pid") probes1=$(probes)
agent_rss=$(rss_kib "$agent_pid" VmRSS) agent_hwm=$(rss_kib "$agent_pid" VmHWM)
agent_anon=$(rss_kib "$agent_pid" RssAnon) agent_file=$(rss_kib "$agent_pid" RssFile)
agent_threads=$(rss_kib "$agent_pid" Threads)
grep -q "ERROR\|WARN" "$dir/agent.log" && { grep "ERROR\|WARN" "$dir/agent.log" | head -5 >&2; }

ctl_ms=$(python3 - "$dir/supervisord.conf" "$ctl_runs" <<'EOF'
import resource, subprocess, sys
conf, runs = sys.argv[1], int(sys.argv[2])
before = resource.getrusage(resource.RUSAGE_CHILDREN)
for _ in range(runs):
    subprocess.run(["supervisorctl", "-c", conf, "status"], stdout=subprocess.DEVNULL, check=False)
after = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
print(f"{cpu / runs * 1000:.1f}")
EOF
)

prometheus-node-exporter --web.listen-address="127.0.0.1:$exporter_port" >"$dir/exporter.log" 2>&1 &
exporter_pid=$!
pids+=("$exporter_pid")
python3 - "$exporter_port" "$scrapes" <<'EOF'
import sys, time, urllib.request
port, scrapes = sys.argv[1], int(sys.argv[2])
for attempt in range(50):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        break
    except OSError:
        time.sleep(0.1)
for _ in range(scrapes):
    urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
    time.sleep(0.5)
EOF
exporter_rss=$(rss_kib "$exporter_pid" VmRSS)

hz=$(getconf CLK_TCK)
probe_seconds=$(python3 -c "import re,sys; v,u=re.fullmatch(r'([0-9.]+)(ms|s)', sys.argv[1]).groups(); print(float(v)/(1000 if u=='ms' else 1))" "$probe_every")
python3 - <<EOF
hz, cpu, snaps = $hz, $cpu1 - $cpu0, $probes1 - $probes0
counted = "logged"
if snaps <= 0:
    # Agents before the per-probe debug line: one probe per interval, as the run loop ticks.
    snaps, counted = round($window / $probe_seconds), "estimated from the probe interval"
ms = cpu / hz * 1000 / snaps
ctl = $ctl_ms
rss, hwm, exporter = $agent_rss / 1024, $agent_hwm / 1024, $exporter_rss / 1024
print(f"agent            {'$agent'}")
print(f"                 {snaps} snapshots ({counted}) in ${window}s, {cpu / hz:.2f} CPU-s: {ms:.3f} ms CPU per snapshot")
print(f"                 RSS {rss:.1f} MiB (peak {hwm:.1f} MiB): {$agent_anon / 1024:.1f} MiB anonymous "
      f"(heap, stacks), {$agent_file / 1024:.1f} MiB of the binary's pages; $agent_threads threads")
print(f"supervisorctl    {ctl:.1f} ms CPU per 'status' (mean of $ctl_runs)")
print(f"node_exporter    RSS {exporter:.1f} MiB after $scrapes scrapes")
print(f"ratios           CPU {ctl / ms:.0f}x less than one supervisorctl status (goal >= 150x)")
print(f"                 RSS {exporter / rss:.1f}x less than node_exporter (goal >= 3x)")
EOF
echo "machine          $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME"), load $(cut -d' ' -f1-3 /proc/loadavg)"
