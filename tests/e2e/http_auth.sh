# http_auth.sh — `moonfeast serve` with bearer tokens (roles read, write,
# admin; tokens from ${ENV}), /metrics behind a token or public, TLS with a
# self-signed certificate, a bad auth configuration refused at start; and
# the server against Redis (its own redis-server): reads equal the CLI's,
# push then read, /health and reads answer 503 once Redis is gone, and the
# server keeps answering.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/http_lib.sh"
trap 'stop_server; stop_redis; rm -rf "$WORK"' EXIT

run "$MF" init repo
cd repo || exit 1
cp feature_store.yaml plain.yaml
cat >>feature_store.yaml <<'EOF'
feature_server:
  auth:
    tokens:
      - token: "${MF_TEST_READ}"
        role: read
      - token: "${MF_TEST_WRITE}"
        role: write
      - {token: "admin-token-3", role: admin}
EOF
export MF_TEST_READ=read-token-1 MF_TEST_WRITE=write-token-2
run "$MF" apply
expect_rc "apply" 0
run "$MF" materialize 2020-01-01T00:00:00Z 2030-01-01T00:00:00Z
start_server server.log --threads 2
check "serve with auth" test -n "$SPORT"

GOOD='{"entities":{"driver_id":[1001]},"features":["driver_hourly_stats:conv_rate"]}'
PUSH='{"push_source_name":"driver_stats_push_source","df":{"driver_id":[1001],"event_timestamp":["2026-11-30T10:00:00Z"],"created":["2026-11-30T10:00:00Z"],"conv_rate":[0.5],"acc_rate":[0.5],"avg_daily_trips":[1]}}'
MAT='{"start_ts":"2020-01-01T00:00:00Z","end_ts":"2030-01-01T00:00:00Z","feature_views":["driver_hourly_stats"]}'
R='Authorization: Bearer read-token-1'
W='Authorization: Bearer write-token-2'
A='Authorization: Bearer admin-token-3'

http GET /health ""
expect_http "/health is open" 200 '"ok"'
http POST /get-online-features "$GOOD"
expect_http "no token: 401" 401 '"code":"unauthorized"'
check "  ... with WWW-Authenticate: Bearer" sh -c "printf '%s' \"\$1\" | grep -qi '^WWW-Authenticate: Bearer'" - "$HH"
http POST /get-online-features "$GOOD" -H 'Authorization: Bearer read-token-'
expect_http "a wrong token (a prefix of a real one): 401" 401 '"code":"unauthorized"'
http POST /get-online-features "$GOOD" -H 'Authorization: Bearer read-token-11'
expect_http "a wrong token (longer than a real one): 401" 401 '"code":"unauthorized"'
http POST /get-online-features "$GOOD" -H 'Authorization: Basic cmVhZC10b2tlbi0x'
expect_http "not a bearer token: 401, saying so" 401 'is not a bearer token'
http POST /get-online-features "$GOOD" -H "$R"
expect_http "read token: get-online-features 200" 200 '"conv_rate"'
http POST /get-online-features "$GOOD" -H 'authorization: bearer   read-token-1  '
expect_http "header and scheme in any case, spaces around the token" 200 '"conv_rate"'
http POST /push "$PUSH" -H "$R"
expect_http "read token: push 403" 403 '"code":"forbidden"'
check "  ... naming the role needed" body_has "write role"
http POST /push "$PUSH" -H "$W"
expect_http "write token: push 200" 200 ""
http POST /get-online-features "$GOOD" -H "$W"
expect_http "write token: get-online-features 200" 200 '"conv_rate"'
http POST /write-to-online-store '{"feature_view_name":"driver_hourly_stats","df":{"driver_id":[1001],"event_timestamp":["2026-11-30T10:00:00Z"],"conv_rate":[0.5],"acc_rate":[0.5],"avg_daily_trips":[1]}}' -H "$W"
expect_http "write token: write-to-online-store 200" 200 "null"
http POST /materialize "$MAT" -H "$W"
expect_http "write token: materialize 403" 403 "admin role"
http POST /materialize "$MAT" -H "$A"
expect_http "admin token: materialize 200" 200 "null"
http POST /materialize-incremental '{"end_ts":"2030-01-01T00:00:00Z"}' -H "$A"
expect_http "admin token: materialize-incremental 200" 200 "null"
http GET /metrics ""
expect_http "/metrics without a token: 401" 401 '"code":"unauthorized"'
http GET /metrics "" -H "$R"
expect_http "/metrics with a read token: 200" 200 "moonfeast_http_requests_total"
check "  ... three reads of one row and one feature: 3 rows, 3 values (join keys not counted)" \
    body_has "moonfeast_entity_rows_total 3" "moonfeast_feature_values_total 3"
http POST /get-online-features "$GOOD" -H "$R"
check "the access log never holds a token" sh -c '! grep -q "token-" server.log'
stop_server
check "exit 0" test "$SRC" = 0
check_log server.log

# metrics_public, TLS from the configuration
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1
check "a self-signed certificate" test -s cert.pem
cat >>feature_store.yaml <<'EOF'
  metrics_public: true
  tls_key: key.pem
  tls_cert: cert.pem
EOF
start_server tls.log --threads 2
check "serve over TLS" grep -q "serving on https://" tls.log
SCHEME=https
CURL_TLS="--cacert cert.pem"
http GET /metrics ""
expect_http "TLS: /metrics public" 200 "moonfeast_http_requests_total"
http POST /get-online-features "$GOOD" -H "$R"
expect_http "TLS: get-online-features with a token" 200 '"conv_rate"'
http POST /get-online-features "$GOOD"
expect_http "TLS: no token, 401" 401 "unauthorized"
CODE=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SPORT/health")
check "plain HTTP to the TLS port gets no answer" test "$CODE" != 200
stop_server
check "TLS: exit 0" test "$SRC" = 0
check_log tls.log
SCHEME=http
CURL_TLS=

# --key/--cert on the command line, over the plain configuration
cp plain.yaml feature_store.yaml
start_server tls2.log --key key.pem --cert cert.pem
SCHEME=https
CURL_TLS="--cacert cert.pem"
http POST /get-online-features "$GOOD"
expect_http "TLS from --key/--cert, no auth" 200 '"conv_rate"'
stop_server
SCHEME=http
CURL_TLS=
run "$MF" serve -p 0 --key key.pem
expect_err "--key without --cert" 2 "give --key and --cert together"
run "$MF" serve -p 0 --key nope.pem --cert cert.pem
expect_err "a missing key file" 1 "nope.pem"
run "$MF" serve -p 0 --threads 0
expect_err "--threads 0" 2 "--threads takes a whole number"
run "$MF" serve -p 70000
expect_err "a port out of range" 2 "--port"
run "$MF" serve --bogus
expect_err "an unknown option" 2 "unexpected argument '--bogus'"
run "$MF" serve -h 203.0.113.1 -p 0
expect_err "an address not on this machine" 1 "cannot listen on 203.0.113.1"
run "$MF" serve --help
check "serve --help" sh -c 'printf "%s" "$1" | grep -q "Usage: moonfeast serve"' - "$OUT"

# bad auth configurations are refused, naming the key and line
cp plain.yaml feature_store.yaml
printf 'feature_server:\n  auth:\n    tokens:\n      - {token: abc, role: root}\n' >>feature_store.yaml
run "$MF" serve -p 0
expect_err "an unknown role" 1 "feature_server.auth.tokens[0].role"
cp plain.yaml feature_store.yaml
printf 'feature_server:\n  auth:\n    tokens:\n      - {token: "${MF_TEST_UNSET_VAR}", role: read}\n' >>feature_store.yaml
run "$MF" serve -p 0
expect_err "a token from an unset variable" 1 "MF_TEST_UNSET_VAR"
# a bad online store configuration fails before listening (the server
# started, and every read of a view was a 500 "internal")
sed 's/^online_store:$/online_store:\n  connection_string: "127.0.0.1:notaport"/; s/type: sqlite/type: redis/; /path: data\/online.db/d' plain.yaml >feature_store.yaml
run timeout 20 "$MF" serve -p 0
expect_err "a bad online_store.connection_string" 1 "online_store.connection_string: bad port"
cp plain.yaml feature_store.yaml
printf 'feature_server:\n  auth:\n    tokens:\n      - {token: abc, role: read}\n      - {token: abc, role: admin}\n' >>feature_store.yaml
run "$MF" serve -p 0
expect_err "the same token twice" 1 "the same token as tokens[0]"
cp plain.yaml feature_store.yaml
printf 'feature_server:\n  auth:\n    tokens: []\n' >>feature_store.yaml
run "$MF" serve -p 0
expect_err "an empty token list" 1 "feature_server.auth.tokens"
cp plain.yaml feature_store.yaml
printf 'feature_server:\n  tls_key: key.pem\n' >>feature_store.yaml
run "$MF" serve -p 0
expect_err "tls_key without tls_cert" 1 "tls_key and tls_cert together"
cp plain.yaml feature_store.yaml
printf 'feature_server:\n  max_body_bytes: 10\n' >>feature_store.yaml
run "$MF" serve -p 0
expect_err "max_body_bytes below its minimum" 1 "feature_server.max_body_bytes"
cp plain.yaml feature_store.yaml

# the server against Redis
if ! command -v redis-server >/dev/null 2>&1; then
    not_ok "redis-server is installed (make deps)"
    exit 0
fi
start_redis || { not_ok "start redis-server" "$(cat "$WORK/redis/log")"; exit 0; }
cat >feature_store.yaml <<EOF
project: $(sed -n 's/^project: *//p' plain.yaml)
registry: data/registry.db
online_store:
  type: redis
  connection_string: "127.0.0.1:$PORT"
  command_timeout_ms: 500
EOF
run "$MF" apply
expect_rc "apply (Redis)" 0
run "$MF" materialize 2020-01-01T00:00:00Z 2030-01-01T00:00:00Z
expect_rc "materialize (Redis)" 0
start_server redis.log --threads 2
http GET /health ""
expect_http "Redis: /health 200" 200 '"ok"'
run "$MF" get-online-features -e driver_id=1001,val_to_add=1,val_to_add_2=2 -e driver_id=1005,val_to_add=3,val_to_add_2=4 \
    --feature-service driver_activity_v1
cli=$OUT
http POST /get-online-features '{"entities":{"driver_id":[1001,1005],"val_to_add":[1,3],"val_to_add_2":[2,4]},"feature_service":"driver_activity_v1"}'
expect_http_body "Redis: the CLI's answer, transform included" 200 "$cli"
http POST /push "$PUSH"
expect_http "Redis: push 200" 200 ""
http POST /get-online-features '{"entities":{"driver_id":[1001]},"features":["driver_hourly_stats_fresh:conv_rate"]}'
expect_http "Redis: the pushed value read back" 200 '"values":[0.5]'
stop_redis
http GET /health ""
expect_http "Redis gone: /health 503" 503 '"code":"unavailable"'
http POST /get-online-features "$GOOD"
expect_http "Redis gone: get-online-features 503 naming Redis" 503 "Redis at 127.0.0.1:$PORT"
http GET /metrics ""
expect_http "Redis gone: the server still answers; store errors counted" 200 "moonfeast_store_errors_total 2"
stop_server
check "Redis: exit 0" test "$SRC" = 0
check_log redis.log
