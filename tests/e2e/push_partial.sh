# push_partial.sh — what an offline push writes, and what a failed push
# leaves (docs/concepts.md, "Pushes and direct writes"), over the
# quickstart repo (`moonfeast init`: driver_stats_push_source feeds
# driver_hourly_stats_fresh; its batch source is data/driver_stats.csv):
#   - a pushed column that no view fed by the push source reads is not
#     written to the batch source (it would be checked by nothing, and a
#     bad value would break every later read of the file by a view that
#     does read it);
#   - a push to online_and_offline whose online write fails leaves the
#     batch source as it was (the online write goes first: it can be
#     repeated, an append cannot), and says nothing was appended;
#   - an empty string pushed is null: null online, an empty cell offline.
. "$(dirname "$0")/lib.sh"
trap 'rm -rf "$WORK"' EXIT
has() { printf '%s' "$1" | grep -qF -- "$2"; }

run "$MF" init "$WORK/repo" --project drivers
expect_rc "init" 0
cd "$WORK/repo" || exit 1
# a column `extra` in the batch source, read by a view of its own
awk -F, 'BEGIN { OFS = "," } NR == 1 { print $0, "extra"; next } { print $0, NR }' \
    data/driver_stats.csv >x.csv && mv x.csv data/driver_stats.csv
cat >>driver_repo.lua <<'EOT'
feature_view {
  name = "extra_view", entities = { driver }, ttl = days(1), source = driver_stats_source,
  schema = { field { name = "extra", dtype = Int64 } },
}
EOT
run "$MF" apply
expect_rc "apply" 0
lines() { wc -l <data/driver_stats.csv | tr -d ' '; }
before=$(lines)

printf 'driver_id,event_timestamp,created,conv_rate,acc_rate,avg_daily_trips,extra\n1001,2025-01-07T00:00:00Z,2025-01-07T00:00:00Z,0.5,0.25,42,abc\n' >p.csv
run "$MF" push driver_stats_push_source --file p.csv --to online_and_offline
expect_rc "a push with a column no fed view reads" 0
check "  ... appends its row" test "$(lines)" -eq $((before + 1))
check "  ... without that column's value" sh -c '! tail -n 1 data/driver_stats.csv | grep -q abc'
printf 'driver_id,event_timestamp\n1001,2025-01-07T12:00:00Z\n' >e.csv
run "$MF" get-historical-features --entities e.csv -f extra_view:extra
expect_rc "the view that reads that column still reads the file" 0

# the fed view's online table gone: the online write fails
sqlite3 data/online.db 'DROP TABLE "drivers:driver_hourly_stats_fresh"'
before=$(lines)
run "$MF" push driver_stats_push_source --file p.csv --to online_and_offline
expect_err "a push whose online write fails" 1 "has no table"
check "  ... says nothing was appended offline" has "$ERR" "nothing was appended to the offline source"
check "  ... and appended nothing" test "$(lines)" -eq "$before"

# an empty string is null, as an empty CSV cell is (quoted or not): null
# online, an empty cell offline
cat >>driver_repo.lua <<'EOT'
local s_src = file_source { name = "s_src", path = "data/s.csv", timestamp_field = "ts" }
push_source { name = "s_push", batch_source = s_src }
feature_view { name = "s_view", entities = { driver }, ttl = 0, source = "s_push",
  schema = { field { name = "s", dtype = String } } }
EOT
printf 'driver_id,ts,s\n1001,2025-01-01T00:00:00Z,a\n' >data/s.csv
run "$MF" apply
expect_rc "apply a view of a String" 0
printf 'driver_id,ts,s\n1001,2025-01-02T00:00:00Z,""\n' >s.csv
run "$MF" push s_push --file s.csv --to online_and_offline
expect_rc "push an empty string" 0
check "  ... appended as an empty cell" test "$(tail -n 1 data/s.csv)" = "1001,2025-01-02T00:00:00Z,"
run "$MF" get-online-features -e driver_id=1001 -f s_view:s
check "  ... null online" has "$OUT" '"values":[null],"statuses":["NULL_VALUE"],"event_timestamps":["2025-01-02T00:00:00Z"]'
