#!/usr/bin/env bash
# Regenerates the catalogue table of docs/FINDINGS.md (between the catalogue markers)
# from the one catalogue in common/src/findings/catalogue.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
table=$(mktemp)
trap 'rm -f "$table"' EXIT
cargo run --quiet -p omswatch-cli --bin omswatch -- explain --all --markdown > "$table"
awk -v table="$table" '
  /<!-- catalogue:begin -->/ { print; while ((getline line < table) > 0) print line; skip = 1; next }
  /<!-- catalogue:end -->/   { skip = 0 }
  !skip
' docs/FINDINGS.md > docs/FINDINGS.md.new
mv docs/FINDINGS.md.new docs/FINDINGS.md
