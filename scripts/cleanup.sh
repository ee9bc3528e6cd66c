#!/usr/bin/env bash
# Removes what an interrupted test or demo run may leave behind: only omswatch's own
# test namespaces (omsw<N>n<I>), bridges (owb<N>) and their /etc/netns entries.
# The harness removes them itself on a normal exit; this is the belt to its braces.
set -u
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^omsw[0-9]+n[0-9]+$'); do
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  rm -rf "/etc/netns/$ns"
done
for br in $(ip -o link show type bridge 2>/dev/null | awk -F': ' '{print $2}' | grep -E '^owb[0-9]+$'); do
  ip link del "$br" 2>/dev/null
done
exit 0
