# push_parquet_order.sh — rows pushed into a Parquet dataset are the last
# rows of the source (docs/concepts.md, "Datasets"): the files moonfeast's
# pushes add (push-TIME-PID-N.parquet at the dataset's top) are read after
# every other file, in the order of their times, whatever the other files
# are named. A pushed correction with the same event time as a row of a
# file whose name sorts after "push-" (zzz.parquet) must win online, in a
# later materialization and in historical retrieval, as a row appended to
# a CSV source does; a second correction at the same time wins over the
# first.
. "$(dirname "$0")/lib.sh"
trap 'rm -rf "$WORK"' EXIT

mkdir -p "$WORK/r/data/zds" && cd "$WORK/r" || exit 1
printf 'project: t\nonline_store:\n  type: sqlite\n  path: data/online.db\n' >feature_store.yaml
cat >defs.lua <<'EOT'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
local src = file_source { name = "s", path = "data/zds", format = "parquet", timestamp_field = "ts" }
push_source { name = "p", batch_source = src }
feature_view { name = "v", entities = { k }, ttl = 0, source = "p",
  schema = { field { name = "n", dtype = Int64 } } }
EOT
printf 'id,ts,n\n1001,2025-01-01T00:00:00Z,1\n' >a.csv
"$MF" to-parquet a.csv data/zds/aaa.parquet
printf 'id,ts,n\n1001,2024-12-31T00:00:00Z,0\n' >a.csv
"$MF" to-parquet a.csv data/zds/zzz.parquet
run "$MF" apply
expect_rc "apply" 0
printf 'id,event_timestamp\n1001,2025-01-02T00:00:00Z\n' >e.csv

online() { "$MF" get-online-features -e id=1001 -f v:n | sed -n 's/.*"values":\[\([^]]*\)\].*"values":\[\([^]]*\)\].*/\2/p'; }
expect_n() { # NAME WANT: online, after a materialization, and historical
    got=$(online)
    if [ "$got" = "$2" ]; then ok "$1: online"; else not_ok "$1: online" "got $got, want $2"; fi
    run "$MF" materialize 2024-12-30T00:00:00Z 2025-01-03T00:00:00Z
    expect_rc "$1: materialize" 0
    got=$(online)
    if [ "$got" = "$2" ]; then ok "$1: online after materialize"; else not_ok "$1: online after materialize" "got $got, want $2"; fi
    run "$MF" get-historical-features --entities e.csv -f v:n
    expect_out "$1: historical" "id,event_timestamp,n
1001,2025-01-02T00:00:00Z,$2"
}

# zzz.parquet holds the same key and time as the pushed correction
printf 'id,ts,n\n1001,2025-01-01T00:00:00Z,9\n' >a.csv
"$MF" to-parquet a.csv data/zds/zzz.parquet
run "$MF" materialize 2024-12-30T00:00:00Z 2025-01-03T00:00:00Z
expect_rc "materialize the original rows" 0
printf 'id,ts,n\n1001,2025-01-01T00:00:00Z,2\n' >p.csv
run "$MF" push p --file p.csv --to online_and_offline
expect_rc "push a correction at the same event time" 0
expect_n "the pushed row is the last, after zzz.parquet" 2
printf 'id,ts,n\n1001,2025-01-01T00:00:00Z,3\n' >p.csv
run "$MF" push p --file p.csv --to online_and_offline
expect_rc "push a second correction" 0
expect_n "the later push is after the earlier one" 3

# a pushed file whose time is after the clock's (written by a machine whose
# clock ran ahead, or before this one's clock was set back): the next push
# still goes after it (its name was the clock's time, so it was read first
# and lost the tie)
printf 'id,ts,n\n1001,2025-01-01T00:00:00Z,4\n' >a.csv
"$MF" to-parquet a.csv data/zds/push-21000101T000000.000000Z-1-1.parquet
run "$MF" materialize 2024-12-30T00:00:00Z 2025-01-03T00:00:00Z
expect_rc "materialize with a push file from 2100" 0
expect_n "the file from 2100 is the last push so far" 4
printf 'id,ts,n\n1001,2025-01-01T00:00:00Z,5\n' >p.csv
run "$MF" push p --file p.csv --to online_and_offline
expect_rc "push after a file from 2100" 0
expect_n "the push goes after the file from 2100" 5
check "  ... named after it" sh -c 'ls data/zds | grep -q "^push-21000101T000000.000001Z-"'
printf 'id,ts,n\n1001,2025-01-01T00:00:00Z,6\n' >p.csv
run "$MF" push p --file p.csv --to online_and_offline
expect_rc "push again" 0
expect_n "and the next push after that one" 6

# one server pushing to several datasets: a push file from 2100 in one
# dataset does not move another dataset's pushes to 2100, and a dataset
# whose push file is dated the end of year 9999 (no push can be named
# after it) refuses its pushes without stopping the others'
. "$E2E_DIR/http_lib.sh"
mkdir -p data/yds data/wds
printf 'id,ts,n\n1001,2025-01-01T00:00:00Z,1\n' >a.csv
"$MF" to-parquet a.csv data/yds/aaa.parquet
"$MF" to-parquet a.csv data/wds/aaa.parquet
"$MF" to-parquet a.csv data/wds/push-99991231T235959.999999Z-1-1.parquet
cat >>defs.lua <<'EOT'
push_source { name = "py", batch_source = file_source { name = "sy", path = "data/yds", format = "parquet", timestamp_field = "ts" } }
push_source { name = "pw", batch_source = file_source { name = "sw", path = "data/wds", format = "parquet", timestamp_field = "ts" } }
feature_view { name = "vy", entities = { k }, ttl = 0, source = "py", schema = { field { name = "n", dtype = Int64 } } }
feature_view { name = "vw", entities = { k }, ttl = 0, source = "pw", schema = { field { name = "n", dtype = Int64 } } }
EOT
run "$MF" apply
expect_rc "apply two more push sources" 0
start_server srv.log
pushbody() { printf '{"push_source_name": "%s", "to": "offline", "df": {"id": [1001], "ts": ["2025-01-01T00:00:00Z"], "n": [7]}}' "$1"; }
http POST /push "$(pushbody p)"
expect_http "serve: push to the dataset with a file from 2100" 200 ""
http POST /push "$(pushbody py)"
expect_http "serve: then to another dataset" 200 ""
check "  ... whose file is named by the clock, not after 2100" sh -c 'ls data/yds | grep -q "^push-20[0-9][0-9]" && ! ls data/yds | grep -q "^push-2100"'
http POST /push "$(pushbody pw)"
expect_http "serve: a dataset with a push file of 9999-12-31T23:59:59.999999Z" 422 "year 9999"
http POST /push "$(pushbody py)"
expect_http "serve: pushes to another dataset go on" 200 ""
stop_server
check_log srv.log
