# lua_store.sh — an online store written in Lua, end to end: the init repo
# pointed at examples/lua_memory_store/memory.lua, served by `moonfeast
# serve --threads 1` (the memory store lives in its one thread), filled by
# POST /materialize and read by POST /get-online-features: the same answer
# as the SQLite store gives for the same repo. A broken module: /health and
# reads answer 503 naming it; a module that is missing from the config.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/http_lib.sh"
trap 'stop_server; rm -rf "$WORK"' EXIT
MODULE=$(cd "$E2E_DIR/../../examples/lua_memory_store" && pwd)/memory.lua

run "$MF" init repo
cd repo || exit 1
run "$MF" apply
run "$MF" materialize 2020-01-01T00:00:00Z 2030-01-01T00:00:00Z
run "$MF" get-online-features -e driver_id=1001,val_to_add=1,val_to_add_2=2 \
    -e driver_id=1004,val_to_add=3,val_to_add_2=4 -e driver_id=9999,val_to_add=5,val_to_add_2=6 \
    --feature-service driver_activity_v1
sqlite_answer=$OUT
expect_rc "the SQLite store's answer" 0

sed -i '/^online_store:/,/^[a-z]/{/^online_store:/d;/^  /d}' feature_store.yaml
printf 'online_store:\n  type: lua\n  module: %s\n' "$MODULE" >>feature_store.yaml
# two jobs asked for: a Lua store's instance belongs to its thread, so the
# views are still materialized on the thread that serves the reads
printf 'batch_engine:\n  type: local\n  jobs: 2\n' >>feature_store.yaml
run "$MF" apply
expect_rc "apply with the Lua store" 0
start_server server.log --threads 1
check "serve with the Lua store" test -n "$SPORT"
http GET /health ""
expect_http "/health: the module loads" 200 '"ok"'
http POST /get-online-features '{"entities":{"driver_id":[1001]},"features":["driver_hourly_stats:conv_rate"]}'
expect_http "before materializing: NOT_FOUND" 200 '"NOT_FOUND"'
http POST /materialize '{"start_ts":"2020-01-01T00:00:00Z","end_ts":"2030-01-01T00:00:00Z"}'
expect_http "materialize into the Lua store" 200 "null"
http POST /get-online-features '{"entities":{"driver_id":[1001,1004,9999],"val_to_add":[1,3,5],"val_to_add_2":[2,4,6]},"feature_service":"driver_activity_v1"}'
expect_http_body "the Lua store answers as the SQLite store" 200 "$sqlite_answer"
http POST /push '{"push_source_name":"driver_stats_push_source","df":{"driver_id":[1001],"event_timestamp":["2026-11-30T10:00:00Z"],"conv_rate":[0.5],"acc_rate":[0.5],"avg_daily_trips":[9]}}'
expect_http "push into the Lua store" 200 ""
http POST /get-online-features '{"entities":{"driver_id":[1001]},"features":["driver_hourly_stats_fresh:avg_daily_trips"]}'
expect_http "  ... read back" 200 '"values":[9]'
stop_server
check "exit 0" test "$SRC" = 0
check_log server.log

# a module that raises when it loads
printf 'error("this store is broken")\n' >broken.lua
sed -i "s|module: .*|module: $PWD/broken.lua|" feature_store.yaml
start_server broken.log --threads 1
http GET /health ""
expect_http "a broken module: /health 503 naming it" 503 "broken.lua"
check "  ... with Lua's message and line" body_has "broken.lua:1: this store is broken"
http POST /get-online-features '{"entities":{"driver_id":[1001]},"features":["driver_hourly_stats:conv_rate"]}'
expect_http "  ... and reads 503" 503 "this store is broken"
stop_server
check_log broken.log

sed -i '/^  module: /d' feature_store.yaml
run "$MF" get-online-features -e driver_id=1001 -f driver_hourly_stats:conv_rate
expect_err "a Lua store without a module" 1 "missing required key 'online_store.module'"

# A write batch larger than the store's Lua memory cap (100,000 pushed rows
# against lua.max_memory_mb: 4): building the write's arguments runs out of
# memory in moonfeast's own code, which must be an error naming the cap
# (LuaJIT ended the process with "PANIC: unprotected error" before); the
# store then still answers.
sed -i "s|^  type: lua\$|  type: lua\\n  module: $MODULE|" feature_store.yaml
printf 'lua: {max_memory_mb: 4}\n' >>feature_store.yaml
awk 'BEGIN { print "driver_id,event_timestamp,created,conv_rate,acc_rate,avg_daily_trips"
             for (i = 0; i < 100000; i++)
                 printf "%d,2026-11-30T10:00:00Z,2026-11-30T10:00:00Z,0.5,0.25,%d\n", 100000 + i, i % 1000 }' \
    >big_push.csv
run "$MF" push driver_stats_push_source --file big_push.csv --to online
expect_err "a write over the Lua store's memory cap" 1 "lua.max_memory_mb"
case $ERR in
*"online store lua"*) ok "  ... names the store" ;;
*) not_ok "  ... names the store" "stderr: $ERR" ;;
esac
case $ERR in
*PANIC*) not_ok "  ... no panic" "stderr: $ERR" ;;
*) ok "  ... no panic" ;;
esac
head -n 101 big_push.csv >small_push.csv
run "$MF" push driver_stats_push_source --file small_push.csv --to online
expect_rc "  ... a small push still writes" 0
