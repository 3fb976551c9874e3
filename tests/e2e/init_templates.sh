#!/bin/sh
# init_templates.sh — `moonfeast init -t local|redis`: each template's repo
# applies, materializes, and serves every object it defines (both feature
# views, the on-demand view with its request data, both feature services),
# and its push source takes rows that are then read back. The redis
# template runs against a redis-server of the test's own.
. "$(dirname "$0")/lib.sh"
trap 'stop_redis; rm -rf "$WORK"' EXIT

# has NAME TEXT: the last run exited 0 and its stdout holds TEXT
has() {
    if [ "$RC" -ne 0 ]; then
        not_ok "$1" "exit $RC" "stderr: $ERR"
    elif ! printf '%s' "$OUT" | grep -qF -- "$2"; then
        not_ok "$1" "stdout lacks: $2" "stdout: $OUT"
    else
        ok "$1"
    fi
}

serve_all() { # TEMPLATE: the repo in ./$1
    t=$1
    cd "$WORK/$t" || return
    run "$MF" apply
    expect_rc "$t: apply" 0
    run "$MF" materialize 2025-01-01T00:00:00Z 2025-01-06T00:00:00Z
    expect_rc "$t: materialize" 0
    # the last row of driver 1001 (2025-01-05T23:45:00Z) in the sample data
    last=$(grep '^1001,2025-01-05T23:45:00' data/driver_stats.csv)
    conv=$(echo "$last" | cut -d, -f4 | sed 's/0*$//')
    trips=$(echo "$last" | cut -d, -f6)
    run "$MF" get-online-features -e driver_id=1001 -f driver_hourly_stats:conv_rate \
        -f driver_hourly_stats:acc_rate -f driver_hourly_stats:avg_daily_trips
    has "$t: driver_hourly_stats serves the last materialized trips" "\"values\":[$trips]"
    has "$t: driver_hourly_stats serves the last event time" '"2025-01-05T23:45:00Z"'
    run "$MF" get-online-features -e driver_id=1001 --feature-service driver_activity_v2
    has "$t: feature service driver_activity_v2" "\"values\":[$trips]"
    run "$MF" get-online-features -e driver_id=1001,val_to_add=10,val_to_add_2=20 \
        --feature-service driver_activity_v1
    has "$t: feature service driver_activity_v1 names its features" \
        '"feature_names":["driver_id","conv_rate","conv_rate_plus_val1","conv_rate_plus_val2"]'
    got=$(printf '%s' "$OUT" | sed 's/.*"conv_rate_plus_val1"\]*//' | grep -o '"values":\[[0-9.]*\]' | sed -n 3p)
    want=$(awk -v c="$conv" 'BEGIN { printf "%.2f", c + 10 }')
    gotv=$(printf '%s' "$got" | grep -o '[0-9.]*' | head -1)
    if [ -n "$gotv" ] && [ "$(awk -v g="$gotv" 'BEGIN { printf "%.2f", g }')" = "$want" ]; then
        ok "$t: on-demand view transformed_conv_rate = conv_rate + val_to_add"
    else
        not_ok "$t: on-demand view transformed_conv_rate = conv_rate + val_to_add" \
            "want about $want" "stdout: $OUT"
    fi
    run "$MF" get-online-features -e driver_id=1001 -f driver_hourly_stats_fresh:avg_daily_trips
    has "$t: driver_hourly_stats_fresh serves its batch source's last row before a push" "\"values\":[$trips]"
    printf 'driver_id,event_timestamp,created,conv_rate,acc_rate,avg_daily_trips\n1001,2025-01-06T00:00:00Z,2025-01-06T00:00:01Z,0.5,0.25,4321\n' >push.csv
    run "$MF" push driver_stats_push_source --file push.csv --to online
    expect_rc "$t: push to driver_stats_push_source" 0
    run "$MF" get-online-features -e driver_id=1001 -f driver_hourly_stats_fresh:avg_daily_trips
    has "$t: driver_hourly_stats_fresh serves the pushed row" '"values":[4321]'
    cd "$WORK" || return
}

run "$MF" init local -t local
expect_rc "init -t local" 0
run "$MF" init plain --project local
if [ "$RC" -eq 0 ] && diff -r local plain >/dev/null; then
    ok "init without -t is the local template"
else
    not_ok "init without -t is the local template" "$(diff -r local plain | head -5)"
fi
serve_all local

run "$MF" init redis --template redis
has "init -t redis says where its online store is" "Redis server at localhost:6379"
if grep -q '^  type: redis$' redis/feature_store.yaml &&
    cmp -s redis/driver_repo.lua local/driver_repo.lua &&
    cmp -s redis/data/driver_stats.csv local/data/driver_stats.csv; then
    ok "init -t redis: a Redis online store, the same definitions and data"
else
    not_ok "init -t redis: a Redis online store, the same definitions and data" \
        "$(cat redis/feature_store.yaml)"
fi
if start_redis; then
    sed -i "s/localhost:6379/127.0.0.1:$PORT/" redis/feature_store.yaml
    serve_all redis
    n=$(redis-cli -h 127.0.0.1 -p "$PORT" dbsize)
    if [ "$n" -ge 10 ]; then ok "redis: the values live in Redis ($n keys)"; else not_ok "redis: the values live in Redis" "dbsize $n"; fi
    if [ ! -e redis/data/online.db ]; then ok "redis: no SQLite online file"; else not_ok "redis: no SQLite online file"; fi
    stop_redis
else
    not_ok "redis-server starts" "$(cat "$WORK/redis/log" 2>/dev/null)"
fi

run "$MF" init bad -t bogus
expect_err "init -t with an unknown template" 2 "unknown template 'bogus' (expected one of: local, redis)"
if [ ! -e bad ]; then ok "a refused template writes nothing"; else not_ok "a refused template writes nothing"; fi
run "$MF" init bad -t
expect_err "init -t without a value" 2 "-t needs a value"

# init never writes over a file: without feature_store.yaml, the
# definitions and the data there (edited, pushed to) stay as they are
run "$MF" init keep
echo '-- my edit' >>keep/driver_repo.lua
rm keep/feature_store.yaml
run "$MF" init keep -t redis
expect_err "init where the definitions exist" 1 "keep/driver_repo.lua already exists"
check "  ... the edited definitions are kept" test "$(tail -n 1 keep/driver_repo.lua)" = "-- my edit"
check "  ... and no feature_store.yaml written" test ! -e keep/feature_store.yaml
rm keep/driver_repo.lua
lines=$(wc -l <keep/data/driver_stats.csv)
echo '1001,2025-01-09T00:00:00Z,2025-01-09T00:00:00Z,0.5,0.5,5' >>keep/data/driver_stats.csv
run "$MF" init keep
expect_err "init where the data exists" 1 "keep/data/driver_stats.csv already exists"
check "  ... the data is kept" test "$(wc -l <keep/data/driver_stats.csv)" = $((lines + 1))
rm keep/data/driver_stats.csv
ln -s "$WORK/nowhere.yaml" keep/feature_store.yaml
run "$MF" init keep
expect_err "init over a dangling link named feature_store.yaml" 1 "already exists"
check "  ... nothing written through it" test ! -e "$WORK/nowhere.yaml"

# --opt=VALUE as everywhere else
run "$MF" init eq --project=eq_proj --template=redis
expect_rc "init --project=NAME --template=NAME" 0
check "  ... the project and the template taken" grep -q "^project: eq_proj" eq/feature_store.yaml
check "  ... (the redis one)" grep -q "type: redis" eq/feature_store.yaml
