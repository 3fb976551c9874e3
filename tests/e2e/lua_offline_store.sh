# lua_offline_store.sh — the offline store of type lua
# (examples/lua_jsonl_offline/jsonl_store.lua): it reads the lua_sources
# that name no module (the init repo's driver stats as JSON Lines), with
# hints of the time range and columns that matter; moonfeast's join runs
# over its rows, or, with `join: lua`, the module's own join answers; the
# training data and online values equal the CSV's either way. Then every
# error path: a source without a module under the file store, a missing
# module, a get_historical_features that raises or answers in the wrong
# shape or with a value of the wrong type.
. "$(dirname "$0")/lib.sh"

has() { printf '%s' "$1" | grep -qF -- "$2"; }

run "$MF" init repo
cd repo || exit 1
mkdir -p modules
cp "$E2E_DIR/../../examples/lua_jsonl_offline/jsonl_store.lua" modules/
awk -F, 'NR > 1 { printf "{\"driver_id\": %s, \"event_timestamp\": \"%s\", \"created\": \"%s\", \"conv_rate\": %s, \"acc_rate\": %s, \"avg_daily_trips\": %s}\n", $1, $2, $3, $4, $5, $6 }' \
    data/driver_stats.csv >data/driver_stats.jsonl
cat >>driver_repo.lua <<'EOT'

local stats_store = lua_source {
  name = "stats_store",
  options = { path = "data/driver_stats.jsonl",
              columns = "driver_id,event_timestamp,created,conv_rate,acc_rate,avg_daily_trips" },
  timestamp_field = "event_timestamp", created_timestamp_column = "created",
}
feature_view {
  name = "stats_from_store", entities = { driver }, ttl = days(1), source = stats_store,
  schema = { field { name = "conv_rate", dtype = Float32 }, field { name = "acc_rate", dtype = Float32 },
             field { name = "avg_daily_trips", dtype = Int64 } },
}
EOT
cp driver_repo.lua defs.keep
run "$MF" apply
expect_err "a lua_source without a module needs the lua offline store" 1 "lua_source 'stats_store' names no module, and the offline store is not of type lua"
check "  ... the view's file and line" has "$ERR" "driver_repo.lua:"
sed -i 's/^  type: file$/  type: lua\n  module: modules\/jsonl_store.lua/' feature_store.yaml
cp feature_store.yaml yaml.keep
run "$MF" apply
expect_rc "apply with the offline store of type lua" 0

printf 'driver_id,event_timestamp\n1001,2025-01-02T10:07:00Z\n1002,2025-01-03T00:00:00Z\n1003,2024-12-31T00:00:00Z\n1005,2025-01-05T23:59:00Z\n1099,2025-01-03T00:00:00Z\n1004,2025-01-04T12:00:00Z\n' >e.csv
run "$MF" get-historical-features --entities e.csv -f driver_hourly_stats:conv_rate -f driver_hourly_stats:acc_rate -f driver_hourly_stats:avg_daily_trips
csv=$OUT
run "$MF" get-historical-features --entities e.csv -f stats_from_store:conv_rate -f stats_from_store:acc_rate -f stats_from_store:avg_daily_trips
check "moonfeast's join over the store's rows equals the CSV's" test "$OUT" = "$csv"
check "  ... with values in it" has "$OUT" "1001,2025-01-02T10:07:00Z,0.023368,"
check "  ... and a ttl miss and an unknown key empty" has "$OUT" "1003,2024-12-31T00:00:00Z,,,"

sed -i 's/^  module: modules\/jsonl_store.lua$/&\n  join: lua/' feature_store.yaml
run "$MF" get-historical-features --entities e.csv -f stats_from_store:conv_rate -f stats_from_store:acc_rate -f stats_from_store:avg_daily_trips
check "join: lua: the module's own join gives the same training data" test "$OUT" = "$csv"
run "$MF" get-historical-features --entities e.csv -f stats_from_store:conv_rate --full-feature-names
check "  ... full feature names are moonfeast's" has "$OUT" "driver_id,event_timestamp,stats_from_store__conv_rate"

# the module's join is the one that ran: a copy whose join raises
cp modules/jsonl_store.lua store.keep
sed -i 's/^  function store.get_historical_features(request)$/  function store.get_historical_features(request)\n    if request.features[1].view == "stats_from_store" then error("own join: " .. #request.entities.rows .. " rows, " .. #request.features .. " features, first " .. request.features[1].name .. " " .. request.features[1].dtype .. ", ttl " .. request.features[1].ttl .. ", key " .. request.features[1].join_keys[1] .. " " .. request.features[1].join_key_types[1] .. ", source " .. request.features[1].source.name) end/' modules/jsonl_store.lua
run "$MF" get-historical-features --entities e.csv -f stats_from_store:conv_rate -f stats_from_store:avg_daily_trips
expect_err "get_historical_features gets the entity rows and the features" 1 "own join: 6 rows, 2 features, first conv_rate Float32, ttl 86400, key driver_id Int64, source stats_store"
check "  ... the error names the offline store's module and its line" sh -c 'printf "%s" "$1" | grep -q "offline store lua (.*jsonl_store.lua), get_historical_features: .*jsonl_store.lua:[0-9]*: own join"' - "$ERR"
run "$MF" get-historical-features --entities e.csv -f stats_from_store:conv_rate -f driver_hourly_stats:conv_rate --full-feature-names
check "a request that also reads a CSV source: moonfeast's join, not the module's" test "$RC" -eq 0
check "  ... with the same values from both" sh -c 'printf "%s\n" "$1" | awk -F, "NR > 1 && \$3 != \$4 { bad = 1 } END { exit bad }"' - "$OUT"
cp store.keep modules/jsonl_store.lua

# hints: a module that answers read() with what it was asked
cat >modules/hints.lua <<'EOT'
local o, host = ...
return { read = function(r)
  error(string.format("purpose=%s start=%s end=%s columns=%s source=%s path=%s", r.purpose,
    tostring(r.start_ts), tostring(r.end_ts), table.concat(r.columns, "+"), r.source.name,
    r.source.options.path))
end }
EOT
cp feature_store.yaml yaml.join
sed -i 's/jsonl_store.lua/hints.lua/' feature_store.yaml
run "$MF" get-historical-features --entities e.csv -f stats_from_store:conv_rate
expect_err "read() hints for historical retrieval: first entity time less the ttl, last entity time, the columns read" 1 "purpose=historical start=2024-12-30T00:00:00Z end=2025-01-05T23:59:00Z columns=event_timestamp+created+driver_id+conv_rate source=stats_store path=data/driver_stats.jsonl"
run "$MF" materialize 2025-01-01T00:00:00Z 2025-01-06T00:00:00Z -v stats_from_store
expect_err "read() hints for materialization: its window and the view's columns" 1 "purpose=materialize start=2025-01-01T00:00:00Z end=2025-01-06T00:00:00Z columns=event_timestamp+created+driver_id+conv_rate+acc_rate+avg_daily_trips"
cp yaml.join feature_store.yaml

# host.lines stays in the repo: a symbolic link inside it that leads out is
# refused, as the definition loader refuses one (the link that stays inside
# is read first: the error is the second call's)
ln -s /etc/passwd data/outside
ln -s driver_stats.jsonl data/inside
cat >modules/lines.lua <<'EOT'
local o, host = ...
return { read = function(r)
  local n = #host.lines("data/inside")
  error("read " .. n .. " lines, then " .. #host.lines("data/outside"))
end }
EOT
sed -i 's/jsonl_store.lua/lines.lua/' feature_store.yaml
run "$MF" get-historical-features --entities e.csv -f stats_from_store:conv_rate
expect_err "host.lines refuses a symbolic link that leads out of the repo" 1 "lines: 'data/outside' leads outside the repo"
cp yaml.join feature_store.yaml
rm -f data/outside data/inside

run "$MF" materialize 2025-01-01T00:00:00Z 2025-01-06T00:00:00Z -v driver_hourly_stats -v stats_from_store
expect_rc "materialize from the offline store's rows" 0
run "$MF" get-online-features -e driver_id=1001 -e driver_id=1005 -f driver_hourly_stats:conv_rate -f driver_hourly_stats:avg_daily_trips
csv=$OUT
run "$MF" get-online-features -e driver_id=1001 -e driver_id=1005 -f stats_from_store:conv_rate -f stats_from_store:avg_daily_trips
check "online values equal the CSV's" test "$OUT" = "$csv"

# get_historical_features answering badly
bad_join() { # NAME BODY WANT
    printf 'local o, host = ...\nreturn { read = function() return {}, {} end,\n  get_historical_features = function(r)\n%s\n  end }\n' "$2" >modules/bad.lua
    sed -i 's/module: modules\/[a-z_]*\.lua/module: modules\/bad.lua/' feature_store.yaml
    run "$MF" get-historical-features --entities e.csv -f stats_from_store:conv_rate -f stats_from_store:avg_daily_trips
    expect_err "$1" 1 "$3"
}
bad_join "a join that raises: its file and line" '    error("warehouse unreachable")' "bad.lua:4: warehouse unreachable"
bad_join "a join that returns no list" '    return 42' "must return a list of columns (one per feature, in the order of request.features), got number"
bad_join "a column that is not a list" '    return { {}, "x" }' "column 2 (stats_from_store:avg_daily_trips) is string, not a list of values"
bad_join "a value of the wrong type names the feature and row" '    return { {0.5, 0.25, "abc"}, {} }' "stats_from_store:conv_rate, row 3: 'abc' is not Float32"
bad_join "a fractional number for an Int64 feature" '    return { {}, {1, 2.5} }' "stats_from_store:avg_daily_trips, row 2: '2.5' is not Int64"
bad_join "a table as a value" '    return { { {} }, {} }' "stats_from_store:conv_rate, row 1: a table is not a value"
printf 'local o, host = ...\nreturn { read = function() return {}, {} end, get_historical_features = 5 }\n' >modules/bad.lua
run "$MF" get-historical-features --entities e.csv -f stats_from_store:conv_rate
expect_err "get_historical_features that is not a function" 1 "get_historical_features is a number, not a function"
printf 'local o, host = ...\nreturn { read = function() return {}, {} end,\n  get_historical_features = function(r) local c = {} for i = 1, #r.entities.rows do c[i] = (i %% 2 == 0) and 0.5 or nil end return { c } end }\n' >modules/bad.lua
run "$MF" get-historical-features --entities e.csv -f stats_from_store:conv_rate
expect_out "nil values are empty cells; the entity columns are moonfeast's" "driver_id,event_timestamp,conv_rate
1001,2025-01-02T10:07:00Z,
1002,2025-01-03T00:00:00Z,0.5
1003,2024-12-31T00:00:00Z,
1005,2025-01-05T23:59:00Z,0.5
1099,2025-01-03T00:00:00Z,
1004,2025-01-04T12:00:00Z,0.5"
sed -i 's/module: modules\/bad.lua/module: modules\/missing.lua/' feature_store.yaml
run "$MF" get-historical-features --entities e.csv -f stats_from_store:conv_rate
expect_err "a module that does not exist" 1 "missing.lua"
printf 'project: p\noffline_store:\n  type: lua\n' >feature_store.yaml
run "$MF" apply
expect_err "type lua without a module: the key and line" 1 "feature_store.yaml:3"
check "  ... naming module" has "$ERR" "module"
cp yaml.keep feature_store.yaml
printf 'local o, host = ...\nreturn { }\n' >modules/jsonl_store.lua
run "$MF" get-historical-features --entities e.csv -f stats_from_store:conv_rate
expect_err "a module without read" 1 "read"

# Entity rows too many for the Lua memory cap (200,000 against
# lua.max_memory_mb: 4) when the module answers historical retrieval:
# building its request runs out of memory in moonfeast's own code, which
# must be an error naming the cap (LuaJIT ended the process with "PANIC:
# unprotected error" before).
cp yaml.keep feature_store.yaml
cp "$E2E_DIR/../../examples/lua_jsonl_offline/jsonl_store.lua" modules/
sed -i 's/^  module: modules\/jsonl_store.lua$/&\n  join: lua/' feature_store.yaml
printf 'lua: {max_memory_mb: 4}\n' >>feature_store.yaml
awk 'BEGIN { print "driver_id,event_timestamp"
             for (i = 0; i < 200000; i++) print 1001 + i % 5 ",2025-01-02T10:07:00Z" }' >many.csv
run "$MF" get-historical-features --entities many.csv -f stats_from_store:conv_rate
expect_err "entity rows over the Lua memory cap" 1 "lua.max_memory_mb"
check "  ... no panic" test "${ERR#*PANIC}" = "$ERR"
run "$MF" get-historical-features --entities e.csv -f stats_from_store:conv_rate
expect_rc "  ... a few entity rows still join" 0
