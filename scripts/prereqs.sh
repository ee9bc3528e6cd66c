#!/usr/bin/env bash
# Installs what omswatch's demo and tests need on Debian 12, if missing.
# Sourced by scripts/test.sh and scripts/demo.sh. Needs root (apt-get, network namespaces).
set -euo pipefail

die() { echo "omswatch: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root: network namespaces and the throwaway mariadbd need it"
command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs) first"

missing=()
for pair in mariadbd:mariadb-server mariadb-install-db:mariadb-server supervisord:supervisor \
            supervisorctl:supervisor ip:iproute2 unshare:util-linux hostname:hostname \
            python3:python3 faketime:faketime readelf:binutils chroot:coreutils mount:mount \
            x86_64-linux-musl-gcc:musl-tools; do
  bin=${pair%%:*} pkg=${pair##*:}
  PATH="$PATH:/usr/sbin:/sbin" command -v "$bin" >/dev/null || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "omswatch: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The packages' own services are not wanted: the harness starts its own instances.
  apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
fi

for component in rustfmt clippy; do
  cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1 || rustup component add "$component" \
    || die "cargo ${component} is missing and could not be installed"
done
# The static agent (scripts/build-static-agent.sh) is built for musl.
rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl \
  || rustup target add x86_64-unknown-linux-musl >&2 \
  || die "the rustup target x86_64-unknown-linux-musl is missing and could not be added"
