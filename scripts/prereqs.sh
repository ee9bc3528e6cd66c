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
            python3:python3 faketime:faketime curl:curl promtool:prometheus prometheus:prometheus \
            mariadb:mariadb-client readelf:binutils chroot:coreutils mount:mount \
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
  # Debian starts its prometheus on :9090 where systemd runs; the tests start their own.
  if printf '%s\n' "${missing[@]}" | grep -qx prometheus && command -v systemctl >/dev/null; then
    systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi

# The Python gRPC client of tests/tests/health.rs (a client written elsewhere, from PyPI).
if ! python3 -c "import grpc, grpc_health.v1, grpc_reflection.v1alpha" 2>/dev/null; then
  echo "omswatch: installing grpcio, grpcio-health-checking, grpcio-reflection (pip)" >&2
  python3 -m pip --version >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-pip >/dev/null; }
  pkgs=(grpcio grpcio-health-checking grpcio-reflection)
  # Debian's own python3 refuses pip installs (PEP 668) unless told; a pyenv or venv python does not.
  python3 -m pip install -q "${pkgs[@]}" 2>/dev/null \
    || python3 -m pip install -q --break-system-packages "${pkgs[@]}" \
    || die "cannot install ${pkgs[*]} with pip"
fi

for component in rustfmt clippy; do
  cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1 || rustup component add "$component" \
    || die "cargo ${component} is missing and could not be installed"
done
# The static agent (scripts/build-static-agent.sh) is built for musl.
rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl \
  || rustup target add x86_64-unknown-linux-musl >&2 \
  || die "the rustup target x86_64-unknown-linux-musl is missing and could not be added"
