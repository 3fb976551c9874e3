# pit_memory.sh — the point-in-time join's memory follows the entity rows,
# not the size of the source: a String feature of a source ordered by time,
# where nearly every row of a key replaces the one before as its best, kept
# each replaced value (60 MB of text kept for one entity row; the same file
# in reverse order kept one value). Peak memory (/usr/bin/time) of the two
# orders must be alike.
. "$(dirname "$0")/lib.sh"

if [ ! -x /usr/bin/time ]; then
    ok "# SKIP: no /usr/bin/time"
    exit 0
fi
mkdir -p repo/data && cd repo || exit 1
printf 'project: m\n' >feature_store.yaml
cat >defs.lua <<'EOF'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
feature_view { name = "v", entities = { k },
  schema = { field { name = "s", dtype = String } },
  source = file_source { name = "src", path = "data/v.csv", timestamp_field = "ts" } }
feature_view { name = "r", entities = { k },
  schema = { field { name = "s", dtype = String } },
  source = file_source { name = "rsrc", path = "data/r.csv", timestamp_field = "ts" } }
EOF
# 150,000 rows of key 1, one a second, each with 400 bytes of text (a
# length that varies a little, as text does)
awk 'BEGIN { print "id,ts,s"; pad = sprintf("%400s", ""); gsub(/ /, "x", pad);
             for (i = 0; i < 150000; i++)
                 printf "1,%d,%s%d\n", 1700000000 + i, substr(pad, 1, 390 + i % 10), i }' >data/v.csv
{ head -n 1 data/v.csv; tail -n +2 data/v.csv | sort -t, -k2,2nr; } >data/r.csv
printf 'id,event_timestamp\n1,2030-01-01T00:00:00Z\n' >e.csv
run "$MF" apply
expect_rc "apply" 0

peak() { # VIEW: peak RSS in KiB of a join of that view
    /usr/bin/time -f '%M' -o "$WORK/peak" "$MF" get-historical-features -e e.csv -f "$1:s" \
        -o "$WORK/out_$1.csv" 2>"$WORK/.err" || { cat "$WORK/.err"; echo 0 >"$WORK/peak"; }
    tail -n 1 "$WORK/peak"
}
up=$(peak v)
down=$(peak r)
check() { if "$@"; then ok "$name"; else not_ok "$name" "ascending $up KiB, descending $down KiB"; fi; }
name="both orders join"
check test "$up" -gt 0 -a "$down" -gt 0
name="  ... to the same answer"
check cmp -s "$WORK/out_v.csv" "$WORK/out_r.csv"
name="a source in time order: peak memory within 20 MB of the same rows in reverse ($up against $down KiB)"
check test "$up" -lt $((down + 20000))
