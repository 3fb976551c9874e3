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

#---- written to the online store: computed at materialize, push and direct write --------

cat >written.lua <<'EOF'
-- computed when driver_hourly_stats_fresh is written, stored, read as a view
on_demand_feature_view {
  name = "fresh_scaled",
  sources = { "driver_hourly_stats_fresh" },
  write_to_online_store = true,
  schema = { field { name = "conv_x100", dtype = Float64 }, field { name = "trips_x2", dtype = Int64 } },
  transform = function(r)
    if r.conv_rate == nil then return { conv_x100 = null, trips_x2 = null } end
    return { conv_x100 = r.conv_rate * 100, trips_x2 = r.avg_daily_trips * 2 }
  end,
}
-- with request data: written by pushes and direct writes only
on_demand_feature_view {
  name = "fresh_plus",
  sources = { "driver_hourly_stats_fresh", "vals_to_add" },
  write_to_online_store = true,
  schema = { field { name = "plus", dtype = Float64 } },
  transform = function(r)
    if r.conv_rate == nil then return { plus = null } end
    return { plus = r.conv_rate + r.val_to_add }
  end,
}
-- the same as fresh_scaled, computed when read
on_demand_feature_view {
  name = "fresh_scaled_read",
  sources = { "driver_hourly_stats_fresh" },
  schema = { field { name = "conv_x100", dtype = Float64 }, field { name = "trips_x2", dtype = Int64 } },
  transform = function(r)
    if r.conv_rate == nil then return { conv_x100 = null, trips_x2 = null } end
    return { conv_x100 = r.conv_rate * 100, trips_x2 = r.avg_daily_trips * 2 }
  end,
}
EOF
written_case() { # STORE
    st=$1
    r "$MF" apply
    expect_rc "$st: apply on-demand views written to the online store" 0
    r "$MF" materialize 2025-01-01T00:00:00Z 2025-01-06T00:00:00Z -v driver_hourly_stats_fresh
    expect_rc "$st: materialize the view they are written from" 0
    r "$MF" materialize 2025-01-01T00:00:00Z 2025-01-06T00:00:00Z -v fresh_scaled
    expect_err "$st: materialize -v an on-demand view says it is one, which is not materialized" 1 \
        "'fresh_scaled' is an on-demand feature view, which is not materialized (its source feature views are: 'driver_hourly_stats_fresh')"
    r "$MF" get-online-features -e driver_id=1001 -e driver_id=1002 -e driver_id=9999 \
        -f fresh_scaled:conv_x100 -f fresh_scaled:trips_x2 -f fresh_scaled_read:conv_x100 \
        -f fresh_scaled_read:trips_x2 -f driver_hourly_stats_fresh:conv_rate --full-feature-names
    expect_rc "$st: read the written view" 0
    printf '%s' "$OUT" >w.json
    vals=$(grep -o '"values":\[[^]]*\]' w.json | sed -e 's/"values":\[//' -e 's/\]//')
    w1=$(printf '%s\n' "$vals" | sed -n 2p) w2=$(printf '%s\n' "$vals" | sed -n 3p)
    # written views are read as views (request order); computed outputs come last
    r1=$(printf '%s\n' "$vals" | sed -n 5p) r2=$(printf '%s\n' "$vals" | sed -n 6p)
    check "$st: materialize wrote the outputs: the same as computed when read" \
        test "$w1 $w2" = "$r1 $r2" -a -n "$(printf '%s' "$w1" | grep -v '^null')"
    check "$st: an entity with no row: NOT_FOUND, as for a view" grep -q \
        '"statuses":\["[A-Z_]*","[A-Z_]*","NOT_FOUND"\],"event_timestamps":\["2025-01-05T23:45:00Z"' w.json
    r "$MF" get-online-features -e driver_id=1001 -f fresh_plus:plus
    check "$st: with request data: not written by materialize" grep -q '"values":\[null\],"statuses":\["NOT_FOUND"\]' "$WORK/.out"

    printf 'driver_id,event_timestamp,created,conv_rate,acc_rate,avg_daily_trips,val_to_add,val_to_add_2\n1001,2025-01-07T00:00:00Z,2025-01-07T00:00:00Z,0.5,0.25,7,100,0\n' >push.csv
    r "$MF" push driver_stats_push_source --file push.csv --to online
    expect_rc "$st: push rows with the request field" 0
    r "$MF" get-online-features -e driver_id=1001 -f fresh_scaled:conv_x100 -f fresh_scaled:trips_x2 \
        -f fresh_plus:plus
    check "$st: the push wrote both on-demand views" grep -q \
        '"values":\[50\],"statuses":\["[A-Z_]*"\],"event_timestamps":\["2025-01-07T00:00:00Z"\]},{"values":\[14\],.*{"values":\[100.5\]' "$WORK/.out"
    printf 'driver_id,event_timestamp,created,conv_rate,acc_rate,avg_daily_trips,val_to_add_2\n1001,2025-01-08T00:00:00Z,,0.5,0.25,7,0\n' >nofield.csv
    r "$MF" push driver_stats_push_source --file nofield.csv --to online
    expect_err "$st: a push without the request field of a written view is refused" 1 \
        "the rows lack column 'val_to_add' (a request field of on-demand feature view 'fresh_plus'"
    r "$MF" get-online-features -e driver_id=1001 -f driver_hourly_stats_fresh:conv_rate
    check "$st: and wrote nothing" grep -q '"event_timestamps":\["1970-01-01T00:00:00Z"\]},{"values":\[0.5\],"statuses":\["[A-Z_]*"\],"event_timestamps":\["2025-01-07T00:00:00Z"' "$WORK/.out"

    printf 'driver_id,event_timestamp,conv_rate,acc_rate,avg_daily_trips,val_to_add,val_to_add_2\n1002,2025-01-09T00:00:00Z,0.75,0.5,3,1,0\n' >direct.csv
    r "$MF" write-to-online-store fresh_plus --file direct.csv
    expect_rc "$st: a direct write to a written on-demand view" 0
    r "$MF" get-online-features -e driver_id=1002 -f fresh_plus:plus
    check "$st: the direct write computed and stored it" grep -q '"values":\[1.75\]' "$WORK/.out"
    r "$MF" write-to-online-store transformed_conv_rate --file direct.csv
    expect_err "$st: a direct write to an on-demand view computed when read is refused" 1 \
        "on-demand feature view 'transformed_conv_rate' is not written to the online store"

    r "$MF" delete fresh_plus
    expect_rc "$st: delete a written on-demand view" 0
    r "$MF" apply
    r "$MF" get-online-features -e driver_id=1002 -f fresh_plus:plus
    check "$st: its stored values went with it: NOT_FOUND after apply" grep -q '"values":\[null\],"statuses":\["NOT_FOUND"\]' "$WORK/.out"
}
written_case sqlite
if start_redis; then
    printf 'project: repo\nregistry: data/registry.db\nonline_store:\n  type: redis\n  connection_string: "127.0.0.1:%s"\n' \
        "$PORT" >feature_store.yaml
    written_case redis
    stop_redis
    cp sqlite.yaml feature_store.yaml
else
    not_ok "redis: a server of the test's own" "$(cat "$WORK/redis/log" 2>/dev/null)"
fi

cat >written_bad.lua <<'EOF'
on_demand_feature_view {
  name = "two_sources",
  sources = { "driver_hourly_stats_fresh", "driver_hourly_stats" },
  write_to_online_store = true,
  schema = { field { name = "x", dtype = Float64 } },
  transform = function(r) return { x = 1 } end,
}
EOF
r "$MF" plan
expect_err "write_to_online_store with two source views is refused" 1 \
    "write_to_online_store needs exactly one feature view among its sources (it has 2)"
rm -f written_bad.lua written.lua
r "$MF" apply
expect_rc "apply without the written views" 0

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

on_demand_feature_view {
  name = "eats",
  sources = { "driver_hourly_stats", req },
  schema = { field { name = "y", dtype = Int64 } },
  transform = function(r)
    local t = {}
    for i = 1, 1e9 do t[i] = ("x"):rep(1000) .. i end
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

r "$MF" get-online-features -e driver_id=1001,x=1 -f spins:y
expect_err "online: a runaway transform is stopped by its budget" 1 \
    "zz_bad.lua:18: on-demand feature view 'spins' stopped after 100000 Lua instructions"
r "$MF" get-online-features -e driver_id=1001,x=1 -f raises:y
expect_err "online: a transform that raises: its file, line and message" 1 \
    "zz_bad.lua:9: on-demand feature view 'raises': attempt to index local 't' (a nil value)"
printf 'project: repo\nregistry: data/registry.db\nonline_store: {type: sqlite, path: data/online.db}\nlua: {transform_max_memory_mb: 16, transform_max_instructions: 100000000}\n' >feature_store.yaml
r "$MF" get-historical-features --entities x.csv -f eats:y
expect_err "historical: runaway memory is stopped at the cap" 1 \
    "on-demand feature view 'eats' stopped: its Lua memory would exceed 16 MiB (the limit is lua.transform_max_memory_mb"
r "$MF" get-online-features -e driver_id=1001,x=1 -f eats:y
expect_err "online: runaway memory is stopped at the cap" 1 \
    "on-demand feature view 'eats' stopped: its Lua memory would exceed 16 MiB"

#---- the budget holds in code the JIT could compile ---------------------------------
# A transform without a loop of its own is left to the JIT, but what it
# calls (a stdlib function's loop, the sandbox's own Lua) and the text
# around a transform's function run in the interpreter, where the budget is
# checked: none of these may run past it (each was a hang).

long=$(awk 'BEGIN { for (i = 0; i < 100000; i++) printf "a" }')
cat >zz_jit.lua <<EOF
local req = request_source { name = "req3", schema = { field { name = "x", dtype = Int64 } } }

on_demand_feature_view {
  name = "stdspin",
  sources = { "driver_hourly_stats", req },
  schema = { field { name = "y", dtype = Float64 } },
  transform = function(r) return { y = require("mf.math").mean({}, 2^52) } end,
}

on_demand_feature_view {
  name = "textspin",
  sources = { "driver_hourly_stats", req },
  schema = { field { name = "y", dtype = Int64 } },
  transform = "function(r) return { y = 1 } end and (function() local n = 0 while true do n = n + 1 end end)() or function(r) return { y = 1 } end",
}

on_demand_feature_view {
  name = "longname",
  sources = { "driver_hourly_stats", req },
  schema = { field { name = "y", dtype = Int64 } },
  transform = function(r) local ${long}b = 1 return { y = ${long}c } end,
}
EOF
rm -f zz_bad.lua
printf 'project: repo\nregistry: data/registry.db\nonline_store: {type: sqlite, path: data/online.db}\nlua: {transform_max_instructions: 100000}\n' >feature_store.yaml
r "$MF" apply
expect_rc "apply views whose transforms would run past the budget" 0
for v in stdspin textspin; do
    t0=$(date +%s)
    r timeout 120 "$MF" get-online-features -e driver_id=1001,x=1 -f $v:y
    expect_err "online: '$v' is stopped by its budget" 1 \
        "on-demand feature view '$v' stopped after 100000 Lua instructions"
    check "'$v' stopped within seconds" test $(($(date +%s) - t0)) -lt 10
    t0=$(date +%s)
    r timeout 120 "$MF" get-historical-features --entities x.csv -f $v:y
    expect_err "historical: '$v' is stopped by its budget" 1 \
        "on-demand feature view '$v' stopped after 100000 Lua instructions"
    check "historical '$v' stopped within seconds" test $(($(date +%s) - t0)) -lt 10
done
t0=$(date +%s)
r timeout 120 "$MF" get-online-features -e driver_id=1001,x=1 -f longname:y
expect_err "a 100,000-character undefined global: named, within seconds" 1 "undefined global 'aaaa"
check "the undefined long name reported within seconds" test $(($(date +%s) - t0)) -lt 10

# a Float32 output past Float32's range (it rounds to infinity) is an
# error naming the view, as such a value in a source or a list is; it was
# stored as inf (historical) and answered as null with status PRESENT
cat >zz_f32.lua <<'EOF2'
on_demand_feature_view {
  name = "f32big",
  sources = { "driver_hourly_stats", request_source { name = "req4", schema = { field { name = "x", dtype = Int64 } } } },
  schema = { field { name = "y", dtype = Float32 } },
  transform = function(r) return { y = r.x * 1e39 } end,
}
on_demand_feature_view {
  name = "f32ok",
  sources = { "driver_hourly_stats", request_source { name = "req5", schema = { field { name = "x", dtype = Int64 } } } },
  schema = { field { name = "z", dtype = Float32 } },
  transform = function(r) return { z = r.x * 1e30 } end,
}
EOF2
r "$MF" apply
expect_rc "apply a transform with a Float32 output past its range" 0
r "$MF" get-online-features -e driver_id=1001,x=1 -f f32big:y
expect_err "online: a Float32 output past the range is an error" 1 "f32big" "Float32"
r "$MF" get-historical-features --entities x.csv -f f32big:y
expect_err "historical: the same" 1 "f32big" "Float32"
r "$MF" get-online-features -e driver_id=1001,x=1 -f f32ok:z
expect_out_has() { if printf '%s' "$OUT" | grep -q "$2"; then ok "$1"; else not_ok "$1" "stdout: $OUT" "stderr: $ERR"; fi; }
expect_out_has "online: a Float32 output in range is served" '1e+30\|1E+30\|1e30'
