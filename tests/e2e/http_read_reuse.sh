# http_read_reuse.sh — what a reader of `moonfeast serve` sees when the
# server reuses its SQLite read transactions (feature_server.read_reuse_us,
# here 1 s so that a reuse that missed a write would show): a push or write
# over HTTP is read back at once, by either worker thread, many times over;
# a write by another process (the CLI's push) is read once the bound has
# passed; an idle server pins no snapshot (the online store's WAL can be
# checkpointed to nothing while it serves). With read_reuse_us: 0 the same
# reads hold.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/http_lib.sh"
trap 'stop_server; rm -rf "$WORK"' EXIT

run "$MF" init repo
cd repo || exit 1
run "$MF" apply
expect_rc "apply" 0
cp feature_store.yaml feature_store.yaml.orig


# push_http I: push conv_rate 0.I, avg_daily_trips I for driver $D at
# second I of 2026-11-30T10:00 (each newer than the one before)
push_http() {
    ts=$(printf '2026-11-30T10:00:%02dZ' "$1")
    http POST /push "{\"push_source_name\":\"driver_stats_push_source\",\"df\":{\"driver_id\":[$D],\"event_timestamp\":[\"$ts\"],\"created\":[\"$ts\"],\"conv_rate\":[0.$1],\"acc_rate\":[0.5],\"avg_daily_trips\":[$1]},\"to\":\"online\"}"
}

# one_server REUSE DRIVER: the checks against a server with read_reuse_us
# REUSE, on rows of driver DRIVER
one_server() {
    L="read_reuse_us $1"
    D=$2
    READ="{\"entities\":{\"driver_id\":[$D]},\"features\":[\"driver_hourly_stats_fresh:conv_rate\",\"driver_hourly_stats_fresh:avg_daily_trips\"]}"
    cp feature_store.yaml.orig feature_store.yaml
    printf 'feature_server:\n  read_reuse_us: %s\n' "$1" >>feature_store.yaml
    start_server "server_$1.log" --threads 2 --registry-ttl 0
    check "serve starts ($L)" test -n "$SPORT"
    # both threads read (and, with reuse, hold a read) before the pushes
    for i in 1 2 3 4 5 6; do http POST /get-online-features "$READ"; done
    # a push, then at once reads over new connections (either thread):
    # every one sees the push
    bad=
    for i in 1 2 3 4 5 6 7 8; do
        push_http "$i"
        [ "$CODE" = 200 ] || bad="$bad push$i:$CODE"
        for j in 1 2 3; do
            http POST /get-online-features "$READ"
            body_has "\"values\":[0.$i]" "\"values\":[$i]" || bad="$bad read$i.$j"
        done
    done
    check "a push over HTTP is read back at once, by every thread ($L)${bad:+: missed$bad}" test -z "$bad"
    # write-to-online-store the same way
    http POST /write-to-online-store '{"feature_view_name":"driver_hourly_stats_fresh","df":{"driver_id":['"$D"'],"event_timestamp":["2026-11-30T11:00:00Z"],"conv_rate":[0.875],"acc_rate":[0.5],"avg_daily_trips":[42]}}'
    bad=
    for j in 1 2 3 4; do
        http POST /get-online-features "$READ"
        body_has '"values":[0.875]' '"values":[42]' || bad="$bad read$j"
    done
    check "write-to-online-store is read back at once ($L)${bad:+: missed$bad}" test -z "$bad"
    # another process writes: seen once the bound (at most 1 s) has passed
    want=$((D - 930))
    printf 'driver_id,event_timestamp,created,conv_rate,acc_rate,avg_daily_trips\n%s,2026-11-30T12:00:00Z,2026-11-30T12:00:00Z,0.0625,0.5,%s\n' "$D" "$want" >other.csv
    run "$MF" push driver_stats_push_source --file other.csv --to online
    expect_rc "another process pushes ($L)" 0
    sleep 1.2
    bad=
    for j in 1 2 3 4; do
        http POST /get-online-features "$READ"
        body_has '"values":[0.0625]' "\"values\":[$want]" || bad="$bad read$j"
    done
    check "another process's push is read after the bound ($L)${bad:+: missed$bad}" test -z "$bad"
    # idle past the bound: no read is held (the sweeper ended them), so the
    # WAL of the online store checkpoints to its end while the server runs
    sleep 1.3
    busy=$(sqlite3 data/online.db 'PRAGMA wal_checkpoint(TRUNCATE);' 2>&1 | cut -d'|' -f1)
    check "an idle server holds no read: the checkpoint completes ($L; busy=$busy)" test "$busy" = 0
    http POST /get-online-features "$READ"
    expect_http "still answering after the checkpoint ($L)" 200 "\"values\":[$want]"
    stop_server
    check "stops with status 0 ($L)" test "$SRC" = 0
    check_log "server_$1.log"
}

if command -v sqlite3 >/dev/null 2>&1; then
    one_server 1000000 1001
    one_server 0 1002
else
    ok "# SKIP: no sqlite3 command"
fi
