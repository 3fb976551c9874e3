# redis_online.sh — the Redis online store through the real CLI.
#
# Two copies of the quickstart repo (`moonfeast init`, one project name):
# one keeps the default SQLite online store, the other is switched to
# online_store type redis at a redis-server this script starts on a free
# loopback port (--save '' --appendonly no) and always stops. Both apply and
# materialize the same window; get-online-features must print the same JSON.
# Then: the keys are Feast's (redis-cli), delete of one view removes only
# its fields (HLEN before/after), a stopped server is a clear error, and
# teardown leaves the database empty.
. "$(dirname "$0")/lib.sh"
case $MF in /*) ;; */*) MF=$OLDPWD/$MF ;; esac

trap 'stop_redis; rm -rf "$WORK"' EXIT
trap 'exit 1' INT TERM HUP

ALL=$WORK/.all # every output of every run, checked at the end
r() {
    run "$@"
    printf '%s\n%s\n' "$OUT" "$ERR" >>"$ALL"
}
check() { # NAME CONDITION-COMMAND...
    name=$1
    shift
    if "$@"; then ok "$name"; else not_ok "$name" "failed: $*" "stdout: $OUT" "stderr: $ERR"; fi
}
rcli() { redis-cli -h 127.0.0.1 -p "$PORT" "$@"; }

# start redis-server on the first free port of a few tries
start_redis
if [ -z "$PORT" ]; then
    not_ok "start redis-server" "$(tail -5 "$WORK/redis/log" 2>/dev/null)"
    exit 1
fi

#---- two repos, one project ---------------------------------------------------

r "$MF" init sq --project drivers
r "$MF" init rd --project drivers
# online_store: sqlite -> redis (the four lines of the template)
sed -e '/^online_store:/,/^offline_store:/{/^online_store:/!{/^offline_store:/!d}}' \
    -e "s|^online_store:.*|online_store:\\n  type: redis\\n  connection_string: \"127.0.0.1:$PORT,db=0\"\\n  key_ttl_seconds: 86400|" \
    sq/feature_store.yaml >rd/feature_store.yaml
check "repo switched to redis" grep -q "type: redis" rd/feature_store.yaml
check "no sqlite path left" test -z "$(grep 'path: data/online.db' rd/feature_store.yaml)"

for d in sq rd; do
    r "$MF" -C $d apply
    expect_rc "apply ($d)" 0
    r "$MF" -C $d materialize 2025-01-01T00:00:00Z 2025-01-10T00:00:00Z
    expect_rc "materialize ($d)" 0
done

check "10 driver keys in redis" test "$(rcli dbsize)" = 10

FEATS="-f driver_hourly_stats:conv_rate -f driver_hourly_stats:acc_rate -f driver_hourly_stats:avg_daily_trips -f driver_hourly_stats_fresh:conv_rate"
ENTS="-e driver_id=1001 -e driver_id=1005 -e driver_id=9999 -e driver_id=1010"
# shellcheck disable=SC2086
r "$MF" -C sq get-online-features $ENTS $FEATS --full-feature-names
SQ_OUT=$OUT
expect_rc "get-online-features (sqlite)" 0
# shellcheck disable=SC2086
r "$MF" -C rd get-online-features $ENTS $FEATS --full-feature-names
expect_out "get-online-features: redis gives sqlite's JSON" "$SQ_OUT"
has_rows() { printf '%s' "$SQ_OUT" | grep -q '"values":\[0\.[0-9]*,0\.[0-9]*,null,0\.[0-9]*\]'; }
check "the answer has the stored rows (and 9999 not found)" has_rows

r "$MF" -C sq get-online-features $ENTS --feature-service driver_activity_v2 --full-feature-names
SQ_OUT=$OUT
r "$MF" -C rd get-online-features $ENTS --feature-service driver_activity_v2 --full-feature-names
expect_out "feature service: redis gives sqlite's JSON" "$SQ_OUT"

#---- Feast's layout -------------------------------------------------------------

# every key: v3 entity key of driver_id (docs/concepts.md, "Online stores") + "drivers",
# as redis-cli --no-raw escapes binary keys
PREFIX='"\x01\x00\x00\x00\x02\x00\x00\x00\t\x00\x00\x00driver_id\x04\x00\x00\x00\b\x00\x00\x00'
keys_ok() {
    rcli --no-raw --scan >"$WORK/.keys"
    test "$(grep -cF -- "$PREFIX" "$WORK/.keys")" = 10 && test "$(grep -c 'drivers"$' "$WORK/.keys")" = 10
}
check "every key is a v3 entity key + project name" keys_ok
K1001=$PREFIX'\xe9\x03\x00\x00\x00\x00\x00\x00drivers"'
k1001() { rcli --no-raw --scan | grep -F -x -- "$K1001" >/dev/null; }
check "the key of driver_id=1001 is there" k1001
# 3 features + _ts for each of the two views
hlen1001() { printf '%s\n' "HLEN $K1001" | rcli; }
check "HLEN of driver 1001 is 10 (two views: 3 features, _ts, _created_ts each)" test "$(hlen1001)" = 10
ts_field() { printf '%s\n' "HEXISTS $K1001 _ts:$1" | rcli; }
check "_ts:driver_hourly_stats_fresh exists" test "$(ts_field driver_hourly_stats_fresh)" = 1
ttl1001() { printf '%s\n' "TTL $K1001" | rcli; }
t=$(ttl1001)
check "key_ttl_seconds sets the key's TTL" test "$t" -gt 86000 -a "$t" -le 86400

#---- delete one view: only its fields go -----------------------------------------

r "$MF" -C rd delete driver_hourly_stats_fresh
expect_rc "delete driver_hourly_stats_fresh" 0
check "HLEN of driver 1001 is 5 after the delete" test "$(hlen1001)" = 5
check "_ts:driver_hourly_stats_fresh is gone" test "$(ts_field driver_hourly_stats_fresh)" = 0
check "_ts:driver_hourly_stats stays" test "$(ts_field driver_hourly_stats)" = 1
check "still 10 keys" test "$(rcli dbsize)" = 10
FEATS2="-f driver_hourly_stats:conv_rate -f driver_hourly_stats:acc_rate -f driver_hourly_stats:avg_daily_trips"
# shellcheck disable=SC2086
r "$MF" -C sq get-online-features $ENTS $FEATS2
SQ_OUT=$OUT
# shellcheck disable=SC2086
r "$MF" -C rd get-online-features $ENTS $FEATS2
expect_out "the kept view reads as before" "$SQ_OUT"

#---- the server away -------------------------------------------------------------

stop_redis
# shellcheck disable=SC2086
r "$MF" -C rd get-online-features $ENTS $FEATS2
if [ "$RC" -ne 0 ] && printf '%s' "$ERR" | grep -qF "Redis at 127.0.0.1:$PORT" &&
    printf '%s' "$ERR" | grep -q "refused"; then
    ok "redis down: a clear error naming the address"
else
    not_ok "redis down: a clear error naming the address" "exit $RC" "stderr: $ERR"
fi
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK/redis" \
    >"$WORK/redis/log" 2>&1 &
RPID=$!
n=0
while [ $n -lt 100 ] && [ "$(rcli ping 2>/dev/null)" != PONG ]; do sleep 0.05; n=$((n + 1)); done
r "$MF" -C rd materialize 2025-01-01T00:00:00Z 2025-01-10T00:00:00Z
expect_rc "materialize again after the restart" 0
# shellcheck disable=SC2086
r "$MF" -C rd get-online-features $ENTS $FEATS2
expect_out "after the restart: the same JSON again" "$SQ_OUT"

#---- teardown ----------------------------------------------------------------------

r "$MF" -C rd teardown
expect_rc "teardown" 0
check "teardown leaves no key" test "$(rcli dbsize)" = 0

if grep -qE 'AddressSanitizer|runtime error:|Segmentation|LeakSanitizer' "$ALL"; then
    not_ok "no sanitizer report or crash" "$(grep -E 'AddressSanitizer|runtime error:|Segmentation|LeakSanitizer' "$ALL" | head -5)"
else
    ok "no sanitizer report or crash"
fi
