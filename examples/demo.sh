#!/bin/sh
# The quickstart, end to end, run by `make demo` after the build. It runs
# in a temporary folder that is removed at the end (whatever happens);
# with MF_DEMO_DIR=FOLDER the repo is made there and kept. Commands are
# shown in bold only when the output is a terminal.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
MF=$top/bin/moonfeast
if [ -n "${MF_DEMO_DIR:-}" ]; then
    work=$MF_DEMO_DIR
    tmp=
else
    work=$(mktemp -d)
    tmp=$work
fi
pid=
cleanup() {
    if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; fi
    if [ -n "$tmp" ]; then rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
rm -rf "$work/driver_ranking"
if [ -t 1 ]; then
    step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
else
    step() { printf '\n$ %s\n' "$*"; }
fi

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
step "moonfeast materialize 2025-01-01T00:00:00Z 2025-01-06T00:00:00Z"
"$MF" materialize 2025-01-01T00:00:00Z 2025-01-06T00:00:00Z
step "moonfeast get-online-features -e driver_id=1001 -e driver_id=1002 --feature-service driver_activity_v2"
"$MF" get-online-features -e driver_id=1001 -e driver_id=1002 --feature-service driver_activity_v2
echo "(The sample data ends on 2025-01-05 and the view's ttl is one day, so the"
echo " values are served with status OUTSIDE_MAX_AGE: old, but still returned.)"
step "moonfeast get-historical-features --entities entities.csv -f driver_hourly_stats:conv_rate -f driver_hourly_stats:avg_daily_trips"
printf 'driver_id,event_timestamp\n1001,2025-01-02T10:07:00Z\n1002,2025-01-03T00:00:00Z\n1003,2024-12-31T00:00:00Z\n' > entities.csv
"$MF" get-historical-features --entities entities.csv -f driver_hourly_stats:conv_rate -f driver_hourly_stats:avg_daily_trips
step "moonfeast get-online-features -e driver_id=1001,val_to_add=10,val_to_add_2=20 --feature-service driver_activity_v1"
"$MF" get-online-features -e driver_id=1001,val_to_add=10,val_to_add_2=20 --feature-service driver_activity_v1
echo "(driver_activity_v1 holds the on-demand view transformed_conv_rate: its Lua"
echo " transform ran on conv_rate and the request fields given beside the key.)"
step "moonfeast get-historical-features --entities entities_req.csv --feature-service driver_activity_v1"
printf 'driver_id,event_timestamp,val_to_add,val_to_add_2\n1001,2025-01-02T10:07:00Z,10,20\n1002,2025-01-03T00:00:00Z,1,2\n' > entities_req.csv
"$MF" get-historical-features --entities entities_req.csv --feature-service driver_activity_v1
step "moonfeast serve -p 0 &   (the HTTP feature server; -p 0 picks a free port)"
"$MF" serve -p 0 --no-access-log 2>serve.log &
pid=$!
n=0
until grep -q 'serving on' serve.log; do
    n=$((n + 1))
    if [ $n -gt 100 ] || ! kill -0 $pid 2>/dev/null; then cat serve.log; exit 1; fi
    sleep 0.1
done
cat serve.log
url=$(grep -o 'http://[^ ]*' serve.log)
step "curl -s -X POST $url/get-online-features -d '{\"entities\": {\"driver_id\": [1001], \"val_to_add\": [10], \"val_to_add_2\": [20]}, \"feature_service\": \"driver_activity_v1\"}'"
curl -sS -X POST "$url/get-online-features" \
    -d '{"entities": {"driver_id": [1001], "val_to_add": [10], "val_to_add_2": [20]}, "feature_service": "driver_activity_v1"}'
echo
step "curl -s $url/health"
curl -sS "$url/health"
echo
step "kill -TERM \$pid   (finishes the requests in flight, exits 0)"
kill -TERM $pid
wait $pid
pid=
echo "(Feast's HTTP API, auth, TLS and metrics: docs/http-api.md)"
if [ -n "$tmp" ]; then
    printf '\nThe demo ran in a temporary folder, now removed; MF_DEMO_DIR=FOLDER make demo keeps its repo.\n'
else
    printf '\nThe demo repo is in %s/driver_ranking\n' "$work"
fi
