# push_ranges.sh — values out of their type's range in pushed files
# (`moonfeast push`, `moonfeast write-to-online-store`; docs/concepts.md,
# "Pushes and direct writes").
#
# A repo (project "ranges") with an Int32 entity `d32`, a file source
# data/src.csv (d32, ts, created, n), a push source on it and an online
# view v32 {n Int64}. Cases: a join key 4294967301 (2^32 + 5) and
# -2147483649 are refused by push (every destination) and by
# write-to-online-store, naming the file, line, column and value, and write
# nothing (the batch CSV byte for byte, no row for d32 = 5); an event time
# or created time as epoch seconds past 9999-12-31T23:59:59Z, or a number
# whose microseconds overflow, is refused the same way; the bounds
# (2147483647, -2147483648, 253402300799) are accepted and read back.
. "$(dirname "$0")/lib.sh"

ALL=$WORK/.all
r() {
    run "$@"
    printf '%s\n' "$ERR" >>"$ALL"
}
expect_same() { # NAME FILE WANT-FILE
    if cmp -s "$2" "$3"; then ok "$1"; else not_ok "$1" "$(diff "$3" "$2" | head -5)"; fi
}

mkdir -p repo/data
cd repo || exit 1
printf 'project: ranges\n' >feature_store.yaml
cat >defs.lua <<'EOF'
local d32 = entity { name = "d32", join_keys = { "d32" }, value_type = Int32 }
local src = file_source {
  name = "src", path = "data/src.csv", timestamp_field = "ts", created_timestamp_column = "created",
}
local ps = push_source { name = "ps", batch_source = src }
feature_view {
  name = "v32", entities = { d32 }, ttl = 0, source = ps,
  schema = { field { name = "n", dtype = Int64 } },
}
EOF
printf 'd32,ts,created,n\n1,2025-01-01T00:00:00Z,,1\n' >data/src.csv
r "$MF" apply
expect_rc "apply" 0
cp data/src.csv "$WORK/orig.csv"

# n_of KEY: "value|status" of v32:n for d32 = KEY
n_of() {
    r "$MF" get-online-features -e "d32=$1" -f v32:n
    if [ "$RC" -ne 0 ]; then echo "failed: $ERR"; return; fi
    printf '%s\n' "$OUT" | awk -f "$E2E_DIR/rows.awk" | cut -d'|' -f4,5
}
expect_n() { # NAME KEY WANT
    got=$(n_of "$2")
    if [ "$got" = "$3" ]; then ok "$1"; else not_ok "$1" "got:  $got" "want: $3"; fi
}

# refused NAME MESSAGE ROW: the row is refused by every write command
refused() {
    printf 'd32,ts,created,n\n1,2025-01-02T00:00:00Z,,2\n%s\n' "$3" >bad.csv
    for to in online offline online_and_offline; do
        r "$MF" push ps --file bad.csv --to $to
        expect_err "$1: push --to $to" 1 "bad.csv:3: $2"
    done
    r "$MF" write-to-online-store v32 --file bad.csv
    expect_err "$1: write-to-online-store" 1 "bad.csv:3: $2"
    expect_same "$1: the batch CSV is untouched" data/src.csv "$WORK/orig.csv"
    expect_n "$1: nothing online" 1 "null|NOT_FOUND"
}

refused "Int32 key 2^32 + 5" "column 'd32': '4294967301' is not a valid Int32 join key" \
    "4294967301,2025-01-02T00:00:00Z,,3"
expect_n "Int32 key 2^32 + 5: not stored as 5" 5 "null|NOT_FOUND"
refused "Int32 key below Int32" "column 'd32': '-2147483649' is not a valid Int32 join key" \
    "-2147483649,2025-01-02T00:00:00Z,,3"
refused "event time past year 9999" "column 'ts': '253402300800' is not a timestamp" \
    "2,253402300800,,3"
refused "event time overflowing as microseconds" "column 'ts': '9223372036855' is not a timestamp" \
    "2,9223372036855,,3"
refused "created time past year 9999" "column 'created': '253402300800' is not a timestamp" \
    "2,2025-01-02T00:00:00Z,253402300800,3"

printf 'd32,ts,created,n\n2147483647,253402300799,,7\n-2147483648,2025-01-02T00:00:00Z,253402300799,8\n' >good.csv
r "$MF" push ps --file good.csv --to online_and_offline
expect_rc "the bounds are accepted" 0
expect_n "Int32 key 2147483647 reads back" 2147483647 "7|PRESENT"
expect_n "Int32 key -2147483648 reads back" -2147483648 "8|PRESENT"
{ cat "$WORK/orig.csv"; tail -n +2 good.csv; } >"$WORK/want.csv"
expect_same "the bounds are appended as pushed" data/src.csv "$WORK/want.csv"
r "$MF" materialize 2025-01-01T00:00:00Z 9999-12-31T23:59:59Z
expect_rc "materialize reads them back" 0

if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:|Segmentation' "$ALL"; then
    not_ok "no sanitizer report or crash in any run" \
        "$(grep -E -m5 'AddressSanitizer|LeakSanitizer|runtime error:|Segmentation' "$ALL")"
else
    ok "no sanitizer report or crash in any run"
fi
