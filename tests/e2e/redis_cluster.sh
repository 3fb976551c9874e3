# redis_cluster.sh — the Redis online store on a Redis Cluster through the
# real CLI.
#
# A cluster of 3 masters and 3 replicas that this script starts on free
# loopback ports (lib.sh: start_redis_cluster) and always stops by PID. Two
# copies of the quickstart repo (`moonfeast init`, one project name): one
# keeps the default SQLite online store, the other is switched to
# online_store {type: redis, redis_type: redis_cluster, connection_string:
# two of the nodes}. Both apply and materialize the same window;
# get-online-features must print the same JSON. Then: the keys are Feast's
# and live on the masters their slots say, delete of one view removes only
# its fields, teardown leaves every master empty, and a cluster that cannot
# be reached is a clear error. Skipped (saying so) without redis-server or
# redis-cli.
. "$(dirname "$0")/lib.sh"
case $MF in /*) ;; */*) MF=$OLDPWD/$MF ;; esac

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    echo "# skipped: redis-server or redis-cli is missing (Debian package redis-server)"
    exit 0
fi

trap 'stop_redis_cluster; rm -rf "$WORK"' EXIT
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

if ! start_redis_cluster 3 1; then
    not_ok "start a Redis Cluster (3 masters, 3 replicas)" \
        "$(tail -5 "$WORK/cluster/create.log" 2>/dev/null)"
    exit 1
fi
MASTERS=$(cluster_masters)
check "3 masters" test "$(echo $MASTERS | wc -w)" = 3
# any node, following redirections
ccli() {
    set -- $CLUSTER_PORTS
    redis-cli -c -h 127.0.0.1 -p "$1"
}

#---- two repos, one project ---------------------------------------------------

r "$MF" init sq --project drivers
r "$MF" init rc --project drivers
sed -e '/^online_store:/,/^offline_store:/{/^online_store:/!{/^offline_store:/!d}}' \
    -e "s|^online_store:.*|online_store:\\n  type: redis\\n  redis_type: redis_cluster\\n  connection_string: \"$CLUSTER_SEEDS\"|" \
    sq/feature_store.yaml >rc/feature_store.yaml
check "repo switched to redis_cluster" grep -q "redis_type: redis_cluster" rc/feature_store.yaml

for d in sq rc; do
    r "$MF" -C $d apply
    expect_rc "apply ($d)" 0
    r "$MF" -C $d materialize 2025-01-01T00:00:00Z 2025-01-10T00:00:00Z
    expect_rc "materialize ($d)" 0
done

FEATS="-f driver_hourly_stats:conv_rate -f driver_hourly_stats:acc_rate -f driver_hourly_stats:avg_daily_trips -f driver_hourly_stats_fresh:conv_rate"
ENTS="-e driver_id=1001 -e driver_id=1005 -e driver_id=9999 -e driver_id=1010 -e driver_id=1002 -e driver_id=1007"
# shellcheck disable=SC2086
r "$MF" -C sq get-online-features $ENTS $FEATS --full-feature-names
SQ_OUT=$OUT
expect_rc "get-online-features (sqlite)" 0
# shellcheck disable=SC2086
r "$MF" -C rc get-online-features $ENTS $FEATS --full-feature-names
expect_out "get-online-features: the cluster gives sqlite's JSON" "$SQ_OUT"
has_rows() { printf '%s' "$SQ_OUT" | grep -q '"values":\[0\.[0-9]*,0\.[0-9]*,null,0\.[0-9]*'; }
check "the answer has the stored rows (and 9999 not found)" has_rows

r "$MF" -C sq get-online-features $ENTS --feature-service driver_activity_v2 --full-feature-names
SQ_OUT=$OUT
r "$MF" -C rc get-online-features $ENTS --feature-service driver_activity_v2 --full-feature-names
expect_out "feature service: the cluster gives sqlite's JSON" "$SQ_OUT"

#---- where the keys are ------------------------------------------------------------

total=0
for p in $MASTERS; do
    n=$(redis-cli -h 127.0.0.1 -p "$p" dbsize)
    total=$((total + n))
done
check "10 driver keys over the masters" test "$total" = 10
# each key on the master that owns its slot (CLUSTER KEYSLOT; the slot
# ranges of the master's own line of CLUSTER NODES)
owns() { # PORT SLOT
    redis-cli -h 127.0.0.1 -p "$1" cluster nodes | awk -v s="$2" '
        /myself/ { for (i = 9; i <= NF; i++) { n = split($i, r, "-"); if (n == 1) r[2] = r[1]
                   if (s + 0 >= r[1] + 0 && s + 0 <= r[2] + 0) f = 1 } }
        END { exit !f }'
}
keys_placed() {
    for p in $MASTERS; do
        redis-cli -h 127.0.0.1 -p "$p" --no-raw --scan >"$WORK/.keys" || return 1
        while IFS= read -r k; do
            slot=$(printf 'CLUSTER KEYSLOT %s\n' "$k" | redis-cli -h 127.0.0.1 -p "$p")
            owns "$p" "$slot" || { echo "# key $k (slot $slot) is on $p"; return 1; }
        done <"$WORK/.keys"
    done
}
check "every key on the master of its slot" keys_placed
PREFIX='"\x01\x00\x00\x00\x02\x00\x00\x00\t\x00\x00\x00driver_id\x04\x00\x00\x00\b\x00\x00\x00'
K1001=$PREFIX'\xe9\x03\x00\x00\x00\x00\x00\x00drivers"'
hlen1001() { printf '%s\n' "HLEN $K1001" | ccli; }
check "HLEN of driver 1001 is 10 (Feast's key; two views: 3 features, _ts, _created_ts each)" \
    test "$(hlen1001)" = 10

#---- a delete while slots move ---------------------------------------------------------
# SCAN sees a node's keys at one moment: a key moved from a master not yet
# scanned to one already scanned would keep the deleted view's fields (and
# a view of that name created again would read them back). While a slot is
# being moved (MIGRATING on its master, IMPORTING on another), or when the
# slot map changed during the pass, delete fails instead of saying done.

set -- $MASTERS
SRC=$1 DST=$2
slot=$(redis-cli -h 127.0.0.1 -p "$SRC" cluster nodes | awk '/myself/ { split($9, r, "-"); print r[1] }')
src_id=$(redis-cli -h 127.0.0.1 -p "$SRC" cluster myid)
dst_id=$(redis-cli -h 127.0.0.1 -p "$DST" cluster myid)
redis-cli -h 127.0.0.1 -p "$DST" cluster setslot "$slot" importing "$src_id" >/dev/null
redis-cli -h 127.0.0.1 -p "$SRC" cluster setslot "$slot" migrating "$dst_id" >/dev/null
r "$MF" -C rc delete driver_hourly_stats_fresh
expect_err "delete while a slot is being moved: an error, not 'Deleted'" 1 "being moved"
redis-cli -h 127.0.0.1 -p "$SRC" cluster setslot "$slot" stable >/dev/null
redis-cli -h 127.0.0.1 -p "$DST" cluster setslot "$slot" stable >/dev/null
r "$MF" -C rc get-online-features -e driver_id=1001 -f driver_hourly_stats_fresh:conv_rate
expect_rc "  ... the view is still registered" 0

#---- delete one view, teardown ---------------------------------------------------------

r "$MF" -C rc delete driver_hourly_stats_fresh
expect_rc "delete driver_hourly_stats_fresh" 0
check "HLEN of driver 1001 is 5 after the delete" test "$(hlen1001)" = 5
FEATS2="-f driver_hourly_stats:conv_rate -f driver_hourly_stats:acc_rate -f driver_hourly_stats:avg_daily_trips"
# shellcheck disable=SC2086
r "$MF" -C sq get-online-features $ENTS $FEATS2
SQ_OUT=$OUT
# shellcheck disable=SC2086
r "$MF" -C rc get-online-features $ENTS $FEATS2
expect_out "the kept view reads as before" "$SQ_OUT"

r "$MF" -C rc teardown
expect_rc "teardown" 0
left=0
for p in $MASTERS; do left=$((left + $(redis-cli -h 127.0.0.1 -p "$p" dbsize))); done
check "teardown leaves no key on any master" test "$left" = 0

#---- the cluster away --------------------------------------------------------------------

r "$MF" -C rc apply # the definitions again (Redis needs nothing created)
expect_rc "apply again" 0
stop_redis_cluster
# shellcheck disable=SC2086
r "$MF" -C rc get-online-features $ENTS $FEATS2
if [ "$RC" -ne 0 ] && printf '%s' "$ERR" | grep -qF "no node gave the slot map" &&
    printf '%s' "$ERR" | grep -qF "${CLUSTER_SEEDS%%,*}" && printf '%s' "$ERR" | grep -q "refused"; then
    ok "cluster down: a clear error naming the nodes"
else
    not_ok "cluster down: a clear error naming the nodes" "exit $RC" "stderr: $ERR"
fi

if grep -qE 'AddressSanitizer|runtime error:|Segmentation|LeakSanitizer' "$ALL"; then
    not_ok "no sanitizer report or crash" "$(grep -E 'AddressSanitizer|runtime error:|Segmentation|LeakSanitizer' "$ALL" | head -5)"
else
    ok "no sanitizer report or crash"
fi
