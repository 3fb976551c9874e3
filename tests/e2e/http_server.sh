# http_server.sh — `moonfeast serve` end to end over real HTTP (curl): every
# endpoint against a materialized SQLite repo, answers compared with the
# CLI's (itself golden-tested) and with literal JSON; Feast's own clients'
# request bodies; push and write then read back; materialize sync and async
# (409 while running); a transform; registry refresh on SIGHUP after an
# apply made while serving, and with the registry file broken (the old
# snapshot serves on); graceful stop with a request in flight.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/http_lib.sh"
trap 'stop_server; rm -rf "$WORK"' EXIT

run "$MF" init repo
cd repo || exit 1
# a view over a large source, so that a materialization of it lasts a while
awk 'BEGIN { print "id,event_timestamp,v"; for (i = 0; i < 300000; i++)
    printf "%d,2025-01-01T00:00:%02dZ,%d\n", i, i % 60, i }' >data/big.csv
cat >>driver_repo.lua <<'EOF'

local item = entity { name = "item", join_keys = { "id" } }
local big = feature_view {
  name = "big",
  entities = { item },
  schema = { field { name = "v", dtype = Int64 } },
  source = file_source { name = "big_source", path = "data/big.csv", timestamp_field = "event_timestamp" },
}
on_demand_feature_view {
  name = "picky",
  sources = { driver_stats, input_request },
  schema = { field { name = "checked", dtype = Float64 } },
  transform = function(r)
    if r.val_to_add < 0 then error("val_to_add must not be negative") end
    return { checked = r.val_to_add * 2 }
  end,
}
EOF
run "$MF" apply
expect_rc "apply" 0
run "$MF" materialize 2020-01-01T00:00:00Z 2030-01-01T00:00:00Z -v driver_hourly_stats -v driver_hourly_stats_fresh
expect_rc "materialize" 0

start_server server.log --threads 2 --registry-ttl 0
check "serve prints the address it listens on" test -n "$SPORT"

http GET /health ""
expect_http "GET /health: 200" 200 '{"status":"ok"}'

# get-online-features: the same answer as the CLI's
F='"driver_hourly_stats:conv_rate","driver_hourly_stats:acc_rate","driver_hourly_stats:avg_daily_trips"'
run "$MF" get-online-features -e driver_id=1001 -e driver_id=1002 -e driver_id=9999 \
    -f driver_hourly_stats:conv_rate -f driver_hourly_stats:acc_rate -f driver_hourly_stats:avg_daily_trips
cli=$OUT
http POST /get-online-features "{\"entities\":{\"driver_id\":[1001,1002,9999]},\"features\":[$F]}"
expect_http_body "get-online-features: the CLI's answer" 200 "$cli"
check "get-online-features: 9999 is NOT_FOUND" body_has ',"NOT_FOUND"],"event_timestamps"'

# the body Feast's RemoteOnlineStore sends (extra fields ignored), full names
run "$MF" get-online-features -e driver_id=1001 --full-feature-names \
    -f driver_hourly_stats:conv_rate -f driver_hourly_stats:avg_daily_trips
cli=$OUT
http POST /get-online-features '{"entities":{"driver_id":[1001]},"full_feature_names":true,"include_feature_view_version_metadata":false,"features":["driver_hourly_stats:conv_rate","driver_hourly_stats:avg_daily_trips"],"allow_registry_cache":true,"api_version":1}'
expect_http_body "get-online-features: Feast's client body, full feature names" 200 "$cli"
check "full names: view__feature" body_has '"feature_names":["driver_id","driver_hourly_stats__conv_rate","driver_hourly_stats__avg_daily_trips"]'

# string join keys are parsed as the key's type; the service with its transform
run "$MF" get-online-features -e driver_id=1001,val_to_add=1,val_to_add_2=10 \
    -e driver_id=1002,val_to_add=2,val_to_add_2=20 --feature-service driver_activity_v1
cli=$OUT
http POST /get-online-features '{"entities":{"driver_id":["1001",1002],"val_to_add":[1,2],"val_to_add_2":[10,20]},"feature_service":"driver_activity_v1"}'
expect_http_body "feature service with an on-demand view: the CLI's answer" 200 "$cli"
check "the transform's outputs: conv_rate + val_to_add" body_has '"conv_rate_plus_val1"'
http POST /get-online-features '{"entities":{"driver_id":[1001]},"features":["picky:checked"],"val_to_add":[1]}'
expect_http "a request field missing: 422 naming it" 422 "val_to_add"
http POST /get-online-features '{"entities":{"driver_id":[1001],"val_to_add":[21],"val_to_add_2":[0]},"features":["picky:checked"]}'
expect_http "picky transform: 42" 200 '"values":[42'
http POST /get-online-features '{"entities":{"driver_id":[1001],"val_to_add":[-1],"val_to_add_2":[0]},"features":["picky:checked"]}'
expect_http "a transform that raises: 422 transform_error with its message" 422 '"code":"transform_error"'
check "  ... naming the view and the Lua message" body_has "picky" "val_to_add must not be negative"

# push, then read the pushed values back
http POST /push '{"push_source_name":"driver_stats_push_source","df":{"driver_id":[1001,1002],"event_timestamp":["2026-11-30T10:00:00Z","2026-11-30T10:00:00Z"],"created":"2026-11-30T10:00:01","conv_rate":[0.5,0.25],"acc_rate":[0.75,0.125],"avg_daily_trips":[7,8]},"to":"online","allow_registry_cache":true}'
expect_http "push: 200, empty body (as Feast)" 200 ""
check "  ... the body is empty" test -z "$HB"
http POST /get-online-features '{"entities":{"driver_id":[1001,1002]},"features":["driver_hourly_stats_fresh:conv_rate","driver_hourly_stats_fresh:avg_daily_trips"]}'
expect_http "pushed values read back" 200 '"values":[0.5,0.25]'
check "  ... and their event time" body_has '"2026-11-30T10:00:00Z","2026-11-30T10:00:00Z"' '"values":[7,8]'

# write-to-online-store as Feast's RemoteOnlineStore sends it (naive ISO times)
http POST /write-to-online-store '{"feature_view_name":"driver_hourly_stats","df":{"driver_id":[1003],"event_timestamp":["2026-11-29T08:30:00.250000"],"created":["2026-11-29T08:30:00"],"conv_rate":[0.0625],"acc_rate":[null],"avg_daily_trips":[3]},"allow_registry_cache":false}'
expect_http "write-to-online-store: 200 null" 200 "null"
http POST /get-online-features '{"entities":{"driver_id":[1003]},"features":["driver_hourly_stats:conv_rate","driver_hourly_stats:acc_rate"]}'
expect_http "written values read back (a null stays null)" 200 '"values":[0.0625]'
check "  ... event time with its fraction, NULL_VALUE for the null" \
    body_has '"2026-11-29T08:30:00.250000Z"' '"statuses":["NULL_VALUE"]'

# materialize, sync then async; a second run while one is running: 409
http POST /materialize '{"start_ts":"2020-01-01T00:00:00","end_ts":"2030-01-01T00:00:00","feature_views":["driver_hourly_stats"]}'
expect_http "materialize (sync): 200 null" 200 "null"
http POST '/materialize?async=true' '{"start_ts":"2020-01-01T00:00:00Z","end_ts":"2030-01-01T00:00:00Z","feature_views":["big"]}'
expect_http "materialize ?async=true: 202" 202 '{"status":"accepted","feature_views":["big"]}'
http POST /materialize-incremental '{"end_ts":"2030-01-01T00:00:00Z","feature_views":["big"]}'
expect_http "materialize of a view being materialized: 409" 409 '"code":"conflict"'
n=0
while [ $n -lt 600 ]; do
    http POST /get-online-features '{"entities":{"id":[299999]},"features":["big:v"]}'
    case $HB in *'"values":[299999]'*) break ;; esac
    sleep 0.05
    n=$((n + 1))
done
expect_http "async materialization done: its values served" 200 '"values":[299999]'
http POST '/materialize-incremental?async=1' '{"end_ts":"2030-01-02T00:00:00Z","feature_views":["driver_hourly_stats"]}'
expect_http "materialize-incremental ?async=1: 202" 202 '"feature_views":["driver_hourly_stats"]'
# wait for both background runs (every view: 409 while one runs): their
# commits reload the server's registry, and must come before the apply below
n=0
while [ $n -lt 600 ]; do
    http POST /materialize-incremental '{"end_ts":"2030-01-02T00:00:00Z"}'
    [ "$CODE" != 409 ] && break
    sleep 0.05
    n=$((n + 1))
done
expect_http "after the background runs, a materialization of every view runs (200)" 200 "null"

# metrics
http GET /metrics ""
expect_http "GET /metrics: Prometheus text" 200 'moonfeast_http_requests_total{endpoint="/get-online-features",status="200"}'
check "  ... latency histogram, rows served, transform errors, registry version" \
    body_has 'moonfeast_http_request_duration_seconds_bucket{endpoint="/get-online-features",le="+Inf"}' \
    'moonfeast_entity_rows_total' 'moonfeast_transform_errors_total 1' \
    'moonfeast_registry_version ' 'moonfeast_registry_snapshot_age_seconds'

# registry refresh: apply while serving; SIGHUP makes the new view served
# add_view NAME: one more view of conv_rate, appended to the definitions
add_view() {
    printf '\nfeature_view {\n  name = "%s",\n  entities = { driver },\n  schema = { field { name = "conv_rate", dtype = Float32 } },\n  source = driver_stats_source,\n}\n' "$1" >>driver_repo.lua
}
add_view late
run "$MF" apply
expect_rc "apply a new view while serving" 0
run "$MF" materialize 2020-01-01T00:00:00Z 2030-01-01T00:00:00Z -v late
http POST /get-online-features '{"entities":{"driver_id":[1001]},"features":["late:conv_rate"]}'
expect_http "before the refresh the new view is unknown (422)" 422 "late"
# allow_registry_cache: false checks the registry for that request, as
# Feast reads it (Feast's remote online store sends it with its writes);
# true, or absent, takes the server's snapshot
LATE='"feature_view_name":"late","df":{"driver_id":[1009],"event_timestamp":["2026-11-29T08:30:00Z"],"conv_rate":[0.5]}'
http POST /write-to-online-store "{$LATE,\"allow_registry_cache\":true}"
expect_http "a write to the new view with the cached registry: unknown (422)" 422 "late"
http POST /write-to-online-store "{$LATE,\"allow_registry_cache\":false}"
expect_http "a write with allow_registry_cache false reaches the new view" 200 "null"
http POST /get-online-features '{"entities":{"driver_id":[1009]},"features":["late:conv_rate"]}'
expect_http "  ... and what it wrote is read" 200 '0.5'
add_view late2
run "$MF" apply
expect_rc "apply another view while serving" 0
http POST /get-online-features '{"entities":{"driver_id":[1001]},"features":["late2:conv_rate"],"allow_registry_cache":true}'
expect_http "a read of it with the cached registry: unknown (422)" 422 "late2"
http POST /get-online-features '{"entities":{"driver_id":[1001]},"features":["late2:conv_rate"],"allow_registry_cache":false}'
expect_http "a read with allow_registry_cache false sees it" 200 '"feature_names":["driver_id","conv_rate"]'
kill -HUP "$SPID"
n=0
while [ $n -lt 100 ]; do
    http POST /get-online-features '{"entities":{"driver_id":[1001]},"features":["late:conv_rate"]}'
    [ "$CODE" = 200 ] && break
    sleep 0.05
    n=$((n + 1))
done
expect_http "after SIGHUP the new view is served" 200 '"feature_names":["driver_id","conv_rate"]'
http POST /get-online-features "{\"entities\":{\"driver_id\":[1001]},\"features\":[$F]}"
expect_http "the old views are served throughout" 200 '"statuses":["PRESENT"]'

# a registry that cannot be read: the refresh fails, the snapshot serves on
cp data/registry.db registry.bak
printf 'not a registry' >data/registry.db
kill -HUP "$SPID"
n=0
while [ $n -lt 100 ]; do
    http GET /metrics ""
    case $HB in *'moonfeast_registry_refresh_failures_total 1'*) break ;; esac
    sleep 0.05
    n=$((n + 1))
done
expect_http "a failed refresh is counted" 200 'moonfeast_registry_refresh_failures_total 1'
http POST /get-online-features '{"entities":{"driver_id":[1001]},"features":["late:conv_rate","driver_hourly_stats:acc_rate"]}'
expect_http "broken registry file: the old snapshot still serves" 200 '"statuses":["PRESENT"]'
check "  ... and the failure is logged" grep -q "could not be reloaded" server.log
cp registry.bak data/registry.db

# graceful stop: a request whose body is still arriving when SIGTERM comes
(printf '{"entities":{"driver_id":'; sleep 1; printf '[1001]},"features":[%s]}' "$F") |
    curl -s -o slow.out -w '%{http_code}' -X POST -T - -H 'Content-Type: application/json' \
        "http://127.0.0.1:$SPORT/get-online-features" >slow.code &
CPID=$!
sleep 0.4
kill -TERM "$SPID"
wait "$CPID"
wait "$SPID"
SRC=$?
SPID=
check "SIGTERM: the request in flight is answered (200)" test "$(cat slow.code)" = 200
check "  ... with its values" grep -q '"feature_names":\["driver_id","conv_rate","acc_rate","avg_daily_trips"\]' slow.out
check "SIGTERM: the server exits 0" test "$SRC" = 0
curl -s -o /dev/null "http://127.0.0.1:$SPORT/health"
check "after the stop nothing listens" test $? -ne 0
check_log server.log
