# pit_errors.sh — bad input to get-historical-features: every case must
# exit 1 (a user error) or 2 (bad command-line usage) with a message that
# names the file, the line, the column and the offending text where there
# are such, and never crash or print a sanitizer report (expect_err checks
# both). The good paths are in pit_join.sh.
. "$(dirname "$0")/lib.sh"

mkdir -p bad/data && cd bad || exit 1
printf 'project: t\n' >feature_store.yaml
cat >defs.lua <<'EOF'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
feature_view { name = "v", entities = { k }, ttl = 3600,
  schema = { field { name = "x", dtype = Int64 }, field { name = "f", dtype = Float64 },
             field { name = "n", dtype = Int32 }, field { name = "b", dtype = Bool } },
  source = file_source { name = "s", path = "data/s.csv", timestamp_field = "ts",
                         created_timestamp_column = "cr" } }
local other = entity { name = "other", join_keys = { "oid" }, value_type = String }
feature_view { name = "o", entities = { other },
  schema = { field { name = "y", dtype = Int64 } },
  source = file_source { name = "os", path = "data/o.csv", timestamp_field = "ts" } }
EOF
GOOD_S='id,ts,cr,x,f,n,b
1,2025-01-01T10:00:00Z,2025-01-01T10:00:00Z,5,0.5,7,true
2,2025-01-01T10:00:00Z,,6,1.5,8,false'
printf '%s\n' "$GOOD_S" >data/s.csv
printf 'oid,ts,y\na,2025-01-01T10:00:00Z,1\n' >data/o.csv
printf 'id,event_timestamp\n1,2025-01-01T10:30:00Z\n2,2025-01-01T10:30:00Z\n' >e.csv

run "$MF" apply
expect_rc "setup: apply" 0
run "$MF" get-historical-features --entities e.csv -f v:x
expect_out "setup: the good data joins" "id,event_timestamp,x
1,2025-01-01T10:30:00Z,5
2,2025-01-01T10:30:00Z,6"

ghf() { run "$MF" get-historical-features "$@"; }

# src LINE...: data/s.csv is the good header and rows plus the given lines
src() {
    printf '%s\n' "$GOOD_S" >data/s.csv
    for l in "$@"; do printf '%s\n' "$l" >>data/s.csv; done
}

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

#---- the source's data ---------------------------------------------------------

src '1,2025-01-01T10:10:00Z,,abc,2.5,9,true'
ghf --entities e.csv -f v:x
expect_all "source value that is not an Int64" 1 "data/s.csv:4:" "column 'x'" "'abc'" "Int64"

src '1,2025-01-01T10:10:00Z,,3,1e400,9,true'
ghf --entities e.csv -f v:f
expect_all "source value out of Float64 range" 1 "data/s.csv:4:" "column 'f'" "'1e400'" "Float64"

src '1,2025-01-01T10:10:00Z,,3,2.5,2147483648,true'
ghf --entities e.csv -f v:n
expect_all "source value out of Int32 range" 1 "data/s.csv:4:" "column 'n'" "'2147483648'" "Int32"

src '1,2025-01-01T10:10:00Z,,3,2.5,9,maybe'
ghf --entities e.csv -f v:b
expect_all "source value that is not a Bool" 1 "data/s.csv:4:" "column 'b'" "'maybe'" "Bool"

# A feature cell is parsed only in a row that may answer an entity row (its
# key asked for, its time within the ttl before an entity time of that key)
# and is, when read, the best row so far for one: the rows above are (key
# 1, 10:10 against 10:30 with a ttl of 1 hour, after the 10:00 row), these
# cannot answer, and their cells are never read.
src '3,2025-01-01T10:00:00Z,,abc,1e400,2147483648,maybe' '1,2025-01-01T09:00:00Z,,abc,1e400,2147483648,maybe'
ghf --entities e.csv -f v:x -f v:f -f v:n -f v:b
expect_out "bad feature cells in rows that cannot answer are not read" "id,event_timestamp,x,f,n,b
1,2025-01-01T10:30:00Z,5,0.5,7,true
2,2025-01-01T10:30:00Z,6,1.5,8,false"

# Nor in a row that may answer but is never, when read, the best row so far
# for the entity rows it could answer: here the 10:15 row comes after the
# 10:20 row of the same key, which answers 10:30 before it and after it.
src '1,2025-01-01T10:20:00Z,,11,3.5,12,false' '1,2025-01-01T10:15:00Z,,abc,1e400,2147483648,maybe'
ghf --entities e.csv -f v:x -f v:f -f v:n -f v:b
expect_out "bad feature cells in a row never the best so far are not read" "id,event_timestamp,x,f,n,b
1,2025-01-01T10:30:00Z,11,3.5,12,false
2,2025-01-01T10:30:00Z,6,1.5,8,false"

# A row that is the best so far when read is parsed then, even when a later
# row replaces it.
src '1,2025-01-01T10:15:00Z,,abc,2.5,9,true' '1,2025-01-01T10:20:00Z,,11,3.5,12,false'
ghf --entities e.csv -f v:x
expect_all "a bad cell in a row replaced later is still an error" 1 "data/s.csv:4:" "column 'x'" "'abc'"

src '3,2025-13-01T10:00:00Z,,3,2.5,9,true'
ghf --entities e.csv -f v:x
expect_all "unparsable source timestamp" 1 "data/s.csv:4:" "column 'ts'" "'2025-13-01T10:00:00Z'" "timestamp"

src '3,,,3,2.5,9,true'
ghf --entities e.csv -f v:x
expect_all "empty source timestamp" 1 "data/s.csv:4:" "column 'ts'" "timestamp"

src '3,2025-01-01T10:00:00Z,2025-01-01T25:00:00Z,3,2.5,9,true'
ghf --entities e.csv -f v:x
expect_all "unparsable created timestamp" 1 "data/s.csv:4:" "column 'cr'" "'2025-01-01T25:00:00Z'"

src 'x1,2025-01-01T10:00:00Z,,3,2.5,9,true'
ghf --entities e.csv -f v:x
expect_all "source join key that is not an Int64" 1 "data/s.csv:4:" "column 'id'" "'x1'" "Int64"

printf 'id,ts,cr,f,n,b\n1,2025-01-01T10:00:00Z,,0.5,7,true\n' >data/s.csv
ghf --entities e.csv -f v:x
expect_all "source without a feature's column" 1 "data/s.csv:1:" "column 'x' not found" "id, ts, cr, f, n, b"

printf 'id,cr,x,f,n,b\n1,,5,0.5,7,true\n' >data/s.csv
ghf --entities e.csv -f v:x
expect_all "source without its timestamp column" 1 "data/s.csv:1:" "column 'ts' not found"

src '3,2025-01-01T10:00:00Z,,3,2.5,9'
ghf --entities e.csv -f v:x
expect_all "source row with too few fields" 1 "data/s.csv:4:" "expected 7 fields, found 6"

src '3,2025-01-01T10:00:00Z,,3,2.5,9,true,extra'
ghf --entities e.csv -f v:x
expect_all "source row with too many fields" 1 "data/s.csv:4:" "expected 7 fields, found 8"

src '3,2025-01-01T10:00:00Z,,"3,2.5,9,true'
ghf --entities e.csv -f v:x
expect_all "source with an unterminated quote" 1 "data/s.csv:4:" "unterminated quoted field" "field 4 (x)"

rm data/s.csv
ghf --entities e.csv -f v:x
expect_all "source file missing" 1 "data/s.csv" "No such file"
src

#---- the entity file -------------------------------------------------------------

printf 'id,event_timestamp\n1,2025-01-01T10:30:00Z\n2,2025-01-01T10:30:00Z,x\n' >bad.csv
ghf --entities bad.csv -f v:x
expect_all "entity row with too many fields" 1 "bad.csv:3:" "expected 2 fields, found 3"

printf 'id,event_timestamp\n1,"2025-01-01T10:30:00Z\n2,2025-01-01T10:30:00Z\n' >bad.csv
ghf --entities bad.csv -f v:x
expect_all "entity file with an unterminated quote" 1 "bad.csv:2:" "unterminated quoted field" "field 2 (event_timestamp)"

printf 'id,event_timestamp\n1,2025-01-01T10:30:00Z\n2,yesterday\n' >bad.csv
ghf --entities bad.csv -f v:x
expect_all "unparsable entity timestamp" 1 "bad.csv:3:" "column 'event_timestamp'" "'yesterday'"

printf 'id,event_timestamp\n1,\n' >bad.csv
ghf --entities bad.csv -f v:x
expect_all "empty entity timestamp" 1 "bad.csv:2:" "column 'event_timestamp'" "empty"

printf 'id,ts\n1,2025-01-01T10:30:00Z\n' >bad.csv
ghf --entities bad.csv -f v:x
expect_all "entity file without event_timestamp" 1 "bad.csv:1:" "no 'event_timestamp' column"

printf 'key,event_timestamp\n1,2025-01-01T10:30:00Z\n' >bad.csv
ghf --entities bad.csv -f v:x
expect_all "entity file without the join key" 1 "bad.csv:1:" "lack column 'id'" "feature view 'v'"

printf 'id,event_timestamp\n1,2025-01-01T10:30:00Z\nabc,2025-01-01T10:30:00Z\n' >bad.csv
ghf --entities bad.csv -f v:x
expect_all "entity join key that is not an Int64" 1 "bad.csv:3:" "column 'id'" "'abc'" "Int64"

printf 'id,event_timestamp\n1.5,2025-01-01T10:30:00Z\n' >bad.csv
ghf --entities bad.csv -f v:x
expect_all "entity join key 1.5 for an Int64 key" 1 "bad.csv:2:" "column 'id'" "'1.5'"

printf 'id,event_timestamp,id\n1,2025-01-01T10:30:00Z,2\n' >bad.csv
ghf --entities bad.csv -f v:x
expect_all "entity file with a column twice" 1 "bad.csv:1:" "two columns named 'id'"

: >bad.csv
ghf --entities bad.csv -f v:x
expect_all "empty entity file" 1 "bad.csv" "empty"

printf 'id,event_timestamp,x\n1,2025-01-01T10:30:00Z,3\n' >bad.csv
ghf --entities bad.csv -f v:x
expect_all "a feature named like an entity column" 1 "feature 'x'" "entity column"

ghf --entities missing.csv -f v:x
expect_all "missing --entities file" 1 "missing.csv" "No such file"

#---- entity queries -------------------------------------------------------------------

ghf --entity-query "SELECT 1 AS id, '2025-01-01T10:30:00Z' AS event_timestamp" \
    --entity-db missing.db -f v:x
expect_all "--entity-db that does not exist" 1 "missing.db"

sqlite3 ents.db "CREATE TABLE e (id INTEGER, event_timestamp TEXT);"
ghf --entity-query "SELECT nope FROM e" --entity-db ents.db -f v:x
expect_all "entity query that does not compile" 2 "ents.db" "nope"
ghf --entity-query "SELECT id, id, event_timestamp FROM e" --entity-db ents.db -f v:x
expect_all "entity query with two columns of one name: the data's fault" 1 "entity query on ents.db: two columns named 'id'"
ghf --entity-query "SELECT event_timestamp FROM e" --entity-db ents.db -f v:x
expect_all "entity query without a join key" 1 "ents.db: entity rows lack column 'id'"
check_no_line() { if printf '%s' "$ERR" | grep -q 'ents.db:1'; then not_ok "  ... and no line number for a database" "stderr: $ERR"; else ok "  ... and no line number for a database"; fi; }
check_no_line
# a value of an entity query's rows that is not of its type: the database
# and the row are named (the database was not)
ghf --entity-query "SELECT 1 AS id, 'garbage' AS event_timestamp" --entity-db ents.db -f v:x
expect_all "entity query: a time that is not one" 1 "ents.db" "row 1" "column 'event_timestamp'" "'garbage'"
check_no_line
ghf --entity-query "SELECT 1 AS id, '2025-01-01' AS event_timestamp UNION ALL SELECT 'x', '2025-01-01'" \
    --entity-db ents.db -f v:x
expect_all "entity query: a key that is not an Int64" 1 "ents.db" "row 2" "column 'id'" "'x'"

#---- command-line usage -----------------------------------------------------------------

ghf --entities e.csv
expect_all "no features" 2 "give -f VIEW:FEATURE or --feature-service NAME"

ghf --entities e.csv --start 2025-01-01T00:00:00Z --end 2025-01-02T00:00:00Z -f v:x
expect_all "both --entities and --start" 2 "give one of --entities"

ghf --start 2025-01-01T00:00:00Z -f v:x
expect_all "--start without --end" 2 "--start and --end go together"

ghf --end 2025-01-01T00:00:00Z -f v:x
expect_all "--end without --start" 2 "--start and --end go together"

ghf --start yesterday --end 2025-01-01T00:00:00Z -f v:x
expect_all "--start that is not a timestamp" 2 "--start 'yesterday'"

ghf --start 20250105 --end 2025-01-06T00:00:00Z -f v:x
expect_all "--start as an eight-digit date is ambiguous (it was 1970-08-23)" 2 "--start '20250105' is ambiguous"

ghf --start 2025-01-05T00:00:00Z --end 20250106 -f v:x
expect_all "--end as an eight-digit date too" 2 "--end '20250106' is ambiguous"

ghf --start 2025-01-02T00:00:00Z --end 2025-01-01T00:00:00Z -f v:x
expect_all "--end before --start" 2 "before its start"

ghf --entities e.csv -f v:x --format orc
expect_all "unknown --format" 2 "'orc'"

ghf --entity-query "SELECT 1" -f v:x
expect_all "--entity-query without --entity-db" 2 "--entity-query and --entity-db go together"

ghf -f v:x
expect_all "no entity rows at all" 2 "give one of --entities"

ghf --entities e.csv -f
expect_all "-f without a value" 2 "-f needs a value"

ghf --entities e.csv -f vx
expect_all "a feature ref without a colon" 2 "'vx' is not of the form view:feature"

ghf --entities e.csv -f v:x --bogus
expect_all "unknown option" 2 "'--bogus'"

ghf --start 2025-01-01T00:00:00Z --end 2025-01-02T00:00:00Z -f v:x -f o:y
expect_all "--start/--end over views with different join keys" 2 "same join keys" "'v'" "'o'"

ghf --entities e.csv -f v:x -o nodir/out.csv
expect_all "output into a missing directory" 1 "nodir/out.csv"

# retrieval without entity rows: a String key that is not UTF-8 in a source
# (it made a short key column and the join read past it: a crash), and
# on-demand features alone (no view to take keys from: a crash)
printf 'oid,ts,y\na,2025-01-01T10:00:00Z,1\n\377\376,2025-01-01T10:00:00Z,2\nb,2025-01-01T10:00:00Z,3\n' >data/o.csv
ghf --start 2025-01-01T00:00:00Z --end 2025-01-02T00:00:00Z -f o:y
expect_all "--start/--end over a String key that is not UTF-8" 1 "feature view 'o'" "join key 'oid'" "not UTF-8"
printf 'oid,ts,y\na,2025-01-01T10:00:00Z,1\n' >data/o.csv
cat >>defs.lua <<'LUA'
local rq = request_source { name = "rq", schema = { field { name = "q", dtype = Int64 } } }
on_demand_feature_view { name = "od", sources = { rq },
  schema = { field { name = "y2", dtype = Int64 } },
  transform = function(r) return { y2 = r.q * 2 } end }
LUA
run "$MF" apply
expect_rc "apply an on-demand view over a request source" 0
ghf --start 2025-01-01T00:00:00Z --end 2025-01-02T00:00:00Z -f od:y2
expect_all "--start/--end with on-demand features only" 2 "needs a feature of at least one feature view"

# retrieval without entity rows through projections that map the join key
# to different entity columns: a usage error naming both (the frame was
# made with the first projection's column only, and the second one's was
# reported missing from entity rows the user never gave)
cat >>defs.lua <<'LUA'
local pv = feature_view { name = "pa", entities = { k }, ttl = 0,
  schema = { field { name = "w", dtype = Int64 } },
  source = file_source { name = "ps", path = "data/p.csv", timestamp_field = "ts" } }
feature_service { name = "fs1", features = {
  pv:with_name("o2"):with_join_key_map { id = "origin_id" },
  pv:with_name("d2"):with_join_key_map { id = "dest_id" } } }
LUA
printf 'id,ts,w\n1,2025-01-01T10:00:00Z,10\n' >data/p.csv
run "$MF" apply
expect_rc "apply projections with join key maps" 0
ghf --start 2025-01-01T00:00:00Z --end 2025-01-02T00:00:00Z --feature-service fs1 --full-feature-names
expect_all "--start/--end over projections reading different entity columns" 2 "'origin_id'" "'dest_id'"
