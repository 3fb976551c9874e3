# lua_source.sh — sources read by a Lua module: the init repo's driver
# stats written out as JSON Lines and read by
# examples/lua_jsonl_offline/jsonl.lua (under modules/, which the definition
# walk skips) give the same training data and the same online values as
# the CSV file; a module that raises, answers in the wrong shape, or reads
# outside the repo fails with an error naming the source, the module and
# the line.
. "$(dirname "$0")/lib.sh"


run "$MF" init repo
cd repo || exit 1
mkdir -p modules
cp "$E2E_DIR/../../examples/lua_jsonl_offline/jsonl.lua" modules/
awk -F, 'NR > 1 { printf "{\"driver_id\": %s, \"event_timestamp\": \"%s\", \"created\": \"%s\", \"conv_rate\": %s, \"acc_rate\": %s, \"avg_daily_trips\": %s}\n", $1, $2, $3, $4, $5, $6 }' \
    data/driver_stats.csv >data/driver_stats.jsonl
cat >>driver_repo.lua <<'EOF'

local stats_jsonl = lua_source {
  name = "stats_jsonl", module = "modules/jsonl.lua",
  options = { path = "data/driver_stats.jsonl",
              columns = "driver_id,event_timestamp,created,conv_rate,acc_rate,avg_daily_trips" },
  timestamp_field = "event_timestamp", created_timestamp_column = "created",
}
feature_view {
  name = "stats_from_jsonl", entities = { driver }, ttl = days(1), source = stats_jsonl,
  schema = { field { name = "conv_rate", dtype = Float32 }, field { name = "acc_rate", dtype = Float32 },
             field { name = "avg_daily_trips", dtype = Int64 } },
}
feature_view { name = "inferred_from_jsonl", entities = { driver }, source = stats_jsonl }
EOF
run "$MF" apply
expect_rc "apply with a lua_source (its module not taken for definitions)" 0
printf 'driver_id,event_timestamp\n1001,2025-01-02T10:07:00Z\n1002,2025-01-03T00:00:00Z\n1003,2024-12-31T00:00:00Z\n1005,2025-01-05T23:59:00Z\n' >e.csv
run "$MF" get-historical-features --entities e.csv -f driver_hourly_stats:conv_rate -f driver_hourly_stats:acc_rate -f driver_hourly_stats:avg_daily_trips
csv=$OUT
run "$MF" get-historical-features --entities e.csv -f stats_from_jsonl:conv_rate -f stats_from_jsonl:acc_rate -f stats_from_jsonl:avg_daily_trips
check "historical retrieval from JSON Lines equals the CSV's" test "$OUT" = "$csv"
check "  ... with values in it" sh -c 'printf "%s" "$1" | grep -q "^1001,2025-01-02T10:07:00Z,0.023368,"' - "$OUT"
run "$MF" feature-views describe inferred_from_jsonl
check "a view without schema: features inferred from the module's rows" \
    sh -c 'printf "%s" "$1" | grep -q "avg_daily_trips" && printf "%s" "$1" | grep -q "VT_INT64\|Int64\|\"dtype\": *[0-9]"' - "$OUT"
run "$MF" materialize 2025-01-01T00:00:00Z 2025-01-06T00:00:00Z -v driver_hourly_stats -v stats_from_jsonl
expect_rc "materialize from the lua_source" 0
run "$MF" get-online-features -e driver_id=1001 -e driver_id=1005 -f driver_hourly_stats:conv_rate -f driver_hourly_stats:avg_daily_trips
csv=$OUT
run "$MF" get-online-features -e driver_id=1001 -e driver_id=1005 -f stats_from_jsonl:conv_rate -f stats_from_jsonl:avg_daily_trips
check "online values from JSON Lines equal the CSV's" test "$OUT" = "$csv"

# errors (apply reads the source to infer inferred_from_jsonl's features,
# so a broken source fails apply, and nothing changes)
printf '{"driver_id": 1, "event_timestamp": "2025-01-01T00:00:00Z", oops}\n' >data/bad.jsonl
cp driver_repo.lua good.lua.txt
sed -i 's|path = "data/driver_stats.jsonl"|path = "data/bad.jsonl"|' driver_repo.lua
run "$MF" apply
expect_err "a line that is not JSON: the file and line" 1 "data/bad.jsonl:1:"
check "  ... naming the lua_source" sh -c 'printf "%s" "$1" | grep -q "lua_source .stats_jsonl."' - "$ERR"
sed -i 's|path = "data/bad.jsonl"|path = "../outside.jsonl"|' driver_repo.lua
run "$MF" apply
expect_err "a path outside the repo is refused" 1 "is outside the repo"
cp good.lua.txt driver_repo.lua
printf 'return { read = function() return "a", 1 end }\n' >modules/jsonl.lua
run "$MF" get-historical-features --entities e.csv -f stats_from_jsonl:conv_rate
expect_err "read answering in the wrong shape" 1 "must return the column names and the rows"
printf 'local o = ...\nreturn { read = function() error("no rows for " .. o.path) end }\n' >modules/jsonl.lua
run "$MF" get-historical-features --entities e.csv -f stats_from_jsonl:conv_rate
expect_err "read raising: the module's line and message" 1 "jsonl.lua:2: no rows for data/driver_stats.jsonl"
# lists with holes: the rows after a hole, or the cells beyond the column
# names, would be left out silently; each is an error naming the row
COLS='"driver_id", "event_timestamp", "created", "conv_rate", "acc_rate", "avg_daily_trips"'
ROW='1001, "2025-01-02T00:00:00Z", "2025-01-02T00:00:00Z", 0.5, 0.5, 3'
printf 'return { read = function()\n  local rows = { { %s } }\n  rows[3] = { %s }\n  return { %s }, rows\nend }\n' "$ROW" "$ROW" "$COLS" >modules/jsonl.lua
run "$MF" get-historical-features --entities e.csv -f stats_from_jsonl:conv_rate
expect_err "rows with a hole: the missing row named" 1 "lua_source 'stats_jsonl' ("
check "  ... the rows are not a list, row 2 missing" sh -c 'printf "%s" "$1" | grep -q "read: the rows are not a list (2 entries, but row 2 is missing)"' - "$ERR"
printf 'return { read = function()\n  return { %s }, { { %s }, { %s, "extra" } }\nend }\n' "$COLS" "$ROW" "$ROW" >modules/jsonl.lua
run "$MF" get-historical-features --entities e.csv -f stats_from_jsonl:conv_rate
expect_err "a row longer than the column names" 1 "row 2 has a value at 7, beyond its 6 columns"
printf 'return { read = function()\n  return { %s }, { { %s, x = 1 } }\nend }\n' "$COLS" "$ROW" >modules/jsonl.lua
run "$MF" get-historical-features --entities e.csv -f stats_from_jsonl:conv_rate
expect_err "a row with a key that is not a position" 1 "row 1 has a value at 'x', beyond its 6 columns"
printf 'return { read = function()\n  local c = { %s }\n  c[9] = "late"\n  return c, { { %s } }\nend }\n' "$COLS" "$ROW" >modules/jsonl.lua
run "$MF" get-historical-features --entities e.csv -f stats_from_jsonl:conv_rate
expect_err "column names with a hole" 1 "the column names are not a list (7 entries, but name 7 is missing)"
printf 'return { read = function()\n  local c, r = { %s }, { { %s } }\n  c.n, r.n = 6, 1\n  return c, r\nend }\n' "$COLS" "$ROW" >modules/jsonl.lua
run "$MF" get-historical-features --entities e.csv -f stats_from_jsonl:conv_rate
expect_rc "  ... lists with other keys too (a count n, as table.pack gives) are lists" 0
printf 'return { read = function()\n  return { %s }, { { 1001, "2025-01-02T00:00:00Z", nil, 0.5, nil, 3 } }\nend }\n' "$COLS" >modules/jsonl.lua
run "$MF" get-historical-features --entities e.csv -f stats_from_jsonl:conv_rate
expect_rc "  ... but a row's nil cells are nulls, as before" 0
# numbers: a whole number of the int64 range is an integer, every digit
# (2^60 was written as 1.152921504606847e+18, which Int64 refused); a JSON
# integer beyond 2^53 reaches the module as its text (as a double it was
# rounded: 9007199254740993 became ...992)
printf 'local o, host = ...\nreturn { read = function()\n  return { %s }, { { 1001, "2025-01-02T00:00:00Z", "2025-01-02T00:00:00Z", 0.5, 0.5, 2^60 },\n    { 1002, "2025-01-02T00:00:00Z", "2025-01-02T00:00:00Z", 0.5, 0.5, host.json("[9007199254740993]")[1] },\n    { 1005, "2025-01-05T00:00:00Z", "2025-01-05T00:00:00Z", 0.5, 0.5, -2^63 } }\nend }\n' "$COLS" >modules/jsonl.lua
run "$MF" get-historical-features --entities e.csv -f stats_from_jsonl:avg_daily_trips
check "a whole number beyond 9e15 is an integer" sh -c 'printf "%s" "$1" | grep -q "^1001,.*,1152921504606846976$"' - "$OUT"
check "  ... -2^63 too" sh -c 'printf "%s" "$1" | grep -q "^1005,.*,-9223372036854775808$"' - "$OUT"
check "host.json: an integer beyond 2^53 keeps every digit" sh -c 'printf "%s" "$1" | grep -q "^1002,.*,9007199254740993$"' - "$OUT"
