# transforms.sh — on-demand transforms through the real CLI on the
# historical path: the `init` repo's feature service (a row-mode transform
# over a view and request fields), its values worked out here with awk from
# the joined columns, nulls, a batch-mode twin that must agree cell for
# cell, and the errors: a missing request column, a transform that raises
# (named at its file and line), a runaway transform stopped by its budget.
. "$(dirname "$0")/lib.sh"

r() {
    run "$@"
}
check() { # NAME CONDITION-COMMAND...
    name=$1
    shift
    if "$@"; then ok "$name"; else not_ok "$name" "failed: $*" "stdout: $OUT" "stderr: $ERR"; fi
}

r "$MF" init repo
cd repo || exit 1
cat >>driver_repo.lua <<'EOF'

-- the same transform in batch mode: columns in, columns out
on_demand_feature_view {
  name = "transformed_batch",
  sources = { driver_stats, input_request },
  mode = "batch",
  schema = {
    field { name = "b1", dtype = Float64 },
    field { name = "b2", dtype = Float64 },
  },
  transform = function(cols, n)
    local c, v1, v2, o1, o2 = cols.conv_rate, cols.val_to_add, cols.val_to_add_2, {}, {}
    for i = 1, n do
      if c[i] ~= nil then
        o1[i] = c[i] + v1[i]
        o2[i] = c[i] + v2[i]
      end
    end
    return { b1 = o1, b2 = o2 }
  end,
}
EOF
r "$MF" apply
expect_rc "apply the repo with two transforms" 0

printf 'driver_id,event_timestamp,val_to_add,val_to_add_2\n1001,2025-01-02T00:00:00Z,10,20\n1002,2025-01-03T12:00:00Z,1,2\n1003,2024-01-01T00:00:00Z,5,5\n1004,2025-01-04T00:00:00Z,-1,3\n' >ents.csv
r "$MF" get-historical-features --entities ents.csv -f driver_hourly_stats:conv_rate \
    -f transformed_conv_rate:conv_rate_plus_val1 -f transformed_conv_rate:conv_rate_plus_val2 \
    -f transformed_batch:b1 -f transformed_batch:b2
expect_rc "historical retrieval with transforms" 0
printf '%s\n' "$OUT" >got.csv
check "header: entity columns, then features in request order" \
    test "$(head -1 got.csv)" = "driver_id,event_timestamp,val_to_add,val_to_add_2,conv_rate,conv_rate_plus_val1,conv_rate_plus_val2,b1,b2"
check "four rows" test "$(wc -l <got.csv)" -eq 5
# every value: conv_rate + the request field (to 1e-9), or empty with conv_rate
bad=$(awk -F, 'NR > 1 {
    if ($5 == "") { if ($6 != "" || $7 != "" || $8 != "" || $9 != "") print "row " NR ": not null"; next }
    d1 = $6 - ($5 + $3); d2 = $7 - ($5 + $4)
    if (d1 > 1e-6 || d1 < -1e-6 || d2 > 1e-6 || d2 < -1e-6) print "row " NR ": " $0
    if ($6 != $8 || $7 != $9) print "row " NR ": batch differs: " $0 }' got.csv)
check "values are conv_rate + request field; batch mode agrees; nulls stay null" test -z "$bad"
check "a row before any data is null" grep -q '^1003,2024-01-01T00:00:00Z,5,5,,,,,$' got.csv

r "$MF" get-historical-features --entities ents.csv --feature-service driver_activity_v1
expect_rc "the init repo's feature service is served" 0
check "service: conv_rate then the transform outputs" \
    sh -c "printf '%s\n' \"\$1\" | head -1 | grep -qx 'driver_id,event_timestamp,val_to_add,val_to_add_2,conv_rate,conv_rate_plus_val1,conv_rate_plus_val2'" _ "$OUT"

r "$MF" get-historical-features --entities ents.csv -f transformed_conv_rate:conv_rate_plus_val1 \
    --full-feature-names
check "full feature names: view__feature" \
    sh -c "printf '%s\n' \"\$1\" | head -1 | grep -q ',transformed_conv_rate__conv_rate_plus_val1$'" _ "$OUT"

printf 'driver_id,event_timestamp\n1001,2025-01-02T00:00:00Z\n' >noreq.csv
r "$MF" get-historical-features --entities noreq.csv -f transformed_conv_rate:conv_rate_plus_val1
expect_err "a missing request field is named with its view" 1 \
    "on-demand feature view 'transformed_conv_rate' needs the request field 'val_to_add'"

r "$MF" get-historical-features --entities ents.csv -f transformed_conv_rate:nope
expect_err "an unknown transform output is named" 1 "unknown feature 'transformed_conv_rate:nope'"

#---- the online path, on SQLite and on Redis: the same values as historical --------------

# historical at the last event time sees the rows materialization keeps
printf 'driver_id,event_timestamp,val_to_add,val_to_add_2\n1001,2025-01-05T23:45:00Z,10,20\n1002,2025-01-05T23:45:00Z,1,2\n' >last.csv
r "$MF" get-historical-features --entities last.csv -f transformed_conv_rate:conv_rate_plus_val1 \
    -f transformed_conv_rate:conv_rate_plus_val2 -f transformed_batch:b1 --format jsonl
expect_rc "historical at the last event time" 0
hist=$(printf '%s\n' "$OUT" | sed -n 's/.*"conv_rate_plus_val1":\([^,]*\),"conv_rate_plus_val2":\([^,]*\),"b1":\([^}]*\)}/\1 \2 \3/p')
check "historical: two rows of values" test "$(printf '%s\n' "$hist" | grep -c .)" -eq 2

online_case() { # STORE
    st=$1
    r "$MF" materialize 2025-01-01T00:00:00Z 2025-01-06T00:00:00Z
    expect_rc "$st: materialize" 0
    r "$MF" get-online-features -e driver_id=1001,val_to_add=10,val_to_add_2=20 \
        -e driver_id=1002,val_to_add=1,val_to_add_2=2 -e driver_id=9999,val_to_add=5,val_to_add_2=5 \
        -f driver_hourly_stats:conv_rate -f transformed_conv_rate:conv_rate_plus_val1 \
        -f transformed_conv_rate:conv_rate_plus_val2 -f transformed_batch:b1
    expect_rc "$st: get-online-features with transforms" 0
    printf '%s' "$OUT" >on.json
    check "$st: columns: keys, features, then transform outputs" grep -q \
        '"feature_names":\["driver_id","conv_rate","conv_rate_plus_val1","conv_rate_plus_val2","b1"\]' on.json
    online=$(sed -e 's/.*"feature_names"[^]]*\]//' on.json | grep -o '"values":\[[^]]*\]' | sed -n '3,5p' |
        sed -e 's/"values":\[//' -e 's/\]//' | awk -F, '{ print $1; print $2 }' | paste -d' ' - - - - - - |
        awk '{ print $1, $3, $5; print $2, $4, $6 }')
    check "$st: online values equal historical ones (row and batch mode)" test "$online" = "$hist"
    check "$st: an entity not found gives null outputs, NULL_VALUE" grep -q \
        '"values":\[[^]]*,null\],"statuses":\["PRESENT","PRESENT","NULL_VALUE"\],"event_timestamps":\["1970-01-01T00:00:00Z"' on.json
    r "$MF" get-online-features -e driver_id=1001 -f transformed_conv_rate:conv_rate_plus_val1
    expect_err "$st: a missing request field is named" 1 \
        "on-demand feature view 'transformed_conv_rate' needs the request field 'val_to_add'"
    r "$MF" get-online-features -e driver_id=1001,val_to_add=x,val_to_add_2=1 \
        -f transformed_conv_rate:conv_rate_plus_val1
    expect_err "$st: a request field of the wrong type is named" 1 \
        "request field 'val_to_add', row 1: 'x' is not a valid Int64"
    r "$MF" get-online-features -e driver_id=1001,val_to_add=1,val_to_add_2=1 \
        --feature-service driver_activity_v1 --full-feature-names
    check "$st: the init repo's service online, full names" grep -q \
        '"feature_names":\["driver_id","driver_hourly_stats__conv_rate","transformed_conv_rate__conv_rate_plus_val1","transformed_conv_rate__conv_rate_plus_val2"\]' "$WORK/.out"
}
online_case sqlite
cp feature_store.yaml sqlite.yaml
if start_redis; then
    trap 'stop_redis; rm -rf "$WORK"' EXIT
    printf 'project: repo\nregistry: data/registry.db\nonline_store:\n  type: redis\n  connection_string: "127.0.0.1:%s"\n' \
        "$PORT" >feature_store.yaml
    r "$MF" apply
    expect_rc "redis: apply" 0
    online_case redis
    stop_redis
else
    not_ok "redis: a server of the test's own" "$(cat "$WORK/redis/log" 2>/dev/null)"
fi
cp sqlite.yaml feature_store.yaml

#---- a transform that raises, and one that never ends ---------------------------------

cat >zz_bad.lua <<'EOF'
local req = request_source { name = "req2", schema = { field { name = "x", dtype = Int64 } } }

on_demand_feature_view {
  name = "raises",
  sources = { "driver_hourly_stats", req },
  schema = { field { name = "y", dtype = Int64 } },
  transform = function(r)
    local t = nil
    return { y = t.field }
  end,
}

on_demand_feature_view {
  name = "spins",
  sources = { "driver_hourly_stats", req },
  schema = { field { name = "y", dtype = Int64 } },
  transform = function(r)
    while true do end
  end,
}
EOF
r "$MF" apply
expect_rc "apply views that fail only when run" 0
printf 'driver_id,event_timestamp,x\n1001,2025-01-02T00:00:00Z,1\n' >x.csv
r "$MF" get-historical-features --entities x.csv -f raises:y
expect_err "a transform that raises: its file, line and message" 1 \
    "zz_bad.lua:9: on-demand feature view 'raises': attempt to index local 't' (a nil value)"
printf 'project: repo\nregistry: data/registry.db\nonline_store: {type: sqlite, path: data/online.db}\nlua: {transform_max_instructions: 100000}\n' >feature_store.yaml
t0=$(date +%s)
r "$MF" get-historical-features --entities x.csv -f spins:y
expect_err "a runaway transform is stopped by its budget" 1 \
    "zz_bad.lua:18: on-demand feature view 'spins' stopped after 100000 Lua instructions (the limit is lua.transform_max_instructions"
check "stopped within seconds" test $(($(date +%s) - t0)) -lt 10
