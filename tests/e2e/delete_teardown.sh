# delete_teardown.sh — `moonfeast delete` and `moonfeast teardown` when the
# online store fails at that moment (docs/concepts.md, "plan, apply,
# delete, teardown").
#
# A failed delete or teardown must leave a state that a rerun finishes, and
# the old online values of a deleted view must never be served again (a
# re-apply of the same definition followed by get-online-features reports
# NOT_FOUND). Over the quickstart repo (`moonfeast init`, project
# "drivers"), twice:
#   - SQLite online store: another process (the sqlite3 CLI, fed through a
#     FIFO) holds data/online.db with BEGIN IMMEDIATE past moonfeast's busy
#     timeout;
#   - Redis online store (a redis-server this script starts on a free
#     loopback port): the server is stopped (after a SAVE) and started again
#     on the same port from its dump, so the data survives the outage.
# Cases for each: a delete of driver_hourly_stats_fresh fails with exit 1
# and names the store, the view is still registered and still served; the
# rerun with the store back succeeds; re-apply + read: NOT_FOUND. The same
# for teardown (both views of the project). Each holder process is stopped
# by its PID.
. "$(dirname "$0")/lib.sh"

HPID= # the sqlite3 process holding the lock
release_lock() {
    if [ -n "$HPID" ]; then
        exec 3>&-
        wait "$HPID" 2>/dev/null
        HPID=
    fi
}
trap 'release_lock; stop_redis; rm -rf "$WORK"' EXIT
trap 'exit 1' INT TERM HUP

ALL=$WORK/.all
r() {
    run "$@"
    printf '%s\n' "$ERR" >>"$ALL"
}

iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
NOW=$(date -u +%s)
B=$(iso $((NOW - 3600)))
Z=1970-01-01T00:00:00Z
cp "$E2E_DIR/rows.awk" "$WORK/rows.awk"

# online VIEW: the rows.awk line of driver 1001 for VIEW's three features
online() {
    r "$MF" get-online-features -e driver_id=1001 -f "$1:conv_rate" -f "$1:acc_rate" \
        -f "$1:avg_daily_trips"
    if [ "$RC" -ne 0 ]; then echo "get-online-features failed: $ERR"; return; fi
    printf '%s\n' "$OUT" | awk -f "$WORK/rows.awk"
}
PRESENT="1001|PRESENT|$Z|0.5|PRESENT|$B|0.25|PRESENT|$B|42|PRESENT|$B"
MISSING="1001|PRESENT|$Z|null|NOT_FOUND|$Z|null|NOT_FOUND|$Z|null|NOT_FOUND|$Z"
expect_online() { # NAME VIEW WANT
    got=$(online "$2")
    if [ "$got" = "$3" ]; then ok "$1"; else not_ok "$1" "got:  $got" "want: $3"; fi
}
expect_listed() { # NAME VIEW: the view is (still) registered
    r "$MF" feature-views list
    if [ "$RC" -eq 0 ] && printf '%s\n' "$OUT" | grep -q "^$2\b"; then
        ok "$1"
    else
        not_ok "$1" "exit $RC" "stdout: $OUT" "stderr: $ERR"
    fi
}

# fill: driver 1001's values in both views of the quickstart
fill() {
    printf '%s\n' driver_id,event_timestamp,created,conv_rate,acc_rate,avg_daily_trips \
        "1001,$B,$B,0.5,0.25,42" >rows.csv
    r "$MF" push driver_stats_push_source --file rows.csv --to online
    expect_rc "push to the fresh view ($1)" 0
    r "$MF" write-to-online-store driver_hourly_stats --file rows.csv
    expect_rc "write to the batch view ($1)" 0
    expect_online "the fresh view serves the values ($1)" driver_hourly_stats_fresh "$PRESENT"
    expect_online "the batch view serves the values ($1)" driver_hourly_stats "$PRESENT"
}

# mkrepo DIR [REDIS-PORT]: the quickstart, applied
mkrepo() {
    r "$MF" init "$WORK/$1" --project drivers
    [ "$RC" -eq 0 ] || not_ok "init $1" "stderr: $ERR"
    cd "$WORK/$1" || exit 1
    if [ -n "${2:-}" ]; then
        sed -e '/^online_store:/,/^offline_store:/{/^online_store:/!{/^offline_store:/!d}}' \
            -e "s|^online_store:.*|online_store:\\n  type: redis\\n  connection_string: \"127.0.0.1:$2,db=0\"|" \
            feature_store.yaml >.yaml && mv .yaml feature_store.yaml
    fi
    r "$MF" apply
    expect_rc "apply ($1)" 0
}

# suite LABEL BREAK MEND MESSAGE: BREAK makes the online store fail, MEND
# brings it back; MESSAGE is part of the error the store then gives.
suite() {
    L=$1
    brk=$2
    mend=$3
    msg=$4

    #---- delete

    fill "$L"
    $brk
    r "$MF" delete driver_hourly_stats_fresh
    expect_err "delete while the online store fails: exit 1, the store's error ($L)" 1 "$msg"
    expect_err "... and says that nothing was deleted ($L)" 1 \
        "cannot delete feature view 'driver_hourly_stats_fresh': its online data could not be dropped (nothing was deleted"
    $mend
    expect_listed "failed delete: the view is still registered ($L)" driver_hourly_stats_fresh
    expect_online "failed delete: the view still serves its values ($L)" \
        driver_hourly_stats_fresh "$PRESENT"
    r "$MF" delete driver_hourly_stats_fresh
    expect_rc "delete rerun with the store back ($L)" 0
    r "$MF" feature-views list
    if printf '%s\n' "$OUT" | grep -q '^driver_hourly_stats_fresh\b'; then
        not_ok "the rerun deleted the view ($L)" "stdout: $OUT"
    else
        ok "the rerun deleted the view ($L)"
    fi
    r "$MF" apply
    expect_rc "re-apply of the deleted view ($L)" 0
    expect_online "re-applied view: NOT_FOUND, never the old values ($L)" \
        driver_hourly_stats_fresh "$MISSING"
    expect_online "delete left the other view's values alone ($L)" driver_hourly_stats "$PRESENT"

    #---- teardown

    fill "$L"
    $brk
    r "$MF" teardown
    expect_err "teardown while the online store fails: exit 1, the store's error ($L)" 1 "$msg"
    expect_err "... and says that nothing was deleted ($L)" 1 \
        "cannot tear down project 'drivers': its online data could not be dropped (nothing was deleted"
    $mend
    expect_listed "failed teardown: the project is still registered ($L)" driver_hourly_stats
    expect_online "failed teardown: values still served ($L)" driver_hourly_stats "$PRESENT"
    r "$MF" teardown
    expect_rc "teardown rerun with the store back ($L)" 0
    r "$MF" feature-views list
    if [ "$RC" -eq 0 ] && [ -z "$(printf '%s\n' "$OUT" | grep driver_hourly)" ]; then
        ok "the rerun tore the project down ($L)"
    else
        not_ok "the rerun tore the project down ($L)" "exit $RC" "stdout: $OUT"
    fi
    r "$MF" apply
    expect_rc "re-apply after teardown ($L)" 0
    expect_online "after teardown + apply: NOT_FOUND in the fresh view ($L)" \
        driver_hourly_stats_fresh "$MISSING"
    expect_online "after teardown + apply: NOT_FOUND in the batch view ($L)" \
        driver_hourly_stats "$MISSING"
}

#---- SQLite: another process holds the database

lock_sqlite() {
    rm -f "$WORK/hold" "$WORK/hold.out"
    mkfifo "$WORK/hold"
    sqlite3 data/online.db <"$WORK/hold" >"$WORK/hold.out" 2>&1 &
    HPID=$!
    exec 3>"$WORK/hold"
    printf 'BEGIN IMMEDIATE;\nSELECT '"'"'locked'"'"';\n' >&3
    n=0
    while ! grep -q locked "$WORK/hold.out" 2>/dev/null && [ $n -lt 200 ]; do
        sleep 0.05
        n=$((n + 1))
    done
    grep -q locked "$WORK/hold.out" || not_ok "lock data/online.db" "$(cat "$WORK/hold.out")"
}
unlock_sqlite() {
    printf 'COMMIT;\n' >&3
    release_lock
}

mkrepo sq
suite sqlite lock_sqlite unlock_sqlite "database is locked"

#---- Redis: the server stops

RDIR=$WORK/redis
redis_down() {
    redis-cli -h 127.0.0.1 -p "$PORT" SAVE >/dev/null
    stop_redis
}
redis_up() { # the same port and folder: the dump brings the data back
    redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$RDIR" \
        >>"$RDIR/log" 2>&1 &
    RPID=$!
    n=0
    while [ "$(redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null)" != PONG ] && [ $n -lt 100 ]; do
        sleep 0.05
        n=$((n + 1))
    done
}

start_redis
if [ -z "$PORT" ]; then
    not_ok "start redis-server" "$(tail -5 "$RDIR/log" 2>/dev/null)"
else
    mkrepo rd "$PORT"
    suite redis redis_down redis_up "127.0.0.1:$PORT"
    stop_redis
fi

if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:|Segmentation|core dumped' "$ALL"; then
    not_ok "no sanitizer report or crash in any run" \
        "$(grep -E -m5 'AddressSanitizer|LeakSanitizer|runtime error:|Segmentation|core dumped' "$ALL")"
else
    ok "no sanitizer report or crash in any run"
fi
