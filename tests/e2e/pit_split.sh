#!/bin/sh
# A CSV source of more than 1 MiB without quotes is read by two threads
# (mf__csv_split); the result must equal the one-thread read of the same
# rows. The one-thread twin quotes its header, which disables the split.
. "$(dirname "$0")/lib.sh"

mkdir -p repo/data
cat > repo/feature_store.yaml <<'Y'
project: split
Y
cat > repo/defs.lua <<'L'
local d = entity { name = "driver", join_keys = { "driver_id" }, value_type = Int64 }
for _, name in ipairs { "a", "b" } do
  feature_view { name = name, entities = { d }, ttl = hours(6),
    source = file_source { name = name .. "_src", path = "data/" .. name .. ".csv",
                           timestamp_field = "ts", created_timestamp_column = "cr" },
    schema = { field { name = "x", dtype = Int64 }, field { name = "y", dtype = Float64 },
               field { name = "s", dtype = String } } }
end
-- the same rows keyed by a String: a split read looks keys up by their bytes
local ds = entity { name = "driver_s", join_keys = { "driver_id" }, value_type = String }
for _, name in ipairs { "c", "d" } do
  feature_view { name = name, entities = { ds }, ttl = hours(6),
    source = file_source { name = name .. "_src", path = "data/" .. (name == "c" and "a" or "b") .. ".csv",
                           timestamp_field = "ts", created_timestamp_column = "cr" },
    schema = { field { name = "x", dtype = Int64 }, field { name = "y", dtype = Float64 },
               field { name = "s", dtype = String } } }
end
L
# 60000 rows, 500 keys, timestamps over 5 days with ties, some empty cells
awk 'BEGIN {
  srand(7); print "driver_id,ts,cr,x,y,s";
  for (i = 0; i < 60000; i++) {
    k = int(rand() * 500); t = 1735689600 + int(rand() * 432000 / 60) * 60;
    c = t + int(rand() * 3);
    x = (rand() < 0.05) ? "" : int(rand() * 100000);
    y = (rand() < 0.05) ? "" : int(rand() * 1000) / 8;
    s = (rand() < 0.05) ? "" : "v" i;
    printf "%d,%d,%d,%s,%s,%s\n", k, t, c, x, y, s
  } }' > repo/data/a.csv
{ echo '"driver_id",ts,cr,x,y,s'; tail -n +2 repo/data/a.csv; } > repo/data/b.csv
awk 'BEGIN { srand(11); print "driver_id,event_timestamp";
  for (i = 0; i < 5000; i++) printf "%d,%d\n", int(rand() * 520), 1735689600 + int(rand() * 450000) }' > ent.csv

run "$MF" -C repo apply
expect_rc "apply" 0
run "$MF" -C repo get-historical-features --entities "$WORK/ent.csv" -f a:x -f a:y -f a:s -o "$WORK/a.csv"
expect_rc "two-thread read (no quotes, 2 MiB)" 0
run "$MF" -C repo get-historical-features --entities "$WORK/ent.csv" -f b:x -f b:y -f b:s -o "$WORK/b.csv"
expect_rc "one-thread read (quoted header)" 0
if [ "$(wc -c < repo/data/a.csv)" -gt 1100000 ] && cmp -s a.csv b.csv &&
   [ "$(grep -c ',,,$' a.csv)" -lt 5000 ]; then
    ok "both reads give the same rows"
else
    not_ok "both reads give the same rows" "$(diff a.csv b.csv | head -5)"
fi

run "$MF" -C repo get-historical-features --entities "$WORK/ent.csv" -f c:x -f c:y -f c:s -o "$WORK/c.csv"
expect_rc "two-thread read, String key" 0
run "$MF" -C repo get-historical-features --entities "$WORK/ent.csv" -f d:x -f d:y -f d:s -o "$WORK/d.csv"
expect_rc "one-thread read, String key" 0
if cmp -s c.csv d.csv && cmp -s a.csv c.csv; then
    ok "String keys: both reads give the rows of the Int64 keys"
else
    not_ok "String keys: both reads give the rows of the Int64 keys" "$(diff c.csv d.csv | head -5; diff a.csv c.csv | head -5)"
fi

# Quotes: a file is split before anyone has looked for quotes; when the
# first half turns out to hold one, the split may be inside a quoted field
# and the file is read again on one thread. Quoted fields only in the
# second half keep the split. Each result must equal the one-thread twin's.
for case in tail middle; do
    awk -v c="$case" 'NR == 1 { print "driver_id,ts,cr,x,y,s"; next }
      { n = NR - 1 }
      c == "tail" && n > 45000 && n % 7 == 0 { $6 = "\"q,\"\"" n "\"\"\""; }
      c == "middle" && n > 29000 && n < 31000 && n % 3 == 0 { $6 = "\"m" n "\nnext\"" }
      { print }' FS=, OFS=, repo/data/b.csv > repo/data/a.csv
    { echo '"driver_id",ts,cr,x,y,s'; tail -n +2 repo/data/a.csv; } > repo/data/q.csv
    cp repo/data/b.csv repo/data/b.keep && cp repo/data/q.csv repo/data/b.csv
    run "$MF" -C repo get-historical-features --entities "$WORK/ent.csv" -f a:x -f a:s -o "$WORK/qa.csv"
    expect_rc "quotes ($case): read" 0
    run "$MF" -C repo get-historical-features --entities "$WORK/ent.csv" -f b:x -f b:s -o "$WORK/qb.csv"
    expect_rc "quotes ($case): one-thread read" 0
    mv repo/data/b.keep repo/data/b.csv
    if cmp -s qa.csv qb.csv && [ "$(grep -c '"' qa.csv)" -gt 0 ]; then
        ok "quotes ($case): same rows as the one-thread read"
    else
        not_ok "quotes ($case): same rows as the one-thread read" "$(diff qa.csv qb.csv | head -5)"
    fi
done
cp repo/data/b.csv repo/data/a.csv && sed -i '1s/"driver_id"/driver_id/' repo/data/a.csv

# an error in the second half names the file's own line number
awk 'NR == 50001 { print $1 ",,,x,,"; next } { print }' FS=, repo/data/a.csv > repo/data/a2.csv
mv repo/data/a2.csv repo/data/a.csv
run "$MF" -C repo get-historical-features --entities "$WORK/ent.csv" -f a:x
expect_err "an error in the second half names the file's line" 1 "a.csv:50001:"

# output is formatted in chunks of 65536 rows on two threads: 300000 rows
# come out complete and in input order
awk 'BEGIN { print "driver_id,event_timestamp,rowno";
  for (i = 0; i < 300000; i++) printf "%d,%d,%d\n", i % 600, 1735689600 + (i % 400000), i }' > big.csv
run "$MF" -C repo get-historical-features --entities "$WORK/big.csv" -f b:x -o "$WORK/big_out.csv"
expect_rc "300000 entity rows" 0
if [ "$(wc -l < big_out.csv)" -eq 300001 ] &&
   [ "$(tail -n +2 big_out.csv | cut -d, -f3 | awk '$1 != NR - 1 { bad++ } END { print bad + 0 }')" = 0 ]; then
    ok "every row, in input order, across output chunks"
else
    not_ok "every row, in input order, across output chunks" "$(wc -l < big_out.csv) lines"
fi

# the winners of more than 65536 entity rows are found by two threads, one
# half each: the same rows as five reads of 60000 rows (one thread each)
run "$MF" -C repo get-historical-features --entities "$WORK/big.csv" -f b:x -f b:y -f b:s -o "$WORK/big_all.csv"
expect_rc "300000 entity rows, three features" 0
head -n 1 big.csv > big_parts.csv.head
: > big_parts.csv
for p in 0 1 2 3 4; do
    { cat big_parts.csv.head; tail -n +2 big.csv | sed -n "$((p * 60000 + 1)),$((p * 60000 + 60000))p"; } > part.csv
    run "$MF" -C repo get-historical-features --entities "$WORK/part.csv" -f b:x -f b:y -f b:s -o "$WORK/part_out.csv"
    expect_rc "60000 entity rows (part $p)" 0
    if [ "$p" = 0 ]; then cat part_out.csv; else tail -n +2 part_out.csv; fi >> big_parts.csv
done
if cmp -s big_all.csv big_parts.csv && [ "$(cut -d, -f4 big_all.csv | grep -c .)" -gt 1000 ]; then
    ok "two-thread winners: the rows of the one-thread parts"
else
    not_ok "two-thread winners: the rows of the one-thread parts" "$(diff big_all.csv big_parts.csv | head -5)"
fi
