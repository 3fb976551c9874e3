# source_limits.sh — inputs that are not CSV files, or CSV files past the
# reader's limits, given as source paths, entity rows or pushed rows: each
# is an error that names the file (and line, column), exits 1, and never
# hangs, aborts or fills memory (every command runs under a time limit).
# The limits: offline_store.max_line_bytes (64 MiB by default), no NUL
# byte, unique column names; directories and devices are refused, a FIFO
# without a writer is empty.
. "$(dirname "$0")/lib.sh"

TO=""
command -v timeout >/dev/null 2>&1 && TO="timeout 60"
# lrun CMD...: run with a time limit (124: it hung) and a memory limit (the
# old reader of /dev/zero grew until it died); ASan reserves terabytes of
# address space, so a sanitized binary gets ASan's own limit instead
if ldd "$MF" 2>/dev/null | grep -q libasan; then
    VLIMIT=unlimited
    export ASAN_OPTIONS="${ASAN_OPTIONS:-}:hard_rss_limit_mb=4000"
else
    VLIMIT=4000000
fi
lrun() { run sh -c 'ulimit -v "$0"; exec "$@"' "$VLIMIT" $TO "$@"; }

# expect_all NAME RC SUBSTRING...: the exit code and every substring in stderr
expect_all() {
    name=$1 want=$2
    shift 2
    for s in "$@"; do
        if ! printf '%s' "$ERR" | grep -qF -- "$s"; then
            not_ok "$name" "stderr lacks: $s" "exit $RC" "stderr: $ERR"
            return
        fi
    done
    expect_err "$name" "$want" "$1"
}

mkdir -p repo/data && cd repo || exit 1
printf 'project: t\n' >feature_store.yaml
# defs PATH [MAPPING]: one view over the file source at PATH
defs() {
    cat >defs.lua <<EOF
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
local src = file_source { name = "s", path = "$1", timestamp_field = "ts" ${2:-} }
feature_view { name = "v", entities = { k }, ttl = 0, source = src,
  schema = { field { name = "x", dtype = String } } }
push_source { name = "p", batch_source = src }
EOF
}
defs data/s.csv
GOOD='id,ts,x
1,2025-01-01T10:00:00Z,a
2,2025-01-01T10:00:00Z,b'
printf '%s\n' "$GOOD" >data/s.csv
printf 'id,event_timestamp\n1,2025-01-01T10:30:00Z\n' >e.csv
lrun "$MF" apply
expect_rc "setup: apply" 0
ghf() { lrun "$MF" get-historical-features "$@"; }

#---- not files --------------------------------------------------------------------

defs /dev/zero
lrun "$MF" apply
expect_all "source path /dev/zero" 1 "/dev/zero" "character device"

mkfifo data/fifo.csv
defs data/fifo.csv
lrun "$MF" apply
expect_all "source path a FIFO without a writer" 1 "data/fifo.csv" "empty"

mkdir -p data/dir.csv
defs data/dir.csv
lrun "$MF" apply
expect_all "source path a directory" 1 "data/dir.csv" "directory"

defs data/s.csv
lrun "$MF" apply
expect_rc "setup: the good source again" 0

ghf -e /dev/zero -f v:x
expect_all "entity rows from /dev/zero" 1 "/dev/zero" "character device"

ghf -e data/fifo.csv -f v:x
expect_all "entity rows from a FIFO without a writer" 1 "data/fifo.csv" "empty"

ghf -e data/dir.csv -f v:x
expect_all "entity rows from a directory" 1 "data/dir.csv" "directory"

lrun sh -c 'printf "id,event_timestamp\n1,2025-01-01T10:30:00Z\n" | "$0" get-historical-features -e /dev/stdin -f v:x' "$MF"
expect_out "entity rows from a pipe" "id,event_timestamp,x
1,2025-01-01T10:30:00Z,a"

lrun "$MF" push p --file /dev/zero --to offline
expect_all "pushed rows from /dev/zero" 1 "/dev/zero" "character device"

#---- record length ------------------------------------------------------------------

long=$(awk 'BEGIN { s = ""; for (i = 0; i < 2000; i++) s = s "y"; print s }')
printf 'project: t\noffline_store: {type: file, max_line_bytes: 1024}\n' >feature_store.yaml
printf '%s\n3,2025-01-01T10:00:00Z,%s\n' "$GOOD" "$long" >data/s.csv
ghf -e e.csv -f v:x
expect_all "source record over offline_store.max_line_bytes" 1 "data/s.csv:4:" \
    "record longer than 1024 bytes (offline_store.max_line_bytes)" "field 3 (x)"

printf 'project: t\noffline_store: {type: file, max_line_bytes: 4096}\n' >feature_store.yaml
ghf -e e.csv -f v:x
expect_out "the same record under a larger limit" "id,event_timestamp,x
1,2025-01-01T10:30:00Z,a"

# more than 1 MiB without quotes: two threads read a half each; the long
# record is in the second half
printf 'project: t\noffline_store: {type: file, max_line_bytes: 1024}\n' >feature_store.yaml
awk -v long="$long" 'BEGIN {
    print "id,ts,x"
    for (i = 0; i < 40000; i++)
        printf "%d,2025-01-01T10:00:00Z,%s\n", i % 100, (i == 30000 ? long : "value-" i)
}' >data/s.csv
ghf -e e.csv -f v:x
expect_all "over-long record in the second half of a split read" 1 "data/s.csv:30002:" \
    "record longer than 1024 bytes"
lrun "$MF" materialize 2025-01-01T00:00:00Z 2025-01-02T00:00:00Z
expect_all "the same in materialize" 1 "data/s.csv:30002:" "record longer than 1024 bytes"
printf 'project: t\n' >feature_store.yaml

#---- NUL bytes ----------------------------------------------------------------------

printf '%s\n3,2025-01-01T10:00:00Z,p\000q\n' "$GOOD" >data/s.csv
ghf -e e.csv -f v:x
expect_all "NUL byte in a source cell" 1 "data/s.csv:4:" "NUL byte in field 3 (x)"

printf '%s\n' "$GOOD" >data/s.csv
printf 'id,event_timestamp,note\n1,2025-01-01T10:30:00Z,"a\000b"\n' >nul.csv
ghf -e nul.csv -f v:x
expect_all "NUL byte in a pass-through entity column" 1 "nul.csv:2:" "NUL byte in field 3 (note)"
if od -An -c "$WORK/.out" | grep -q '\\0'; then
    not_ok "no NUL byte reaches the output"
else
    ok "no NUL byte reaches the output"
fi

#---- duplicate columns ------------------------------------------------------------------

printf 'id,ts,x,x\n1,2025-01-01T10:00:00Z,a,b\n' >data/s.csv
lrun "$MF" apply
expect_all "source with a column twice: apply" 1 "data/s.csv:1:" "two columns named 'x' (columns 3 and 4)"
ghf -e e.csv -f v:x
expect_all "source with a column twice: get-historical-features" 1 "data/s.csv:1:" \
    "two columns named 'x'"
lrun "$MF" materialize 2025-01-01T00:00:00Z 2025-01-02T00:00:00Z
expect_all "source with a column twice: materialize" 1 "data/s.csv:1:" "two columns named 'x'"

printf 'id,ts,x,y\n1,2025-01-01T10:00:00Z,a,b\n' >data/s.csv
defs data/s.csv ', field_mapping = { y = "x" }'
lrun "$MF" apply
expect_all "two columns named alike after field_mapping" 1 "data/s.csv:1:" \
    "columns 3 ('x') and 4 ('y') are both named 'x' after field_mapping"

sqlite3 data/s.db "CREATE TABLE t (id INTEGER, ts TEXT, x TEXT);
INSERT INTO t VALUES (1, '2025-01-01T10:00:00Z', 'a');"
cat >defs.lua <<'EOF'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
feature_view { name = "v", entities = { k }, ttl = 0,
  source = sqlite_source { name = "s", database = "data/s.db", query = "SELECT id, ts, x, x FROM t",
                           timestamp_field = "ts" },
  schema = { field { name = "x", dtype = String } } }
EOF
lrun "$MF" apply
expect_all "SQLite source query with a column twice" 1 "data/s.db" "two columns named 'x'"

# a query of more than one statement (what followed the first was ignored)
sed -i 's/query = "SELECT id, ts, x, x FROM t"/query = "SELECT id, ts, x FROM t; DELETE FROM t"/' defs.lua
lrun "$MF" apply
expect_all "SQLite source query of two statements" 1 "data/s.db" "must be one SELECT statement (more follows the first)"
