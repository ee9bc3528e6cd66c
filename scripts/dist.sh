#!/usr/bin/env bash
# Builds omswatch's release artifacts into dist/, on Debian 12 with Rust, as root:
#   dist/omswatch-VERSION-x86_64-linux/          omswatch-agent, omswatch, omswatch-collector (all
#                                                three static: musl, no interpreter, no shared
#                                                library), deploy/, INSTALL.txt, SHA256SUMS
#   dist/omswatch-VERSION-x86_64-linux.tar.gz    the same directory, packed
#   dist/omswatch-agent-VERSION-1.x86_64.rpm     the agent for RPM-based OMS containers (CentOS 7):
#                                                /usr/bin/omswatch-agent, the supervisord program
#                                                /etc/supervisor/conf.d/omswatch-agent.ini, and
#                                                /etc/omswatch/pki/ for its certificates
#   dist/SHA256SUMS                              of the tarball and the RPM
# Installs what it needs when missing: musl-tools and the rustup target (scripts/build-static-agent.sh),
# cargo-generate-rpm (`cargo install --locked`), and rpm (to list the package it built).
set -euo pipefail
cd "$(dirname "$0")/.."

readonly TARGET=x86_64-unknown-linux-musl
die() { echo "omswatch: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root: it installs musl-tools and rpm with apt-get when missing"
started=$SECONDS

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
[ -n "$version" ] || die "no version in Cargo.toml's [workspace.package]"
name=omswatch-$version-x86_64-linux
out=dist/$name

agent=$(scripts/build-static-agent.sh)
echo "== omswatch and omswatch-collector: cargo build --release --target $TARGET" >&2
cargo build --locked --release --target "$TARGET" --bin omswatch --bin omswatch-collector \
  --features omswatch-collector/mimalloc >&2

# Every binary must start without a libc from the system (CentOS 7 has glibc 2.17).
for binary in "$agent" "target/$TARGET/release/omswatch" "target/$TARGET/release/omswatch-collector"; do
  if readelf -lW "$binary" | grep -q "program interpreter" || readelf -dW "$binary" | grep -q "(NEEDED)"; then
    die "$binary is not static: $(readelf -dW "$binary" | grep NEEDED | tr -s ' ')"
  fi
done

rm -rf "$out" "dist/$name.tar.gz" dist/omswatch-agent-*.rpm dist/SHA256SUMS
mkdir -p "$out/deploy"
install -m 755 "$agent" "$out/omswatch-agent"
for binary in omswatch omswatch-collector; do
  install -m 755 "target/$TARGET/release/$binary" "$out/$binary"
  strip --strip-all "$out/$binary"
done
install -m 644 deploy/README.md deploy/collector.yaml deploy/omswatch-agent.ini \
  deploy/omswatch-collector.service "$out/deploy/"
sed "s/@VERSION@/$version/g" deploy/INSTALL.txt >"$out/INSTALL.txt"
(cd "$out" && sha256sum omswatch-agent omswatch omswatch-collector INSTALL.txt deploy/* >SHA256SUMS)
tar --sort=name --owner=0 --group=0 --numeric-owner -C dist -czf "dist/$name.tar.gz" "$name"

if ! cargo generate-rpm --version >/dev/null 2>&1; then
  echo "omswatch: installing cargo-generate-rpm (cargo install --locked)" >&2
  cargo install --locked cargo-generate-rpm >&2
fi
# gzip: the rpm of CentOS 7 (4.11) cannot read zstd payloads, cargo-generate-rpm's default.
# Run in agent/ (its `-p agent` fails on this workspace): asset paths are relative to it.
(cd agent && cargo generate-rpm --target-dir ../target --target "$TARGET" --profile agent \
  --payload-compress gzip -o ../dist/) >&2
rpm_file=$(ls dist/omswatch-agent-*.rpm)
(cd dist && sha256sum "$name.tar.gz" "$(basename "$rpm_file")" >SHA256SUMS)

if ! command -v rpm >/dev/null; then
  echo "omswatch: installing rpm (to list the package)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rpm >/dev/null
fi
echo "== $rpm_file" >&2
rpm -qp --queryformat '%{NAME} %{VERSION}-%{RELEASE} %{ARCH}, payload %{PAYLOADCOMPRESSOR}\n' "$rpm_file" >&2
rpm -qlvp "$rpm_file" >&2

echo "== built in $((SECONDS - started))s:" >&2
ls -l "dist/$name.tar.gz" "$rpm_file" "$out" >&2
cat dist/SHA256SUMS
