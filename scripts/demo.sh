#!/usr/bin/env bash
# The omswatch demo: a 3-node OMS-like cluster on this machine (network namespaces,
# a real MariaDB as MetaDB, a real supervisord per node), deployed with two classic
# mistakes: node 2 started with node 1's OMS_HOST_IP, and oms_console stopped on
# node 3. Prints `omswatch status`, cleans up, and exits with its exit code (2).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prereqs.sh
trap 'scripts/cleanup.sh' EXIT
cargo build --workspace --bins --quiet
set +e
cargo run --quiet -p omswatch-tests --bin omswatch-demo
code=$?
set -e
exit $code
