# parquet.sh — Parquet through the real CLI: a DuckDB-written file as a
# file_source (schema inference from its types, the join, materialization,
# values that do not fit the declared dtype), a dataset directory with Hive
# partition folders, bad files, get-historical-features -o x.parquet read
# back by moonfeast and by DuckDB (when node and npm are there: installed
# once into build/duckdb-node; skipped with a message otherwise), push
# --to offline into a dataset and onto a single file.
. "$(dirname "$0")/lib.sh"
TOP=$(cd "$E2E_DIR/../.." && pwd)
FIX=$TOP/tests/parquet/fixtures

repo() {
    mkdir -p "$WORK/$1/data" && cd "$WORK/$1" || exit 1
    printf 'project: t\nonline_store:\n  type: sqlite\n  path: data/online.db\n' >feature_store.yaml
    cat >defs.lua
}

#---- a DuckDB file: inference, join, materialize ----------------------------------

repo types <<'EOF'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
feature_view { name = "v", entities = { k }, ttl = 0,
  source = file_source { name = "s", path = "data/types.parquet", timestamp_field = "t0" } }
EOF
cp "$FIX/types_v2_zstd.parquet" data/types.parquet
run "$MF" apply
expect_rc "apply infers a view's schema from a Parquet file" 0
run "$MF" registry-dump
types=$(printf '%s' "$OUT" | tr -d ' \n' | grep -o '"name":"[a-z0-9]*","dtype":"[A-Za-z0-9()]*"' |
    sed 's/"name":"\([^"]*\)","dtype":"\([^"]*\)"/\1=\2/' | tr '\n' ' ')
want='b=Bool i8=Int32 i16=Int32 i32=Int32 i64=Int64 u8=Int64 u16=Int64 u32=Int64 u64=Int64 f=Float32 d=Float64 s=String s2=String bl=Bytes ts=UnixTimestamp tms=UnixTimestamp tns=UnixTimestamp tz=UnixTimestamp dt=UnixTimestamp dec9=Float64 dec18=Float64 li=Array(Int64) ls=Array(String) ld=Array(Float64) id=Int64 '
if [ "$types" = "$want" ]; then ok "inferred types follow the Parquet types"
else not_ok "inferred types follow the Parquet types" "got:  $types" "want: $want"; fi

# UBIGINT values above 2^63 do not fit the Int64 inferred for them
printf 'id,event_timestamp\n1,2025-01-01T00:01:00Z\n1,2025-01-01T00:00:59Z\n299,2030-01-01\n7,2025-01-01T00:07:00Z\n' >e.csv
run "$MF" get-historical-features --entities e.csv -f v:u64
expect_err "an unsigned 64-bit value above Int64 is an error naming it" 1 \
    "row group 1, row 1 (row 1 of the file): column 'u64': '9223372036854775808' is not a valid Int64"
sed -i 's/ttl = 0,$/ttl = 0, schema = { field { name = "i64", dtype = Int64 }, field { name = "s2", dtype = String }, field { name = "tns", dtype = UnixTimestamp }, field { name = "dec9", dtype = Float64 }, field { name = "li", dtype = Array(Int64) }, field { name = "bl", dtype = Bytes }, field { name = "b", dtype = Bool }, field { name = "s", dtype = String }, field { name = "ld", dtype = Array(Float64) }, field { name = "dt", dtype = UnixTimestamp }, field { name = "u32", dtype = Float64 } },/' defs.lua
run "$MF" apply
expect_rc "apply with a declared schema" 0
run "$MF" get-historical-features --entities e.csv -f v:i64 -f v:s2 -f v:tns -f v:dec9 -f v:li -f v:bl -f v:b -f v:u32
expect_out "historical retrieval reads typed Parquet values (declared types win)" 'id,event_timestamp,i64,s2,tns,dec9,li,bl,b,u32
1,2025-01-01T00:01:00Z,-4469999999999999,value-1-é,2025-01-01T00:00:01.000001Z,-186.25,"[1,2,-1]",b1,false,4294967294
1,2025-01-01T00:00:59Z,,,,,,,,
299,2030-01-01,4470000000000299,,2025-01-01T00:04:59.000299Z,,"[299,300,-299]",b299,false,4294966996
7,2025-01-01T00:07:00Z,-4289999999999993,value-7-é,2025-01-01T00:00:07.000007Z,-178.75,,b7,,'
run "$MF" materialize 2024-01-01 2026-01-01
expect_rc "materialize from a Parquet file" 0
run "$MF" get-online-features -f v:s -f v:ld -f v:dt -e id=10
case "$OUT" in
*'"cat0"'*'[5,-1.25]'*'"1970-01-04T00:00:00Z"'*) ok "online values from the Parquet file" ;;
*) not_ok "online values from the Parquet file" "$OUT" ;;
esac

# a value that does not fit the declared dtype: file, row group, column, row
cat >>defs.lua <<'EOF'
feature_view { name = "narrow", entities = { k }, ttl = 0,
  schema = { field { name = "i64", dtype = Int32 } },
  source = file_source { name = "s2", path = "data/types.parquet", timestamp_field = "t0" } }
EOF
run "$MF" apply
run "$MF" get-historical-features --entities e.csv -f narrow:i64
# (row 1, key 0, is asked by no entity row: as in a CSV file, its cell is
# not converted; row 2, key 1, answers one)
expect_err "a value out of the declared type names file, row group, column and row" 1 \
    "types.parquet: row group 1, row 2 (row 2 of the file): column 'i64': '-4469999999999999' is not a valid Int32"
# a null event timestamp is an error like an empty CSV cell
cat >>defs.lua <<'EOF'
feature_view { name = "nullts", entities = { k }, ttl = 0,
  schema = { field { name = "s", dtype = String } },
  source = file_source { name = "s3", path = "data/types.parquet", timestamp_field = "ts" } }
EOF
run "$MF" apply
run "$MF" get-historical-features --entities e.csv -f nullts:s
expect_err "a null timestamp is an error naming its row" 1 \
    "row group 1, row 1 (row 1 of the file): column 'ts': '' is not a timestamp"

#---- bad files ------------------------------------------------------------------------

repo bad <<'EOF'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
feature_view { name = "v", entities = { k }, ttl = 0,
  schema = { field { name = "x", dtype = Int64 } },
  source = file_source { name = "s", path = "data/x.parquet", timestamp_field = "ts" } }
EOF
printf 'id,ts,x\n1,2025-01-01,1\n' >data/x.parquet
run "$MF" apply
expect_err "a CSV named .parquet: not a Parquet file" 1 "data/x.parquet: not a Parquet file (no PAR1 magic number at its start)"
head -c 3000 "$FIX/types_snappy.parquet" >data/x.parquet
run "$MF" apply
expect_err "a truncated Parquet file: an error naming it" 1 "x.parquet: not a Parquet file (no PAR1 magic number at its end)"
cp "$FIX/types_brotli.parquet" data/x.parquet
sed -i 's/"x", dtype = Int64/"i64", dtype = Int64/; s/timestamp_field = "ts"/timestamp_field = "t0"/' defs.lua
run "$MF" apply
expect_rc "apply of a brotli file (only the metadata is read)" 0
printf 'id,event_timestamp\n1,2026-01-01\n' >e.csv
run "$MF" get-historical-features --entities e.csv -f v:i64
expect_err "an unsupported codec is named" 1 "compression BROTLI is not supported"
run "$MF" get-historical-features --entities e.csv -f v:i64 -o out.txt
expect_err "-o with an unknown extension is an error" 2 "cannot tell the format of 'out.txt'"

#---- a dataset with partition folders ---------------------------------------------------

repo ds <<'EOF'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
feature_view { name = "v", entities = { k }, ttl = 0,
  schema = { field { name = "x", dtype = Float64 }, field { name = "region", dtype = String } },
  source = file_source { name = "s", path = "data/ds", format = "parquet", timestamp_field = "ts" } }
EOF
mkdir -p data/ds/region=eu data/ds/region=us%2Fwest data/ds/_tmp
printf 'id,ts,x\n1,2025-01-01T00:00:00Z,1.5\n2,2025-01-01T00:00:00Z,2.5\n' >a.csv
printf 'id,ts,x\n1,2025-01-02T00:00:00Z,3.5\n3,2025-01-01T00:00:00Z,4.5\n' >b.csv
"$MF" to-parquet a.csv data/ds/region=eu/part-0.parquet
"$MF" to-parquet b.csv data/ds/region=us%2Fwest/part-0.parquet
cp a.csv data/ds/_tmp/ignored.parquet
run "$MF" apply
expect_rc "apply a dataset source" 0
printf 'id,event_timestamp\n1,2025-01-01T12:00:00Z\n1,2025-01-03\n2,2025-01-03\n3,2025-01-03\n4,2025-01-03\n' >e.csv
run "$MF" get-historical-features --entities e.csv -f v:x -f v:region
expect_out "a dataset: every file, partition folders as columns" 'id,event_timestamp,x,region
1,2025-01-01T12:00:00Z,1.5,eu
1,2025-01-03,3.5,us/west
2,2025-01-03,2.5,eu
3,2025-01-03,4.5,us/west
4,2025-01-03,,'

#---- -o x.parquet, read back ------------------------------------------------------------

run "$MF" get-historical-features --entities e.csv -f v:x -f v:region -o "$WORK/out.parquet"
expect_rc "-o out.parquet" 0
run "$MF" get-historical-features --entities e.csv -f v:x -f v:region --format parquet
if [ "$RC" -eq 0 ] && head -c 4 "$WORK/.out" | grep -q PAR1; then ok "--format parquet to stdout"
else not_ok "--format parquet to stdout" "exit $RC"; fi

repo back <<'EOF'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
feature_view { name = "o", entities = { k }, ttl = 0,
  source = file_source { name = "o", path = "data/out.parquet", timestamp_field = "event_timestamp" } }
EOF
cp "$WORK/out.parquet" data/out.parquet
run "$MF" apply
printf 'id,event_timestamp\n1,2025-01-03\n3,2025-01-03\n4,2025-01-03\n' >e.csv
run "$MF" get-historical-features --entities e.csv -f o:x -f o:region
expect_out "moonfeast reads its own Parquet output back (as a source)" 'id,event_timestamp,x,region
1,2025-01-03,3.5,us/west
3,2025-01-03,4.5,us/west
4,2025-01-03,,'

# DuckDB reads it with the same types
DUCK=$TOP/build/duckdb-node
SPEC=@duckdb/node-api@1.5.6-r.1
why=
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    why="node or npm is missing"
elif [ ! -f "$DUCK/node_modules/@duckdb/node-api/package.json" ] &&
    ! npm install --prefix "$DUCK" --no-audit --no-fund --loglevel=error "$SPEC" >"$WORK/npm.log" 2>&1; then
    why="npm install $SPEC failed: $(tail -n 2 "$WORK/npm.log" | tr '\n' ' ')"
fi
if [ -n "$why" ]; then
    echo "# skipped: DuckDB reading moonfeast's Parquet output: $why"
else
    cat >"$WORK/duck.mjs" <<'EOF'
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
const require = createRequire(join(process.argv[2], 'index.js'));
const { DuckDBInstance } = await import(pathToFileURL(require.resolve('@duckdb/node-api')).href);
const con = await (await DuckDBInstance.create(':memory:')).connect();
for (const q of process.argv.slice(3)) {
  const r = await con.runAndReadAll(q);
  for (const row of r.getRowsJS()) console.log(row.map((v) => (v === null ? 'NULL' : String(v))).join('|'));
}
EOF
    run node "$WORK/duck.mjs" "$DUCK" \
        "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM '$WORK/out.parquet')" \
        "SELECT id, event_timestamp, x, region FROM '$WORK/out.parquet'"
    expect_out "DuckDB reads the output with its types and values" 'id|VARCHAR
event_timestamp|VARCHAR
x|DOUBLE
region|VARCHAR
1|2025-01-01T12:00:00Z|1.5|eu
1|2025-01-03|3.5|us/west
2|2025-01-03|2.5|eu
3|2025-01-03|4.5|us/west
4|2025-01-03|NULL|NULL'
fi

#---- push --to offline ------------------------------------------------------------------

repo push <<'EOF'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
local src = file_source { name = "s", path = "data/ds", format = "parquet", timestamp_field = "ts" }
local single = file_source { name = "one", path = "data/one.parquet", timestamp_field = "ts" }
push_source { name = "p", batch_source = src }
push_source { name = "p1", batch_source = single }
feature_view { name = "v", entities = { k }, ttl = 0, online = false,
  schema = { field { name = "x", dtype = Float64 } }, source = "p" }
feature_view { name = "w", entities = { k }, ttl = 0, online = false,
  schema = { field { name = "x", dtype = Float64 } }, source = "p1" }
EOF
mkdir -p data/ds
printf 'id,ts,x\n1,2025-01-01T00:00:00Z,1.5\n' >a.csv
"$MF" to-parquet a.csv data/ds/part-0.parquet
"$MF" to-parquet a.csv data/one.parquet
run "$MF" apply
expect_rc "apply push sources over Parquet" 0
printf 'id,ts,x\n1,2025-01-02T00:00:00Z,9.25\n2,2025-01-02T00:00:00Z,7\n' >rows.csv
run "$MF" push p --file rows.csv --to offline
expect_rc "push --to offline into a Parquet dataset" 0
n=$(ls data/ds | grep -c '^push-.*\.parquet$')
left=$(ls -a data/ds | grep -c 'tmp')
if [ "$n" = 1 ] && [ "$left" = 0 ]; then ok "the push added one file, no temporary left"
else not_ok "the push added one file, no temporary left" "$(ls -a data/ds)"; fi
printf 'id,event_timestamp\n1,2025-01-03\n2,2025-01-03\n' >e.csv
run "$MF" get-historical-features --entities e.csv -f v:x
expect_out "pushed rows are read" 'id,event_timestamp,x
1,2025-01-03,9.25
2,2025-01-03,7'
run "$MF" push p1 --file rows.csv --to offline
expect_err "push --to offline onto a single Parquet file is an error saying why" 1 \
    "is a single Parquet file, which cannot take more rows"
printf 'id,ts,x\n1,2025-01-02T00:00:00Z,abc\n' >bad.csv
run "$MF" push p --file bad.csv --to offline
expect_err "a bad pushed cell: nothing written" 1 "abc"
n=$(ls data/ds | grep -c '^push-.*\.parquet$')
if [ "$n" = 1 ]; then ok "a failed push adds no file"; else not_ok "a failed push adds no file" "$(ls data/ds)"; fi

#---- materialize from Parquet: the same winners as from the CSV -------------------------
# 400 rows of 42 keys (and null keys), three distinct event times so that
# ties are common, broken by a created time that ties too (the later row
# wins); rows outside the window; the Parquet copy as a dataset of two
# files (two threads read one each, ties across them settled by the merge). Both views must hold the winners an
# independent reckoning (awk) gives.

repo matpq <<'EOF'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
feature_view { name = "c", entities = { k }, ttl = 0,
  schema = { field { name = "x", dtype = Int64 } },
  source = file_source { name = "sc", path = "data/m.csv", timestamp_field = "ts",
                         created_timestamp_column = "cr" } }
feature_view { name = "p", entities = { k }, ttl = 0,
  schema = { field { name = "x", dtype = Int64 } },
  source = file_source { name = "sp", path = "data/mp", format = "parquet", timestamp_field = "ts",
                         created_timestamp_column = "cr" } }
EOF
awk 'BEGIN {
    print "id,ts,cr,x"
    for (r = 1; r <= 400; r++) {
        id = (r * 7919) % 43; if (id == 0) id = ""
        ts = sprintf("2025-01-0%dT00:00:00Z", 1 + (r * 31) % 3)
        if (r % 23 == 0) ts = "2024-12-15T00:00:00Z"
        if (r % 29 == 0) ts = "2025-03-01T00:00:00Z"
        # a key comes back every 43 rows, its event time every third time:
        # in the first file its created time too (full ties: the later row
        # wins), in the second not (the created time decides)
        printf "%s,%s,2025-01-20T00:00:0%dZ,%d\n", id, ts, r <= 200 ? (r * 17) % 3 : r % 2, r
    }
}' >data/m.csv
mkdir -p data/mp
head -n 201 data/m.csv >part0.csv
{ head -n 1 data/m.csv; tail -n +202 data/m.csv; } >part1.csv
"$MF" to-parquet part0.csv data/mp/part-0.parquet
"$MF" to-parquet part1.csv data/mp/part-1.parquet
want=$(awk -F, 'NR > 1 && $1 != "" && $2 >= "2025-01-01" && $2 < "2025-02-01" {
    if (!($1 in bt) || $2 > bt[$1] || ($2 == bt[$1] && $3 >= bc[$1])) { bt[$1] = $2; bc[$1] = $3; bx[$1] = $4 }
} END {
    s = ""
    for (i = 0; i <= 42; i++) s = s (i ? "," : "") (i in bx ? bx[i] : "null")
    print s
}' data/m.csv)
run "$MF" apply
expect_rc "apply a CSV view and a Parquet view of the same rows" 0
run "$MF" materialize 2025-01-01 2025-02-01
expect_rc "materialize both" 0
set --
i=0
while [ "$i" -le 42 ]; do set -- "$@" -e "id=$i"; i=$((i + 1)); done
run "$MF" get-online-features "$@" -f c:x -f p:x --full-feature-names
got_c=$(printf '%s' "$OUT" | awk -F'{"values":\\[' '{print $3}' | sed 's/\].*//')
got_p=$(printf '%s' "$OUT" | awk -F'{"values":\\[' '{print $4}' | sed 's/\].*//')
if [ "$RC" = 0 ] && [ "$got_c" = "$want" ] && [ "$got_p" = "$want" ]; then
    ok "materialize from Parquet: the winners of the CSV (ties, null keys, the window)"
else
    not_ok "materialize from Parquet: the winners of the CSV (ties, null keys, the window)" \
        "want $want" "csv  $got_c" "pq   $got_p" "stderr: $ERR"
fi

#---- to-parquet: UTF-8 is checked cell by cell -------------------------------------

# two cells whose bytes make one character together ("\303" "\251" is é):
# the column was typed String, those two cells failed to go in, and the
# others moved up (row 3's value read as row 1's)
repo split8 <<'EOF2'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
feature_view { name = "v", entities = { k }, ttl = 0,
  source = file_source { name = "s", path = "data/s.parquet", timestamp_field = "ts" } }
EOF2
printf 'id,ts,b\n1,2025-01-01T00:00:00Z,\303\n2,2025-01-01T00:00:00Z,\251\n3,2025-01-01T00:00:00Z,x\n' >s.csv
run "$MF" to-parquet s.csv data/s.parquet
expect_rc "to-parquet of cells that are UTF-8 only together" 0
run "$MF" apply
expect_rc "  ... apply infers from it" 0
expect_dtype "  ... the column is Bytes, not String" b Bytes
printf 'id,event_timestamp\n1,2025-01-02T00:00:00Z\n2,2025-01-02T00:00:00Z\n3,2025-01-02T00:00:00Z\n' >e.csv
run "$MF" get-historical-features -e e.csv -f v:b -o out.jsonl
expect_rc "  ... and joins" 0
got=$(grep -o '"b":"[^"]*"' out.jsonl | tr '\n' ' ')
if [ "$got" = '"b":"ww==" "b":"qQ==" "b":"eA==" ' ]; then ok "  ... each row with its own value"
else not_ok "  ... each row with its own value" "got: $got"; fi
# an entity column passed through to a Parquet output, the same two cells:
# it was annotated UTF-8 text (readers refuse the file)
printf 'id,event_timestamp,note\n1,2025-01-02T00:00:00Z,\303\n2,2025-01-02T00:00:00Z,\251\n' >e2.csv
run "$MF" get-historical-features -e e2.csv -f v:b -o data/u.parquet
expect_rc "an entity column UTF-8 only across cells, into Parquet" 0
cat >>defs.lua <<'EOF2'
feature_view { name = "u", entities = { k }, ttl = 0,
  source = file_source { name = "us", path = "data/u.parquet", timestamp_field = "event_timestamp" } }
EOF2
run "$MF" apply
expect_rc "  ... read back as a source" 0
expect_dtype "  ... its column is bytes, not text" note Bytes

# a list of BLOBs holding bytes that are not UTF-8 (DuckDB writes it): an
# error naming the cell, as the same list in a CSV cell (the bytes were
# replaced by U+FFFD, silently)
if [ -n "$why" ]; then
    echo "# skipped: a DuckDB-written list of BLOBs: $why"
else
    run node "$WORK/duck.mjs" "$DUCK" \
        "COPY (SELECT 1::BIGINT AS id, TIMESTAMP '2025-01-01 00:00:00' AS ts, [from_hex('ff41')] AS lb, [from_hex('4142')] AS ok) TO '$WORK/split8/data/lb.parquet' (FORMAT parquet)"
    expect_rc "DuckDB writes a list of BLOBs" 0
    cat >>defs.lua <<'EOF2'
feature_view { name = "lbv", entities = { k }, ttl = 0,
  schema = { field { name = "lb", dtype = Array(Bytes) }, field { name = "ok", dtype = Array(Bytes) } },
  source = file_source { name = "lbs", path = "data/lb.parquet", timestamp_field = "ts" } }
EOF2
    run "$MF" apply
    expect_rc "  ... a view over it" 0
    run "$MF" get-historical-features -e e.csv -f lbv:ok -o ok.jsonl
    expect_rc "  ... its UTF-8 elements join" 0
    check_ok() { if grep -q '"ok":\["AB"\]' ok.jsonl; then ok "$1"; else not_ok "$1" "$(cat ok.jsonl)"; fi; }
    check_ok "  ... as they are"
    run "$MF" get-historical-features -e e.csv -f lbv:lb -o lb.jsonl
    expect_err "  ... an element that is not UTF-8: an error naming the column" 1 "column 'lb'"
fi

# a column null in every row (no values at all): written, and read back
# (the page-size check read the values' offsets, which such a column has
# not: a crash)
repo allnull <<'EOF2'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
feature_view { name = "v", entities = { k }, ttl = 0,
  schema = { field { name = "b", dtype = String } },
  source = file_source { name = "s", path = "data/n.parquet", timestamp_field = "ts" } }
EOF2
printf 'id,ts,b\n1,2025-01-01T00:00:00Z,\n2,2025-01-01T00:00:00Z,\n' >n.csv
run "$MF" to-parquet n.csv data/n.parquet
expect_rc "to-parquet of a column null in every row" 0
run "$MF" apply
expect_rc "  ... a view over it" 0
printf 'id,event_timestamp\n1,2025-01-02T00:00:00Z\n2,2025-01-02T00:00:00Z\n' >e.csv
run "$MF" get-historical-features -e e.csv -f v:b -o out.parquet
expect_rc "  ... joined into a Parquet output, null in every row" 0
run "$MF" get-historical-features -e e.csv -f v:b
expect_out "  ... nulls read back" 'id,event_timestamp,b
1,2025-01-02T00:00:00Z,
2,2025-01-02T00:00:00Z,'

# a column name that is not UTF-8 (Parquet's names are UTF-8 text; DuckDB
# refused to open such a file, which was written with exit 0): refused
# before anything is written, naming the column, to-parquet and a
# retrieval's Parquet output alike
printf 'id,ts,b\377\n1,2025-01-01T00:00:00Z,x\n' >badname.csv
run "$MF" to-parquet badname.csv badname.parquet
expect_err "to-parquet of a column name that is not UTF-8" 1 "not UTF-8"
check "  ... and no file" test ! -e badname.parquet
printf 'id,event_timestamp,x\377\n1,2025-01-02T00:00:00Z,1\n' >e2.csv
run "$MF" get-historical-features -e e2.csv -f v:b -o out2.parquet
expect_err "a retrieval into Parquet with an entity column name that is not UTF-8" 1 "not UTF-8"

# a list with a null element (DuckDB's list() keeps them): refused where
# read, naming its row, as the same list in a CSV cell (the whole row group
# was refused, apply's schema inference included)
if [ -n "$why" ]; then
    echo "# skipped: a DuckDB-written list with a null element: $why"
else
    repo nullel <<'EOF2'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
feature_view { name = "v", entities = { k }, ttl = 0,
  source = file_source { name = "s", path = "data/l.parquet", timestamp_field = "ts" } }
EOF2
    run node "$WORK/duck.mjs" "$DUCK" \
        "COPY (SELECT i::BIGINT AS id, TIMESTAMP '2025-01-01' + i * INTERVAL 1 HOUR AS ts, (CASE WHEN i = 2 THEN [1, NULL] ELSE [i] END)::BIGINT[] AS li FROM range(1, 4) t(i)) TO '$WORK/nullel/data/l.parquet' (FORMAT parquet)"
    expect_rc "DuckDB writes a list with a null element" 0
    run "$MF" apply
    expect_rc "  ... apply infers the view" 0
    printf 'id,event_timestamp\n2,2025-01-02T00:00:00Z\n' >e.csv
    run "$MF" get-historical-features -e e.csv -f v:li
    expect_err "  ... the row itself: an error naming it" 1 "row 2 of the file): column 'li': '[1,null]' is not a valid Array(Int64)"
fi

# a partition column is inferred from every folder's value, not from the
# first 10000 rows (all under region=1 here: it was Int64, and the join then
# failed on region=us)
if [ -n "$why" ]; then
    echo "# skipped: a DuckDB-written partitioned dataset: $why"
else
    repo parts <<'EOF2'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
feature_view { name = "v", entities = { k }, ttl = 0,
  source = file_source { name = "s", path = "data/ds", format = "parquet", timestamp_field = "ts" } }
EOF2
    run node "$WORK/duck.mjs" "$DUCK" \
        "COPY (SELECT i::BIGINT AS id, TIMESTAMP '2025-01-01' + i * INTERVAL 1 MINUTE AS ts, i::DOUBLE AS x, CASE WHEN i < 15000 THEN '1' ELSE 'us' END AS region FROM range(0, 20000) t(i)) TO '$WORK/parts/data/ds' (FORMAT parquet, PARTITION_BY (region))"
    expect_rc "DuckDB writes a dataset partitioned by region" 0
    run "$MF" apply
    expect_rc "  ... apply infers the view" 0
    expect_dtype "  ... region is a String" region String
    printf 'id,event_timestamp\n19999,2025-02-01T00:00:00Z\n' >e.csv
    run "$MF" get-historical-features -e e.csv -f v:region
    expect_out "  ... and joins" 'id,event_timestamp,region
19999,2025-02-01T00:00:00Z,us'
fi

# an event time stored as DOUBLE epoch seconds (pandas writes them so): a
# whole number is a time, as its CSV text is; a fraction is not
if [ -n "$why" ]; then
    echo "# skipped: DuckDB-written DOUBLE timestamps: $why"
else
    repo dts <<'EOF2'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
feature_view { name = "v", entities = { k }, ttl = 0,
  schema = { field { name = "x", dtype = Int64 } },
  source = file_source { name = "s", path = "data/d.parquet", timestamp_field = "ts" } }
EOF2
    run node "$WORK/duck.mjs" "$DUCK" \
        "COPY (SELECT i::BIGINT AS id, (1735732800 + i * 3600)::DOUBLE AS ts, i::BIGINT AS x FROM range(1, 3) t(i)) TO '$WORK/dts/data/d.parquet' (FORMAT parquet)"
    expect_rc "DuckDB writes DOUBLE epoch seconds" 0
    run "$MF" apply
    printf 'id,event_timestamp\n2,2025-01-02T00:00:00Z\n' >e.csv
    run "$MF" get-historical-features -e e.csv -f v:x
    expect_out "  ... whole seconds are times" 'id,event_timestamp,x
2,2025-01-02T00:00:00Z,2'
    run node "$WORK/duck.mjs" "$DUCK" \
        "COPY (SELECT 1::BIGINT AS id, 1735732800.5::DOUBLE AS ts, 1::BIGINT AS x) TO '$WORK/dts/data/d.parquet' (FORMAT parquet)"
    run "$MF" get-historical-features -e e.csv -f v:x
    expect_err "  ... a fraction is not" 1 "'1735732800.5' is not a timestamp"
fi

# a decimal stored as bytes (DuckDB: more than 18 digits of precision;
# pyarrow and Spark: every decimal) is read as the exact decimal; an
# unscaled value past 64 bits is an error naming file, column and page
# (such columns were skipped by inference, and unreadable when declared)
if [ -n "$why" ]; then
    echo "# skipped: a DuckDB-written wide decimal: $why"
else
    repo wdec <<'EOF2'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
feature_view { name = "v", entities = { k }, ttl = 0,
  source = file_source { name = "s", path = "data/w.parquet", timestamp_field = "ts" } }
EOF2
    run node "$WORK/duck.mjs" "$DUCK" \
        "COPY (SELECT i::BIGINT AS id, TIMESTAMP '2025-01-01' AS ts, i::BIGINT AS x, (i * -2.5)::DECIMAL(38,2) AS y, (i * 12345678901234567)::DECIMAL(38,0) AS z FROM range(1, 3) t(i)) TO '$WORK/wdec/data/w.parquet' (FORMAT parquet)"
    expect_rc "DuckDB writes a DECIMAL(38,2)" 0
    run "$MF" apply
    expect_rc "  ... inference takes it" 0
    expect_dtype "  ... as Float64" y Float64
    printf 'id,event_timestamp\n1,2025-01-02T00:00:00Z\n2,2025-01-02T00:00:00Z\n3,2025-01-02T00:00:00Z\n' >e.csv
    run "$MF" get-historical-features -e e.csv -f v:y -f v:z
    expect_out "  ... values read exactly" 'id,event_timestamp,y,z
1,2025-01-02T00:00:00Z,-2.5,12345678901234568
2,2025-01-02T00:00:00Z,-5,24691357802469136
3,2025-01-02T00:00:00Z,,'
    run node "$WORK/duck.mjs" "$DUCK" \
        "COPY (SELECT i::BIGINT AS id, TIMESTAMP '2025-01-01' AS ts, i::BIGINT AS x, (i * -2.5)::DECIMAL(38,2) AS y, (i * 12345678901234567890)::DECIMAL(38,0) AS z FROM range(1, 3) t(i)) TO '$WORK/wdec/data/w.parquet' (FORMAT parquet)"
    run "$MF" get-historical-features -e e.csv -f v:z
    expect_err "  ... past 64 bits: an error naming column and page" 1 \
        "column 'z', page 1: a DECIMAL whose unscaled value does not fit 64 bits"
fi
