#!/usr/bin/env bash
# Runs every omswatch check and test: installs what is missing, then formatting,
# clippy -D warnings, rustdoc -D warnings, one build, the static agent that ships
# (scripts/build-static-agent.sh), and the whole test suite (unit tests and the end-to-end tests
# against real mariadbd, supervisord and network namespaces).
# Cleans up after itself, also when a test fails, and fails if any process it started is still
# alive at its end (scripts/leak-check.sh names and kills it). Exit code: 0 only if all passed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prereqs.sh

# Every process of this run inherits this marker, whatever wrappers it went through; at the end,
# scripts/leak-check.sh finds the ones still alive by it (and binaries of target/ started since).
OMSWATCH_TEST_RUN="$$-$(date +%s%N)-$RANDOM"
export OMSWATCH_TEST_RUN
run_start=$(sed 's/.*) //' "/proc/$$/stat" | cut -d' ' -f20)
finish() {
  local code=$? target=${CARGO_TARGET_DIR:-target} since=()
  [ -d "$target" ] && since=(--exe-dir "$target" --since "$run_start")
  scripts/leak-check.sh --marker "$OMSWATCH_TEST_RUN" "${since[@]}" || code=1
  scripts/cleanup.sh || code=1
  exit $code
}
trap finish EXIT

# The scale test holds 10,000 gRPC streams in one process (tests/tests/scale.rs): raise the
# open-files limit as root may (the hard limit too), or to the hard limit at least.
ulimit -Hn 65536 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo doc -D warnings (broken links, HTML in docs)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
echo "== build"
cargo build --workspace --bins --locked
echo "== static agent (the one that ships; tests/tests/static_agent.rs runs it in an empty chroot)"
built=$SECONDS
OMSWATCH_STATIC_AGENT=$(scripts/build-static-agent.sh)
export OMSWATCH_STATIC_AGENT
echo "omswatch: static agent ready in $((SECONDS - built))s: $OMSWATCH_STATIC_AGENT"
echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  [ "${CI:-}" = "true" ] && echo "omswatch: cargo-nextest not found; using cargo test" >&2
  cargo test --workspace --locked --no-fail-fast
fi
