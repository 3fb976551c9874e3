# push_refusals.sh — what refuses an offline push whatever its rows is
# found before anything is written (docs/concepts.md, "Pushes and direct
# writes"): a push --to online_and_offline to such a batch source fails
# and leaves the online store as it was, and its message does not say the
# rows were written online. Each case applies a working source, then
# breaks it:
#   - a Parquet dataset with partition folders (key=value), which pushes
#     do not write to;
#   - a Parquet dataset folder whose files were removed;
#   - a CSV whose folder cannot take the append journal (mode 555, the
#     file 666; run as user nobody through setpriv, skipped without it);
#   - an empty (0-byte) CSV, which has no header;
#   - a sqlite_source whose table was dropped, or whose database it cannot
#     write (as user nobody).
# Also: a push whose second online view fails after the first was written
# says which view was written (and that nothing was appended offline).
. "$(dirname "$0")/lib.sh"
trap 'rm -rf "$WORK"' EXIT
has() { printf '%s' "$1" | grep -qF -- "$2"; }

mkdir -p "$WORK/r/data" && cd "$WORK/r" || exit 1
printf 'project: t\nonline_store:\n  type: sqlite\n  path: data/online.db\n' >feature_store.yaml
cat >defs.lua <<'EOF'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
local function fed(name, src)
  push_source { name = name .. "_push", batch_source = src }
  feature_view { name = name, entities = { k }, ttl = 0, source = name .. "_push",
    schema = { field { name = "x", dtype = Int64 } } }
end
fed("part", file_source { name = "part", path = "data/part", format = "parquet", timestamp_field = "ts" })
fed("nofiles", file_source { name = "nofiles", path = "data/nofiles", format = "parquet", timestamp_field = "ts" })
fed("ro", file_source { name = "ro", path = "data/ro/c.csv", timestamp_field = "ts" })
fed("empty", file_source { name = "empty", path = "data/empty.csv", timestamp_field = "ts" })
fed("lite", sqlite_source { name = "lite", database = "data/src.db", table = "stats", timestamp_field = "ts" })
local m = file_source { name = "m", path = "data/m.csv", timestamp_field = "ts" }
push_source { name = "m_push", batch_source = m }
feature_view { name = "ma", entities = { k }, ttl = 0, source = "m_push",
  schema = { field { name = "x", dtype = Int64 } } }
feature_view { name = "mb", entities = { k }, ttl = 0, source = "m_push",
  schema = { field { name = "x", dtype = Int64 } } }
EOF
printf 'id,ts,x\n1,2025-01-01T00:00:00Z,1\n' >a.csv
mkdir -p data/part/region=eu data/nofiles data/ro
"$MF" to-parquet a.csv data/part/region=eu/part-0.parquet
"$MF" to-parquet a.csv data/nofiles/part-0.parquet
cp a.csv data/ro/c.csv
cp a.csv data/empty.csv
cp a.csv data/m.csv
sqlite3 data/src.db "CREATE TABLE stats (id INTEGER, ts TEXT, x INTEGER);
INSERT INTO stats VALUES (1, '2025-01-01T00:00:00Z', 1);"
run "$MF" apply
expect_rc "apply" 0
rm data/nofiles/part-0.parquet
: >data/empty.csv
sqlite3 data/src.db "DROP TABLE stats"
printf 'id,ts,x\n7,2025-01-02T00:00:00Z,5\n' >p.csv

# online VIEW: the online value of id 7 (null when not stored)
online() {
    "$MF" get-online-features -e id=7 -f "$1:x" | sed -n 's/.*"values":\[\([^]]*\)\].*"values":\[\([^]]*\)\].*/\2/p'
}
# refused NAME VIEW MESSAGE [AS...]: push VIEW's push source to
# online_and_offline (as AS, a command prefix, when given) fails with
# MESSAGE, writes nothing online, and does not say the rows were written
refused() {
    name=$1 view=$2 msg=$3
    shift 3
    run "$@" "$MF" push "${view}_push" --file p.csv --to online_and_offline
    expect_err "$name" 1 "$msg"
    check "  ... before the online write" test "$(online "$view")" = null
    check "  ... so it does not say the rows were written online" sh -c "! printf '%s' \"\$1\" | grep -q 'written to the online store'" - "$ERR"
}

refused "online_and_offline to a partitioned Parquet dataset" part \
    "is a partitioned dataset (key=value folders), which pushes do not write to"
refused "online_and_offline to a Parquet dataset of no files" nofiles \
    "no .parquet file in the directory"
refused "online_and_offline to an empty CSV" empty "needs a header row"
refused "online_and_offline to a sqlite_source whose table is gone" lite "no such table: stats"

if command -v setpriv >/dev/null 2>&1 && id nobody >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    chmod 711 "$WORK"
    chown -R nobody "$WORK/r"
    chmod 555 data/ro
    chmod 666 data/ro/c.csv
    refused "online_and_offline to a CSV whose folder is not writable" ro \
        "data/ro: Permission denied" setpriv --reuid=nobody --regid=nogroup --clear-groups
    chmod 755 data/ro
    # a database it cannot write: SQLite opens it read-only without a word
    sqlite3 data/src.db "CREATE TABLE stats (id INTEGER, ts TEXT, x INTEGER)"
    chown nobody data/src.db
    chmod 444 data/src.db
    refused "online_and_offline to a sqlite_source it cannot write" lite \
        "data/src.db is read-only" setpriv --reuid=nobody --regid=nogroup --clear-groups
    chmod 644 data/src.db
else
    echo "# skipped: a CSV whose folder is not writable (needs root, setpriv and user nobody)"
fi

# two online views: the second's table gone, the first is written
sqlite3 data/online.db 'DROP TABLE "t:mb"'
before=$(wc -l <data/m.csv)
run "$MF" push m_push --file p.csv --to online_and_offline
expect_err "a push whose second online view fails" 1 "feature view 'mb' has no table"
check "  ... says the first view was written online" has "$ERR" "the rows were written online to feature view 'ma'"
check "  ... and nothing offline" has "$ERR" "nothing was appended to the offline source"
check "  ... and appended nothing" test "$(wc -l <data/m.csv)" -eq "$before"
check "  ... the first view has the row" test "$(online ma)" = 5
