# http_hardening.sh — `moonfeast serve` against what a review found:
#   - two feature lists that joined with newlines read alike (["v:a","v:b"]
#     and ["v:a\nv:b"]) shared a thread's cached request: one answered as
#     the other;
#   - single values repeated down a push's rows made cells without bound
#     (40 single values over 100,000 rows: 4M cells from a 200 KB body);
#   - a registry file deleted under a running server was served as an
#     empty registry at the next refresh (every read "unknown feature
#     view", /health ok);
#   - SIGTERM while a write waits on a locked store: past the request
#     timeout the finished write's answer was dropped (the client saw a
#     closed connection), and a SIGHUP during the stop ended the process
#     with exit 129.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/http_lib.sh"
LPID=
CPID=
trap 'stop_server; [ -n "$LPID" ] && kill "$LPID" 2>/dev/null; [ -n "$CPID" ] && kill "$CPID" 2>/dev/null; rm -rf "$WORK"' EXIT

run "$MF" init repo
cd repo || exit 1
cat >>feature_store.yaml <<'EOF'
feature_server:
  request_timeout_seconds: 1
EOF
run "$MF" apply
expect_rc "apply" 0
run "$MF" materialize 2020-01-01T00:00:00Z 2030-01-01T00:00:00Z
expect_rc "materialize" 0
start_server server.log --threads 1 --registry-ttl 0
check "serve" test -n "$SPORT"

# one thread, so both requests meet the same cache
TWO='{"entities":{"driver_id":[1001]},"features":["driver_hourly_stats:conv_rate","driver_hourly_stats:acc_rate"]}'
JOINED='{"entities":{"driver_id":[1001]},"features":["driver_hourly_stats:conv_rate\ndriver_hourly_stats:acc_rate"]}'
http POST /get-online-features "$JOINED"
expect_http "a feature ref holding a newline: unknown" 422 "unknown feature"
http POST /get-online-features "$TWO"
expect_http "  ... then the two refs it looks like are answered" 200 '"feature_names":["driver_id","conv_rate","acc_rate"]'
http POST /get-online-features "$JOINED"
expect_http "  ... and after them the one ref is still unknown" 422 "unknown feature"

awk 'BEGIN { printf "{\"push_source_name\":\"driver_stats_push_source\",\"df\":{\"driver_id\":[";
             for (i = 0; i < 100000; i++) printf "%s1001", (i ? "," : "");
             printf "]"; for (i = 0; i < 40; i++) printf ",\"a%d\":0", i; printf "}}" }' >broad.json
http POST /push @broad.json
expect_http "40 single values down 100,000 rows: refused" 413 "repeats 40 single values down 100000 rows"
PUSH='{"push_source_name":"driver_stats_push_source","to":"online","df":{"driver_id":[1001,1002],"event_timestamp":"2025-01-06T12:00:00Z","conv_rate":[0.5,0.6],"acc_rate":0.9,"avg_daily_trips":[12,14]}}'
http POST /push "$PUSH"
expect_http "  ... a few single values are still repeated" 200 ""

mv data/registry.db registry.away
kill -HUP "$SPID"
i=0
while [ "$i" -lt 50 ] && ! grep -q "is gone" server.log; do sleep 0.1; i=$((i + 1)); done
http POST /get-online-features "$TWO"
expect_http "a registry file gone at a refresh: the snapshot keeps serving" 200 '"feature_names":["driver_id","conv_rate","acc_rate"]'
check "  ... the failure is logged, naming the file" grep -q "registry file .*registry.db is gone" server.log
http GET /metrics ""
check "  ... and counted" sh -c 'printf "%s" "$1" | grep -q "^moonfeast_registry_refresh_failures_total 1"' - "$HB"
mv registry.away data/registry.db
kill -HUP "$SPID"
http_wait /get-online-features "$TWO" '"feature_names":["driver_id","conv_rate","acc_rate"]'
expect_http "the registry file back: served again" 200 '"values":[1001]'

# a write held by a lock past the request timeout, then SIGTERM and SIGHUP
if command -v sqlite3 >/dev/null 2>&1; then
    mkfifo lock.in
    sqlite3 data/online.db <lock.in >lock.out 2>&1 &
    LPID=$!
    exec 3>lock.in
    echo 'BEGIN IMMEDIATE;' >&3
    echo "SELECT 'locked';" >&3
    i=0
    while [ "$i" -lt 50 ] && ! grep -q locked lock.out; do sleep 0.1; i=$((i + 1)); done
    W='{"feature_view_name":"driver_hourly_stats","df":{"driver_id":[1001],"event_timestamp":["2025-01-06T12:00:00Z"],"conv_rate":[0.25],"acc_rate":[0.5],"avg_daily_trips":[7]}}'
    curl -s -o write.out -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        --data-binary "$W" "http://127.0.0.1:$SPORT/write-to-online-store" >write.code &
    CPID=$!
    sleep 0.5
    kill -TERM "$SPID"
    sleep 0.3
    check "  (the server is still stopping when the SIGHUP comes)" kill -HUP "$SPID"
    sleep 1.5 # past the request timeout, the store still locked
    echo 'COMMIT;' >&3
    exec 3>&-
    wait "$LPID"
    LPID=
    wait "$CPID"
    CPID=
    wait "$SPID"
    SRC=$?
    SPID=
    check "SIGTERM during a write held past the request timeout: its answer arrives (200)" \
        test "$(cat write.code)" = 200
    check "  ... a SIGHUP during the stop: the server still exits 0" test "$SRC" = 0
    run "$MF" get-online-features -e driver_id=1001 -f driver_hourly_stats:avg_daily_trips
    check "  ... the write is there" sh -c 'printf "%s" "$1" | grep -qF "{\"values\":[7]"' - "$OUT"
else
    ok "# SKIP: no sqlite3 command"
fi
check_log server.log
