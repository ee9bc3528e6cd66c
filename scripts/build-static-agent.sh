#!/usr/bin/env bash
# Builds the omswatch-agent that ships: one static x86_64 binary (musl libc, mimalloc as its
# allocator, no interpreter, no shared library), so it runs in any OMS container (CentOS 7,
# glibc 2.17) and even in an empty chroot. The one way to build it: scripts/dist.sh and
# scripts/test.sh both call this.
#
# Installs what the build needs when missing (as root): musl-tools (ring and mimalloc compile C
# with x86_64-linux-musl-gcc) and the rustup target x86_64-unknown-linux-musl.
# Prints the binary's path on stdout, the build's progress on stderr.
#
# Environment: OMSWATCH_AGENT_PROFILE (default `agent`, see Cargo.toml) picks the cargo profile.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly TARGET=x86_64-unknown-linux-musl
readonly PROFILE=${OMSWATCH_AGENT_PROFILE:-agent}

die() { echo "omswatch: $*" >&2; exit 1; }

command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs) first"
if ! command -v x86_64-linux-musl-gcc >/dev/null; then
  [ "$(id -u)" -eq 0 ] || die "x86_64-linux-musl-gcc is missing: run as root to install musl-tools, or apt-get install musl-tools"
  echo "omswatch: installing musl-tools (x86_64-linux-musl-gcc, for ring and mimalloc)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends musl-tools >&2
fi
if ! rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
  echo "omswatch: adding the rustup target $TARGET" >&2
  rustup target add "$TARGET" >&2 || die "cannot add the rustup target $TARGET"
fi

# mimalloc commits its arenas eagerly on Linux by default: 12 MiB resident where the agent needs
# about one. Committed on demand, as the agent's memory goal (BENCHMARKS.md) needs. (A define,
# because setting the option at run time would take unsafe code.)
export CFLAGS_x86_64_unknown_linux_musl="${CFLAGS_x86_64_unknown_linux_musl:-} -DMI_DEFAULT_ARENA_EAGER_COMMIT=0"

echo "== static agent: cargo build --profile $PROFILE --target $TARGET -p omswatch-agent --features mimalloc" >&2
cargo build --locked -p omswatch-agent --features mimalloc \
  --profile "$PROFILE" --target "$TARGET" >&2
binary="target/$TARGET/$PROFILE/omswatch-agent"
[ -x "$binary" ] || die "the build left no $binary"
echo "$PWD/$binary"
