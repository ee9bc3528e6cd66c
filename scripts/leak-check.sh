#!/usr/bin/env bash
# Usage: scripts/leak-check.sh --marker MARKER [--exe-dir DIR --since TICKS]
#
# Finds the processes a test run left alive, prints each with its command line, SIGKILLs them
# all, and exits 1 if there were any (0 if none). scripts/test.sh runs it when it ends, also when
# a test failed.
#
# A process belongs to the run when
# - its environment carries OMSWATCH_TEST_RUN=MARKER: scripts/test.sh exports a fresh marker
#   that every process of the run inherits (cargo, nextest, the tests, `ip netns exec`, `setpriv`,
#   supervisord and its programs, mariadbd). Other runs on the same machine carry other markers,
#   so they are neither counted nor killed;
# - or (with --exe-dir) its executable lies under DIR (e.g. the checkout's target/) and it started
#   after TICKS (clock ticks after boot: field 22 of /proc/PID/stat, e.g. scripts/test.sh's own):
#   one that scrubbed its environment. Beware: this also matches a binary of this checkout that
#   you started by hand while the tests ran.
# This script, its ancestors (scripts/test.sh carries the marker too) and its own children are
# spared. Zombies are dead already: they are not counted.
set -u

usage() { echo "usage: $0 --marker MARKER [--exe-dir DIR --since TICKS]" >&2; exit 2; }
marker='' exe_dir='' since=''
while [ $# -gt 0 ]; do
  case "$1" in
    --marker) marker=${2:-}; shift 2 || usage ;;
    --exe-dir) exe_dir=${2:-}; shift 2 || usage ;;
    --since) since=${2:-}; shift 2 || usage ;;
    *) usage ;;
  esac
done
[ -n "$marker" ] || usage
if [ -n "$exe_dir" ]; then
  [[ "$since" =~ ^[0-9]+$ ]] || usage
  exe_dir="$(cd "$exe_dir" 2>/dev/null && pwd -P)/" || { echo "$0: no directory $exe_dir" >&2; exit 2; }
fi

# read_stat PID: sets F to the fields of /proc/PID/stat after "(comm) ": F[0] is the state,
# F[1] the parent pid, F[19] the start time. Fails when the process is gone.
read_stat() {
  local line
  read -r line 2>/dev/null < "/proc/$1/stat" || return 1
  read -r -a F <<< "${line##*) }"
}

# The chain from this script up to pid 1: spared.
declare -A spared=()
p=$$
while [ "$p" -gt 1 ] && read_stat "$p"; do spared[$p]=1; p=${F[1]}; done

# descends_from_me PID: whether PID is this script's child, grandchild, ...
descends_from_me() {
  local p=$1
  while [ "$p" -gt 1 ]; do
    [ "$p" -eq $$ ] && return 0
    read_stat "$p" || return 1
    p=${F[1]}
  done
  return 1
}

# find_leaks: sets LEAKS to the live processes of the run.
find_leaks() {
  local candidates=() pid path exe
  # One grep reads every environment: -z splits at NUL, -x matches a whole KEY=value entry.
  for path in $(grep -lzxF "OMSWATCH_TEST_RUN=$marker" /proc/[0-9]*/environ 2>/dev/null); do
    pid=${path#/proc/}; candidates+=("${pid%/environ}")
  done
  if [ -n "$exe_dir" ]; then
    for path in /proc/[0-9]*; do
      pid=${path#/proc/}
      read_stat "$pid" && [ "${F[19]}" -ge "$since" ] || continue
      exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || continue
      [[ "$exe" == "$exe_dir"* ]] && candidates+=("$pid")
    done
  fi
  LEAKS=()
  declare -A seen=()
  for pid in "${candidates[@]}"; do
    [ -z "${spared[$pid]:-}" ] && [ -z "${seen[$pid]:-}" ] || continue
    seen[$pid]=1
    read_stat "$pid" && [ "${F[0]}" != Z ] || continue
    descends_from_me "$pid" && continue
    LEAKS+=("$pid")
  done
}

# describe PID: one line naming the process.
describe() {
  local pid=$1 cmdline exe
  cmdline=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null)
  read_stat "$pid" || return 0
  echo "  pid $pid (parent ${F[1]}, exe ${exe:-?}): ${cmdline% }"
}

reported=0
for round in 1 2 3; do # again: a leaked parent may have started more before it died
  find_leaks
  [ ${#LEAKS[@]} -gt 0 ] || break
  [ "$round" -eq 1 ] && echo "omswatch leak check: processes started by the test run outlived it:" >&2
  for pid in "${LEAKS[@]}"; do describe "$pid" >&2; done
  reported=$((reported + ${#LEAKS[@]}))
  kill -KILL "${LEAKS[@]}" 2>/dev/null
  for _ in $(seq 50); do # until they are dead (gone, or zombies): 5 s at most
    alive=0
    for pid in "${LEAKS[@]}"; do read_stat "$pid" && [ "${F[0]}" != Z ] && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.1
  done
done
if [ "$reported" -gt 0 ]; then
  echo "omswatch leak check: FAILED: killed $reported leaked process(es); the harness must track" \
       "and reap everything it starts (tests/src/tracked.rs)" >&2
  exit 1
fi
echo "omswatch leak check: no process of this run is left"
