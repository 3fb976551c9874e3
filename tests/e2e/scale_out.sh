# scale_out.sh — several servers, one store (docs/scaling.md): two
# `moonfeast serve` processes on their own ports, one PostgreSQL registry,
# one Redis Cluster (3 masters), all started by this test. An apply and a
# materialize run from a third process reach both servers within the
# registry's cache ttl (1 s); a push to either server is read from the
# other at once.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/http_lib.sh"
A_PID= B_PID=
stop_ab() {
    for p in $A_PID $B_PID; do kill -TERM "$p" 2>/dev/null; done
    for p in $A_PID $B_PID; do wait "$p" 2>/dev/null; done
}
trap 'stop_ab; stop_redis_cluster; stop_pg; rm -rf "$WORK"' EXIT


start_pg
rc=$?
if [ $rc = 1 ]; then ok "several servers # SKIP PostgreSQL is not installed (make deps installs it)"; exit 0; fi
[ $rc = 0 ] || { not_ok "PostgreSQL started" "$(tail -n 5 "$PG_DIR"/*.log)"; exit 0; }
if ! command -v redis-server >/dev/null 2>&1; then
    ok "several servers # SKIP redis-server is not installed (make deps installs it)"
    exit 0
fi
start_redis_cluster 3 0 || { not_ok "Redis Cluster started" "$(cat "$WORK/cluster/create.log" 2>/dev/null | tail -n 5)"; exit 0; }
pg_createdb reg

run "$MF" init repo
cd repo || exit 1
cat >feature_store.yaml <<EOT
project: fleet
registry:
  registry_type: sql
  path: "$(pg_url reg)"
  cache_ttl_seconds: 1
online_store:
  type: redis
  redis_type: redis_cluster
  connection_string: "$CLUSTER_SEEDS"
entity_key_serialization_version: 3
EOT
run "$MF" apply
expect_rc "apply to the PostgreSQL registry" 0

# two servers
start_server a.log
A_PID=$SPID A_PORT=$SPORT
start_server b.log
B_PID=$SPID B_PORT=$SPORT
SPID=
check "two servers started" test -n "$A_PORT" -a -n "$B_PORT"

read_from() { # PORT BODY: sets CODE and HB
    SPORT=$1
    http POST /get-online-features "$2"
}
# wait_for PORT BODY SUBSTRING: polls for up to 5 s
wait_for() {
    SPORT=$1
    http_wait /get-online-features "$2" "$3"
}
Q='{"entities":{"driver_id":[1001]},"features":["driver_hourly_stats:conv_rate"]}'
read_from "$A_PORT" "$Q"
expect_http "before materializing: NOT_FOUND on server A" 200 '"NOT_FOUND"'

run "$MF" materialize 2025-01-01T00:00:00Z 2025-01-06T00:00:00Z
expect_rc "materialize from a third process" 0
check "  ... server A reads the values" wait_for "$A_PORT" "$Q" '"values":[0.881238]'
check "  ... server B too" wait_for "$B_PORT" "$Q" '"values":[0.881238]'

cat >extra.lua <<'EOT'
feature_view {
  name = "extra_stats", entities = { "driver" }, ttl = days(1), source = "driver_hourly_stats_source",
  schema = { field { name = "acc_rate", dtype = Float32 } },
}
EOT
run "$MF" apply
check "apply a new view from the third process" test "$RC" = 0
run "$MF" materialize 2025-01-01T00:00:00Z 2025-01-06T00:00:00Z -v extra_stats
QE='{"entities":{"driver_id":[1001]},"features":["extra_stats:acc_rate"]}'
check "  ... both servers know it within the ttl: A" wait_for "$A_PORT" "$QE" '"PRESENT"'
check "  ... and B" wait_for "$B_PORT" "$QE" '"PRESENT"'

# a push to A is read from B, and one to B from A
SPORT=$A_PORT
http POST /push '{"push_source_name":"driver_stats_push_source","df":{"driver_id":[1001],"event_timestamp":["2026-11-30T10:00:00Z"],"created":["2026-11-30T10:00:00Z"],"conv_rate":[0.25],"acc_rate":[0.5],"avg_daily_trips":[77]}}'
expect_http "push to server A" 200 ""
QF='{"entities":{"driver_id":[1001]},"features":["driver_hourly_stats_fresh:avg_daily_trips"]}'
read_from "$B_PORT" "$QF"
expect_http "  ... read from server B at once" 200 '"values":[77]'
SPORT=$B_PORT
http POST /push '{"push_source_name":"driver_stats_push_source","df":{"driver_id":[1001],"event_timestamp":["2026-11-30T11:00:00Z"],"created":["2026-11-30T11:00:00Z"],"conv_rate":[0.25],"acc_rate":[0.5],"avg_daily_trips":[78]}}'
expect_http "push to server B" 200 ""
read_from "$A_PORT" "$QF"
expect_http "  ... read from server A at once" 200 '"values":[78]'

stop_ab
A_PID= B_PID=
check_log a.log
check_log b.log
