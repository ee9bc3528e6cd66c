#!/usr/bin/env bash
# Removes what an interrupted test or demo run may leave behind: processes of test processes that
# were killed, omswatch's test namespaces (omsw<N>n<I>), bridges (owb<N>), their /etc/netns
# entries and the harness's temp dirs. Safe while other runs go on, in this checkout or another:
# it removes only what no live test holds (each namespace slot and temp dir is guarded by a lock,
# see tests/src/host_lock.rs). The harness removes its things itself on a normal exit; this is the
# belt to its braces. The work is done by the harness's own code (omswatch-test-sweep).
set -euo pipefail
cd "$(dirname "$0")/.."
sweep="${CARGO_TARGET_DIR:-target}/debug/omswatch-test-sweep"
if [ ! -x "$sweep" ]; then
  echo "omswatch: building $sweep" >&2
  cargo build --workspace --bins --locked --quiet
fi
exec "$sweep"
