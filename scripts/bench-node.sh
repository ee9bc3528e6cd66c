# Sourced by scripts/bench-agent.sh and scripts/bench-agent-pair.sh: the node both measure.
# Sets agent (the binary measured: OMSWATCH_BENCH_AGENT or the shipped static build), omswatch and
# collector (debug builds: only the agent is measured), dir (removed at exit, with every pid in
# pids killed), free_port, health_port; starts a real supervisord laid out like an OMS
# container's with the demo's four programs (nginx serving /oms/health), writes config.yaml and
# the docker_init log, and mints the CA and the collector's certificate in $dir/pki.
agent=${OMSWATCH_BENCH_AGENT:-$(scripts/build-static-agent.sh)}
echo "== collector and CLI (debug build: only the agent is measured)" >&2
cargo build --locked --quiet --bin omswatch-collector --bin omswatch
omswatch=target/debug/omswatch collector=target/debug/omswatch-collector

dir=$(mktemp -d /tmp/omswatch-bench-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
health_port=$(free_port)

# supervisord laid out like an OMS container's: conf.d/*.ini, a unix socket.
mkdir -p "$dir/conf.d" "$dir/logs" "$dir/pki"
cat >"$dir/supervisord.conf" <<EOF
[unix_http_server]
file=$dir/supervisor.sock
[supervisord]
nodaemon=true
logfile=$dir/supervisord.log
pidfile=$dir/supervisord.pid
childlogdir=$dir/logs
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl=unix://$dir/supervisor.sock
[include]
files = $dir/conf.d/*.ini
EOF
for program in nginx oms_console oms_drc_cm oms_drc_supervisor; do
  command="sleep 1000000"
  [ "$program" = nginx ] && command="python3 $PWD/tests/fixtures/oms_nginx.py $health_port"
  printf '[program:%s]\ncommand=%s\nautostart=true\nautorestart=true\nstartsecs=1\nstdout_logfile=%s\nredirect_stderr=true\n' \
    "$program" "$command" "$dir/logs/$program.log" >"$dir/conf.d/$program.ini"
done
cat >"$dir/config.yaml" <<EOF
oms_meta_host: 127.0.0.1
oms_meta_port: 1
oms_meta_user: oms_meta@oms_tenant
oms_meta_password: "bench-secret"
drc_rm_db: oms_rm
drc_cm_db: oms_cm
drc_cm_heartbeat_db: oms_cm_heartbeat_0
cm_url: http://127.0.0.1:8088
cm_location: 0
cm_region: ""
cm_region_cn: ""
cm_is_default: true
cm_nodes:
  - 127.0.0.1
nginx_server_port: $health_port
tsdb_enabled: false
EOF
touch "$dir/logs/docker_init.log" "$dir/logs/supervisord.log.1"

supervisord -c "$dir/supervisord.conf" >"$dir/supervisord.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  [ "$(supervisorctl -c "$dir/supervisord.conf" status 2>/dev/null | grep -c RUNNING)" -eq 4 ] && break
  sleep 0.2
done
[ "$(supervisorctl -c "$dir/supervisord.conf" status | grep -c RUNNING)" -eq 4 ] \
  || { supervisorctl -c "$dir/supervisord.conf" status; echo "omswatch: supervisord did not start its 4 programs" >&2; exit 1; }

"$omswatch" certs ca --dir "$dir/pki" --name bench >/dev/null
"$omswatch" certs collector --dir "$dir/pki" --name bench --ip 127.0.0.1 >/dev/null
