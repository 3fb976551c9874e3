#!/bin/sh
# The quickstart, end to end, run by `make demo` after the build.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
MF=$top/bin/moonfeast
work=${MF_DEMO_DIR:-$(mktemp -d)}
rm -rf "$work/driver_ranking"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step "moonfeast init driver_ranking"
cd "$work" && "$MF" init driver_ranking
cd "$work/driver_ranking"
step "moonfeast plan"
"$MF" plan
step "moonfeast apply"
"$MF" apply
step "moonfeast feature-views list"
"$MF" feature-views list
step "moonfeast feature-services list"
"$MF" feature-services list
step "moonfeast feature-views describe driver_hourly_stats"
"$MF" feature-views describe driver_hourly_stats
printf '\nThe demo repo is in %s/driver_ranking\n' "$work"
