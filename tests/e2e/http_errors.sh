# http_errors.sh — bad input never hurts `moonfeast serve`: every client
# mistake gets its 4xx and a JSON error body {"error": {"code", "message"}}
# naming what is wrong, the server stays up, and a valid request is still
# answered after each; limits (body size, entity rows, header size, the
# request timeout) hold, and slow clients do not starve the workers.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/http_lib.sh"
trap 'stop_server; rm -rf "$WORK"' EXIT

run "$MF" init repo
cd repo || exit 1
cat >>feature_store.yaml <<'EOF'
feature_server:
  max_entity_rows: 1000
  request_timeout_seconds: 2
EOF
run "$MF" apply
expect_rc "apply" 0
run "$MF" materialize 2020-01-01T00:00:00Z 2030-01-01T00:00:00Z
start_server server.log --threads 2 --max-body 65536
check "serve with limits" test -n "$SPORT"

GOOD='{"entities":{"driver_id":[1001]},"features":["driver_hourly_stats:conv_rate"]}'
still_up() {
    http POST /get-online-features "$GOOD"
    expect_http "  ... then a valid request is answered" 200 '"feature_names":["driver_id","conv_rate"]'
}
# bad NAME STATUS CODE SUBSTRING METHOD PATH BODY [CURL ARGS]
bad() {
    name=$1 want=$2 code=$3 sub=$4
    shift 4
    http "$@"
    if [ "$CODE" != "$want" ]; then
        not_ok "$name: $want" "status $CODE" "body: $(printf '%s' "$HB" | head -c 400)"
    elif [ -n "$code" ] && ! body_has "{\"error\":{\"code\":\"$code\",\"message\":" "$sub"; then
        not_ok "$name: $want" "body lacks code $code or: $sub" "body: $(printf '%s' "$HB" | head -c 400)"
    elif ! body_has '{"error":{"code":"' "$sub"; then
        not_ok "$name: $want" "body lacks code $code or: $sub" "body: $(printf '%s' "$HB" | head -c 400)"
    else
        ok "$name: $want ${code:-error}"
    fi
    BAD_HH=$HH
    still_up
}

bad "malformed JSON" 400 invalid_json "not valid JSON" POST /get-online-features '{"entities": {'
bad "an empty body" 400 invalid_json "empty" POST /get-online-features ""
bad "a body that is not an object" 400 invalid_json "JSON object" POST /get-online-features '[1,2]'
bad "trailing garbage" 400 invalid_json "not valid JSON" POST /get-online-features "$GOOD x"
bad "a duplicate key" 400 invalid_json "duplicate" POST /get-online-features \
    '{"entities":{"driver_id":[1]},"entities":{"driver_id":[2]},"features":["driver_hourly_stats:conv_rate"]}'
printf '{"entities":{"driver_id":["\377\376"]},"features":["driver_hourly_stats:conv_rate"]}' >badutf8.json
bad "invalid UTF-8" 400 invalid_json "UTF-8" POST /get-online-features @badutf8.json
bad "a NUL inside a string" 400 invalid_json "not valid JSON" POST /get-online-features \
    '{"entities":{"driver_id":["10\u000001"]},"features":["driver_hourly_stats:conv_rate"]}'
awk 'BEGIN { for (i = 0; i < 20000; i++) printf "["; for (i = 0; i < 20000; i++) printf "]" }' >deep.json
bad "deep nesting" 400 invalid_json "not valid JSON" POST /get-online-features @deep.json
bad "features is a string" 422 invalid_request "'features' must be a list of strings" \
    POST /get-online-features '{"entities":{"driver_id":[1001]},"features":"driver_hourly_stats:conv_rate"}'
bad "a feature ref that is a number" 422 invalid_request "'features'[1]" \
    POST /get-online-features '{"entities":{"driver_id":[1001]},"features":["driver_hourly_stats:conv_rate",7]}'
bad "entities is a list" 422 invalid_request "'entities' must be an object" \
    POST /get-online-features '{"entities":[1001],"features":["driver_hourly_stats:conv_rate"]}'
bad "an entity column that is not a list" 422 invalid_request "'entities.driver_id' must be a list" \
    POST /get-online-features '{"entities":{"driver_id":1001},"features":["driver_hourly_stats:conv_rate"]}'
bad "an entity value that is an object" 422 invalid_request "is an object" \
    POST /get-online-features '{"entities":{"driver_id":[{"a":1}]},"features":["driver_hourly_stats:conv_rate"]}'
bad "full_feature_names not a boolean" 422 invalid_request "'full_feature_names' must be true or false" \
    POST /get-online-features '{"entities":{"driver_id":[1001]},"features":["driver_hourly_stats:conv_rate"],"full_feature_names":"maybe"}'
bad "a known field Feast has and moonfeast ignores, mistyped" 422 invalid_request "'allow_registry_cache'" \
    POST /get-online-features '{"entities":{"driver_id":[1001]},"features":["driver_hourly_stats:conv_rate"],"allow_registry_cache":[]}'
bad "no features" 422 invalid_request "give 'features'" \
    POST /get-online-features '{"entities":{"driver_id":[1001]}}'
bad "no entities" 422 invalid_request "'entities' is required" \
    POST /get-online-features '{"features":["driver_hourly_stats:conv_rate"]}'
bad "an unknown view" 422 invalid_request "nope" \
    POST /get-online-features '{"entities":{"driver_id":[1001]},"features":["nope:conv_rate"]}'
bad "an unknown feature" 422 invalid_request "conv_rat" \
    POST /get-online-features '{"entities":{"driver_id":[1001]},"features":["driver_hourly_stats:conv_rat"]}'
bad "a ref without a colon" 422 invalid_request "conv_rate" \
    POST /get-online-features '{"entities":{"driver_id":[1001]},"features":["conv_rate"]}'
bad "an unknown feature service" 422 invalid_request "nope" \
    POST /get-online-features '{"entities":{"driver_id":[1001]},"feature_service":"nope"}'
bad "a missing join key" 422 invalid_request "driver_id" \
    POST /get-online-features '{"entities":{"rider_id":[1001]},"features":["driver_hourly_stats:conv_rate"]}'
bad "a join key of the wrong type" 422 invalid_request "driver_id" \
    POST /get-online-features '{"entities":{"driver_id":["abc"]},"features":["driver_hourly_stats:conv_rate"]}'
bad "entity columns of different lengths" 422 invalid_request "same number" \
    POST /get-online-features '{"entities":{"driver_id":[1001,1002],"val_to_add":[1]},"features":["driver_hourly_stats:conv_rate"]}'
bad "a missing request field" 422 invalid_request "val_to_add" \
    POST /get-online-features '{"entities":{"driver_id":[1001]},"feature_service":"driver_activity_v1"}'
awk 'BEGIN { printf "{\"entities\":{\"driver_id\":["; for (i = 0; i < 1001; i++) printf "%s%d", (i ? "," : ""), i; printf "]},\"features\":[\"driver_hourly_stats:conv_rate\"]}" }' >rows.json
bad "more entity rows than max_entity_rows" 413 too_many_rows "max_entity_rows" POST /get-online-features @rows.json
awk 'BEGIN { printf "{\"entities\":{\"driver_id\":[1001]},\"features\":[\"driver_hourly_stats:conv_rate\"],\"pad\":\""; for (i = 0; i < 70000; i++) printf "x"; printf "\"}" }' >big.json
bad "a body over --max-body" 413 payload_too_large "max_body_bytes" POST /get-online-features @big.json
bad "a chunked body over --max-body" 413 payload_too_large "max_body_bytes" POST /get-online-features @big.json \
    -H 'Transfer-Encoding: chunked'
bad "a wrong method" 405 method_not_allowed "takes POST" GET /get-online-features ""
check "  ... with an Allow header" sh -c "printf '%s' \"\$1\" | grep -qi '^Allow: POST'" - "$BAD_HH"
bad "GET-only endpoint posted to" 405 method_not_allowed "takes GET" POST /health '{}'
bad "an unknown path" 404 not_found "/v2/nope" GET /v2/nope ""
bad "?async on get-online-features" 422 invalid_request "?async=true is for" \
    POST '/get-online-features?async=true' "$GOOD"
bad "push: no push_source_name" 422 invalid_request "'push_source_name' is required" \
    POST /push '{"df":{"driver_id":[1001]}}'
bad "push: an unknown push source" 422 unknown_object "nope" \
    POST /push '{"push_source_name":"nope","df":{"driver_id":[1001],"event_timestamp":["2026-01-01T00:00:00Z"]}}'
bad "push: a bad 'to'" 422 invalid_request "'to' is" \
    POST /push '{"push_source_name":"driver_stats_push_source","df":{"driver_id":[1]},"to":"sideways"}'
bad "push: df without any list" 422 invalid_request "list of values" \
    POST /push '{"push_source_name":"driver_stats_push_source","df":{"driver_id":1}}'
bad "push: a missing feature column" 422 "" "conv_rate" \
    POST /push '{"push_source_name":"driver_stats_push_source","df":{"driver_id":[1001],"event_timestamp":["2026-01-01T00:00:00Z"],"created":["2026-01-01T00:00:00Z"]}}'
bad "push: a value of the wrong type" 422 "" "avg_daily_trips" \
    POST /push '{"push_source_name":"driver_stats_push_source","df":{"driver_id":[1001],"event_timestamp":["2026-01-01T00:00:00Z"],"created":["2026-01-01T00:00:00Z"],"conv_rate":[0.5],"acc_rate":[0.5],"avg_daily_trips":["many"]}}'
bad "write: an unknown view" 422 "" "nope" \
    POST /write-to-online-store '{"feature_view_name":"nope","df":{"driver_id":[1001]}}'
bad "materialize: no start_ts" 422 invalid_request "'start_ts' is required" \
    POST /materialize '{"end_ts":"2030-01-01T00:00:00Z"}'
bad "materialize: a bad timestamp" 422 invalid_request "not a timestamp" \
    POST /materialize '{"start_ts":"yesterday","end_ts":"2030-01-01T00:00:00Z"}'
bad "materialize: start after end" 422 invalid_request "after" \
    POST /materialize '{"start_ts":"2031-01-01T00:00:00Z","end_ts":"2030-01-01T00:00:00Z"}'
bad "materialize: an unknown view" 422 "" "nope" \
    POST /materialize-incremental '{"end_ts":"2030-01-01T00:00:00Z","feature_views":["nope"]}'
bad "materialize ?async=true: an unknown view, refused before the background run" 422 unknown_object "nope" \
    POST '/materialize?async=true' '{"start_ts":"2020-01-01T00:00:00Z","end_ts":"2030-01-01T00:00:00Z","feature_views":["nope"]}'
bad "materialize ?async=true: an on-demand view, said so as without ?async" 422 invalid_request \
    "'transformed_conv_rate' is an on-demand feature view" \
    POST '/materialize?async=true' '{"start_ts":"2020-01-01T00:00:00Z","end_ts":"2030-01-01T00:00:00Z","feature_views":["transformed_conv_rate"]}'
# a view applied while the server runs (its registry copy is up to
# cache_ttl_seconds old): ?async=true checks the registry as it is now, as
# the run itself and a request without ?async do
cat >late.lua <<'EOF'
feature_view {
  name = "late_stats",
  entities = { "driver" },
  schema = { field { name = "conv_rate", dtype = Float32 } },
  source = "driver_hourly_stats_source",
}
EOF
run "$MF" apply
expect_rc "apply of a view while the server runs" 0
http POST '/materialize?async=true' '{"start_ts":"2020-01-01T00:00:00Z","end_ts":"2030-01-01T00:00:00Z","feature_views":["late_stats"]}'
expect_http "materialize ?async=true: a view applied after the server read the registry: 202" 202 '"feature_views":["late_stats"]'
still_up
# ?async=True (what Python's requests sends for True) is true, as in Feast
http POST '/materialize?async=True' '{"start_ts":"2020-01-01T00:00:00Z","end_ts":"2030-01-01T00:00:00Z","feature_views":["driver_hourly_stats"]}'
expect_http "materialize ?async=True: 202" 202 '"status":"accepted"'
bad "materialize: ?async=perhaps" 422 invalid_request "?async=" \
    POST '/materialize?async=perhaps' '{"start_ts":"2020-01-01T00:00:00Z","end_ts":"2030-01-01T00:00:00Z"}'

# headers larger than the server takes: a 4xx from libmicrohttpd
big=$(awk 'BEGIN { for (i = 0; i < 40000; i++) printf "y" }')
http POST /get-online-features "$GOOD" -H "X-Big: $big"
case $CODE in 4*) ok "a 40 KB header: $CODE" ;; *) not_ok "a 40 KB header: 4xx" "status $CODE" ;; esac
still_up

# slow clients: four connections sending a byte at a time (more than the
# two worker threads) do not hold up other requests, and get 408 once
# request_timeout_seconds (2 s) have passed
i=0
while [ $i -lt 4 ]; do
    (printf '{'; for k in 1 2 3 4 5; do sleep 0.5; printf ' '; done; printf '}') |
        curl -s -o "slow$i.out" -w '%{http_code}' -X POST -T - -H 'Content-Type: application/json' \
            "http://127.0.0.1:$SPORT/get-online-features" >"slow$i.code" 2>/dev/null &
    eval "SLOW$i=\$!"
    i=$((i + 1))
done
sleep 0.3
t0=$(date +%s%N)
http POST /get-online-features "$GOOD"
t1=$(date +%s%N)
expect_http "with four slow clients, a request is answered" 200 '"conv_rate"'
check "  ... at once (under 0.5 s)" test $(((t1 - t0) / 1000000)) -lt 500
wait "$SLOW0" "$SLOW1" "$SLOW2" "$SLOW3"
codes=$(cat slow0.code slow1.code slow2.code slow3.code)
check "the slow clients get 408 after request_timeout_seconds" test "$codes" = "408408408408"
check "  ... with the request_timeout error" grep -q '"request_timeout"' slow0.out

http GET /metrics ""
expect_http "errors are counted by code" 200 \
    'moonfeast_http_errors_total{endpoint="/get-online-features",code="invalid_json"}'
stop_server
check "the server exits 0 after all that" test "$SRC" = 0
check_log server.log
