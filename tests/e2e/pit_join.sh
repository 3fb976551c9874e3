# pit_join.sh — historical retrieval (the point-in-time join) through the
# real CLI, one case per rule of docs/concepts.md, "Historical retrieval": window bounds, ttl,
# tie breaks, composite and absent keys, projections, field mapping, SQLite
# sources and entity queries, entity-less retrieval, output formats and value
# text. Each case builds a tiny repo (project t) whose expected output was
# worked out by hand from the rules; the golden files are
# tests/e2e/golden/pit_*.csv and pit_*.jsonl (MF_UPDATE_GOLDEN=1 rewrites
# them, which is only for after checking a difference by hand).
# Bad input lives in pit_errors.sh.
. "$(dirname "$0")/lib.sh"

ALL=$WORK/.all # stderr of every run, swept for sanitizer reports at the end

# repo NAME: a fresh repo $WORK/NAME (project t, definitions from stdin) and
# cd into it.
repo() {
    mkdir -p "$WORK/$1/data" && cd "$WORK/$1" || exit 1
    printf 'project: t\n' >feature_store.yaml
    cat >defs.lua
}

# With MF_PIT_SOURCES=jsonl (pit_join_jsonl.sh), every case runs again
# with its CSV files written out as JSON Lines (every cell a string, an
# empty cell left out: null) and its one-line file_sources turned into
# lua_sources read by examples/lua_jsonl_offline/jsonl.lua: the same golden
# answers must come out.
to_jsonl() { # CSV: prints the JSON Lines of CSV (first line: the header)
    awk '
    function field_split(line,    i, c, q, f, n) {
        n = 0; f = ""; q = 0
        for (i = 1; i <= length(line); i++) {
            c = substr(line, i, 1)
            if (q) {
                if (c == "\"") { if (substr(line, i + 1, 1) == "\"") { f = f c; i++ } else q = 0 }
                else f = f c
            } else if (c == "\"") q = 1
            else if (c == ",") { cells[++n] = f; f = "" }
            else f = f c
        }
        cells[++n] = f
        return n
    }
    function js(v) { gsub(/\\/, "\\\\", v); gsub(/"/, "\\\"", v); return "\"" v "\"" }
    NR == 1 { nh = field_split($0); for (i = 1; i <= nh; i++) head[i] = cells[i]; next }
    { n = field_split($0); out = ""
      for (i = 1; i <= n; i++) if (cells[i] != "") out = out (out == "" ? "" : ", ") js(head[i]) ": " js(cells[i])
      print "{" out "}" }' "$1"
}

# With MF_PIT_SOURCES=jsonl_store (pit_join_lua_store.sh), the lua_sources
# name no module: the offline store of type lua
# (examples/lua_jsonl_offline/jsonl_store.lua) reads them and does the
# point-in-time join itself, in Lua, for every request whose views all
# read such sources.
via_jsonl() {
    mkdir -p modules
    if [ "$MF_PIT_SOURCES" = jsonl_store ]; then
        cp "$E2E_DIR/../../examples/lua_jsonl_offline/jsonl_store.lua" modules/
        grep -q '^offline_store:' feature_store.yaml ||
            printf 'offline_store:\n  type: lua\n  module: modules/jsonl_store.lua\n  join: lua\n' >>feature_store.yaml
        module=
    else
        cp "$E2E_DIR/../../examples/lua_jsonl_offline/jsonl.lua" modules/
        module=' module = "modules/jsonl.lua",'
    fi
    for csv in data/*.csv; do
        [ -f "$csv" ] || continue
        base=${csv%.csv}
        to_jsonl "$csv" >"$base.jsonl"
        cols=$(head -n 1 "$csv" | tr -d '\r')
        name=$(basename "$base")
        sed -i "s|file_source { name = \"\([^\"]*\)\", path = \"data/$name\.csv\",|lua_source { name = \"\1\",$module options = { path = \"data/$name.jsonl\", columns = \"$cols\" },|" defs.lua
    done
}

# With MF_PIT_SOURCES=parquet (pit_join_parquet.sh), every CSV file of a
# one-line file_source is converted to Parquet by `moonfeast to-parquet`
# (a column typed only when every value reads back as the same text, so
# the answers cannot change) and the file_source reads the .parquet file.
via_parquet() {
    for csv in data/*.csv; do
        [ -f "$csv" ] || continue
        base=${csv%.csv}
        name=$(basename "$base")
        "$MF" to-parquet "$csv" "$base.parquet" 2>>"$ALL" ||
            not_ok "to-parquet $csv" "exit $?"
        grep -q "path = \"data/$name\.csv\"" defs.lua && PQ_SOURCES=$((PQ_SOURCES + 1))
        sed -i "s|path = \"data/$name\.csv\"|path = \"data/$name.parquet\"|" defs.lua
    done
}
PQ_SOURCES=0

# applied NAME: apply the current repo; a failure is reported under NAME.
applied() {
    if [ "${MF_PIT_SOURCES:-}" = parquet ]; then via_parquet
    elif [ -n "${MF_PIT_SOURCES:-}" ]; then via_jsonl
    fi
    run "$MF" apply
    printf '%s\n' "$ERR" >>"$ALL"
    [ "$RC" -eq 0 ] || not_ok "$1 (apply)" "exit $RC" "stderr: $ERR"
}

ghf() {
    run "$MF" get-historical-features "$@"
    printf '%s\n' "$ERR" >>"$ALL"
}

#---- window bounds: T and T - ttl are both inside --------------------------

repo window <<'EOF'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
feature_view { name = "w", entities = { k }, ttl = 3600,
  schema = { field { name = "v", dtype = Int64 } },
  source = file_source { name = "ws", path = "data/w.csv", timestamp_field = "ts" } }
EOF
cat >data/w.csv <<'EOF'
id,ts,v
1,2025-01-01T10:00:00Z,10
2,2025-01-01T10:00:00Z,20
2,2025-01-01T10:30:00Z,21
EOF
cat >e.csv <<'EOF'
id,event_timestamp
1,2025-01-01T10:00:00Z
1,2025-01-01T09:59:59Z
1,2025-01-01T11:00:00Z
1,2025-01-01T11:00:01Z
1,2025-01-01T11:00:00.000001Z
2,2025-01-01T10:29:59Z
2,2025-01-01T10:30:00Z
2,2025-01-01T11:30:00Z
2,2025-01-01T11:30:01Z
EOF
applied window
ghf --entities e.csv -f w:v
expect_golden "window: T == ts and T - ttl == ts match, one second (or µs) outside is null" pit_window.csv

#---- ttl 0: no lower bound ---------------------------------------------------

repo ttl0 <<'EOF'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
feature_view { name = "z", entities = { k }, ttl = 0,
  schema = { field { name = "zv", dtype = Int64 } },
  source = file_source { name = "zs", path = "data/z.csv", timestamp_field = "ts" } }
feature_view { name = "y", entities = { k },
  schema = { field { name = "yv", dtype = Int64 } },
  source = file_source { name = "ys", path = "data/y.csv", timestamp_field = "ts" } }
EOF
cat >data/z.csv <<'EOF'
id,ts,zv
1,2020-01-01T00:00:00Z,1
1,2025-01-01T10:00:00Z,2
EOF
cat >data/y.csv <<'EOF'
id,ts,yv
1,2001-01-01T00:00:00Z,7
EOF
cat >e.csv <<'EOF'
id,event_timestamp
1,2019-12-31T23:59:59Z
1,2020-01-01T00:00:00Z
1,2024-12-31T00:00:00Z
1,2099-01-01T00:00:00Z
EOF
applied ttl0
ghf --entities e.csv -f z:zv -f y:yv
expect_golden "ttl 0 and ttl left out: no lower bound" pit_ttl0.csv

#---- created timestamp breaks a tie of event timestamps ------------------------

repo created <<'EOF'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
feature_view { name = "c", entities = { k },
  schema = { field { name = "v", dtype = Int64 } },
  source = file_source { name = "cs", path = "data/c.csv", timestamp_field = "ts",
                         created_timestamp_column = "created" } }
EOF
cat >data/c.csv <<'EOF'
id,ts,created,v
1,2025-01-01T10:00:00Z,2025-01-01T10:05:00Z,11
1,2025-01-01T10:00:00Z,2025-01-01T10:01:00Z,12
2,2025-01-01T10:00:00Z,2025-01-01T10:01:00Z,21
3,2025-01-01T11:00:00Z,2025-01-01T11:00:00Z,31
2,2025-01-01T10:00:00Z,2025-01-01T10:05:00Z,22
3,2025-01-01T10:00:00Z,2025-01-01T12:00:00Z,32
EOF
cat >e.csv <<'EOF'
id,event_timestamp
1,2025-01-01T12:00:00Z
2,2025-01-01T12:00:00Z
3,2025-01-01T12:00:00Z
3,2025-01-01T10:30:00Z
EOF
applied created
ghf --entities e.csv -f c:v
expect_golden "created tie: greater created wins, event time first" pit_created.csv

#---- full tie: the last row in the source wins -------------------------------

repo fulltie <<'EOF'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
feature_view { name = "f", entities = { k },
  schema = { field { name = "a", dtype = Int64 } },
  source = file_source { name = "fs", path = "data/f.csv", timestamp_field = "ts",
                         created_timestamp_column = "created" } }
feature_view { name = "g", entities = { k },
  schema = { field { name = "b", dtype = Int64 } },
  source = file_source { name = "gs", path = "data/g.csv", timestamp_field = "ts" } }
EOF
cat >data/f.csv <<'EOF'
id,ts,created,a
1,2025-01-01T10:00:00Z,2025-01-01T10:00:00Z,1
2,2025-01-01T10:00:00Z,2025-01-01T10:00:00Z,5
1,2025-01-01T10:00:00Z,2025-01-01T10:00:00Z,2
1,2025-01-01T10:00:00Z,2025-01-01T10:00:00Z,3
2,2025-01-01T10:00:00Z,2025-01-01T10:00:00Z,4
EOF
{
    echo 'id,ts,b'
    # 30 rows of one key at one time (more than a small-group sort handles),
    # values 100..129 in file order, then a row of another key.
    i=100
    while [ $i -lt 130 ]; do
        echo "1,2025-01-01T10:00:00Z,$i"
        i=$((i + 1))
    done
    echo '3,2025-01-01T10:00:00Z,300'
} >data/g.csv
cat >e.csv <<'EOF'
id,event_timestamp
1,2025-01-01T10:00:00Z
2,2025-01-01T10:00:00Z
3,2025-01-01T10:00:00Z
EOF
applied fulltie
ghf --entities e.csv -f f:a -f g:b
expect_golden "full tie: the last row in the source wins (with and without created)" pit_fulltie.csv

#---- several views, each on its own; no match gives nulls --------------------

repo views <<'EOF'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
feature_view { name = "p", entities = { k }, ttl = 3600,
  schema = { field { name = "p1", dtype = Int64 }, field { name = "p2", dtype = String } },
  source = file_source { name = "ps", path = "data/p.csv", timestamp_field = "ts" } }
feature_view { name = "q", entities = { k }, ttl = 0,
  schema = { field { name = "q1", dtype = Float64 } },
  source = file_source { name = "qs", path = "data/q.csv", timestamp_field = "ts" } }
EOF
cat >data/p.csv <<'EOF'
id,ts,p1,p2
1,2025-01-01T10:00:00Z,100,a
2,2025-01-01T08:00:00Z,200,b
EOF
cat >data/q.csv <<'EOF'
id,ts,q1
1,2025-01-01T09:00:00Z,1.5
2,2025-01-01T07:00:00Z,2.5
3,2025-01-01T07:00:00Z,3.5
EOF
cat >e.csv <<'EOF'
id,event_timestamp
1,2025-01-01T10:30:00Z
2,2025-01-01T10:30:00Z
3,2025-01-01T10:30:00Z
4,2025-01-01T10:30:00Z
1,2025-01-01T09:30:00Z
EOF
applied views
ghf --entities e.csv -f q:q1 -f p:p2 -f p:p1
expect_golden "several views joined independently, columns in request order, no match is null" pit_views.csv

ghf --entities e.csv -f q:q1 -f p:p2 -f p:p1 --full-feature-names
expect_golden "full feature names: view__feature" pit_views_full.csv

#---- composite key: Int64 and String -------------------------------------------

repo composite <<'EOF'
local loc = entity { name = "loc", join_keys = { "store_id", "region" } }
feature_view { name = "sales", entities = { loc },
  schema = { field { name = "store_id", dtype = Int64 }, field { name = "region", dtype = String },
             field { name = "amount", dtype = Int64 } },
  source = file_source { name = "ss", path = "data/sales.csv", timestamp_field = "ts" } }
EOF
cat >data/sales.csv <<'EOF'
store_id,region,ts,amount
7,eu,2025-01-01T10:00:00Z,70
7,us,2025-01-01T10:00:00Z,71
8,eu,2025-01-01T10:00:00Z,80
7,07,2025-01-01T10:00:00Z,72
EOF
cat >e.csv <<'EOF'
region,store_id,event_timestamp
eu,7,2025-01-01T11:00:00Z
us,007,2025-01-01T11:00:00Z
eu,8,2025-01-01T11:00:00Z
us,8,2025-01-01T11:00:00Z
07,7,2025-01-01T11:00:00Z
7,7,2025-01-01T11:00:00Z
EU,7,2025-01-01T11:00:00Z
EOF
applied composite
ghf --entities e.csv -f sales:amount
expect_golden "composite key: Int64 compares as a number, String as text" pit_composite.csv

#---- a view without entities joins on time only --------------------------------

repo nokey <<'EOF'
feature_view { name = "glob", ttl = 7200,
  schema = { field { name = "rate", dtype = Float64 } },
  source = file_source { name = "gs", path = "data/g.csv", timestamp_field = "ts" } }
EOF
cat >data/g.csv <<'EOF'
ts,rate
2025-01-01T10:00:00Z,1.25
2025-01-01T12:00:00Z,1.5
2025-01-01T11:00:00Z,1.75
EOF
cat >e.csv <<'EOF'
event_timestamp,note
2025-01-01T09:00:00Z,a
2025-01-01T10:59:59Z,b
2025-01-01T11:30:00Z,c
2025-01-01T13:00:00Z,d
2025-01-01T14:00:00Z,e
2025-01-01T14:00:01Z,f
EOF
applied nokey
ghf --entities e.csv -f glob:rate
expect_golden "entity-less view: joins on time only" pit_nokey.csv

ghf --start 2025-01-01T10:30:00Z --end 2025-01-01T11:30:00Z -f glob:rate
expect_out "entity-less view with --start/--end: one row, as of end" "event_timestamp,rate
2025-01-01T11:30:00Z,1.75"
ghf --start 2025-01-01T12:00:01Z --end 2025-01-01T13:00:00Z -f glob:rate
expect_out "--start/--end with no row in the window: the header only" "event_timestamp,rate"
printf 'event_timestamp,note\n' >e0.csv
ghf --entities e0.csv -f glob:rate
expect_out "an entity file with a header only: the header only" "event_timestamp,note,rate"

#---- projections: alias, select, join_key_map ---------------------------------

repo alias <<'EOF'
local loc = entity { name = "loc", join_keys = { "loc_id" }, value_type = Int64 }
local zone = feature_view { name = "zone", entities = { loc },
  schema = { field { name = "pop", dtype = Int64 }, field { name = "area", dtype = Float64 } },
  source = file_source { name = "zs", path = "data/zone.csv", timestamp_field = "ts" } }
feature_service { name = "trip", features = {
  zone:select { "pop" }:with_name("origin"):with_join_key_map { loc_id = "origin_id" },
  zone:with_name("dest"):with_join_key_map { loc_id = "dest_id" } } }
feature_service { name = "plain", features = { zone } }
EOF
cat >data/zone.csv <<'EOF'
loc_id,ts,pop,area
1,2025-01-01T00:00:00Z,100,1.5
2,2025-01-01T00:00:00Z,200,2.5
3,2025-01-01T00:00:00Z,300,3.5
EOF
cat >e.csv <<'EOF'
trip_id,origin_id,dest_id,event_timestamp
t1,1,2,2025-01-02T00:00:00Z
t2,3,9,2025-01-02T00:00:00Z
t3,2,1,2025-01-02T00:00:00Z
EOF
applied alias
ghf --entities e.csv --feature-service trip --full-feature-names
expect_golden "projection alias and join_key_map: alias__feature, keys from renamed columns" pit_alias.csv

ghf --entities e.csv --feature-service trip
expect_err "aliased projections without full names collide" 1 "two requested features are named 'pop'"

printf 'loc_id,event_timestamp\n2,2025-01-02T00:00:00Z\n' >e2.csv
ghf --entities e2.csv --feature-service plain --full-feature-names
expect_golden "a plain view in a service: view__feature, the view's features in order" pit_service_plain.csv

#---- field_mapping renames source columns, join key and timestamp included ------

repo mapping <<'EOF'
local u = entity { name = "user", join_keys = { "user_id" }, value_type = Int64 }
feature_view { name = "spend", entities = { u },
  schema = { field { name = "amount", dtype = Int64 } },
  source = file_source { name = "ss", path = "data/spend.csv", timestamp_field = "event_ts",
    field_mapping = { uid = "user_id", t = "event_ts", amt = "amount" } } }
EOF
cat >data/spend.csv <<'EOF'
uid,t,amt
1,2025-01-01T10:00:00Z,5
2,2025-01-01T10:00:00Z,6
1,2025-01-01T12:00:00Z,7
EOF
cat >e.csv <<'EOF'
user_id,event_timestamp
1,2025-01-01T11:00:00Z
2,2025-01-01T11:00:00Z
1,2025-01-01T12:00:00Z
EOF
applied mapping
ghf --entities e.csv -f spend:amount
expect_golden "field_mapping: renamed key, timestamp and feature" pit_mapping.csv

#---- name collisions and unknown refs ------------------------------------------

repo collide <<'EOF'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
feature_view { name = "a", entities = { k },
  schema = { field { name = "score", dtype = Int64 } },
  source = file_source { name = "as", path = "data/a.csv", timestamp_field = "ts" } }
feature_view { name = "b", entities = { k },
  schema = { field { name = "score", dtype = Int64 } },
  source = file_source { name = "bs", path = "data/b.csv", timestamp_field = "ts" } }
EOF
printf 'id,ts,score\n1,2025-01-01T00:00:00Z,10\n' >data/a.csv
printf 'id,ts,score\n1,2025-01-01T00:00:00Z,20\n' >data/b.csv
printf 'id,event_timestamp\n1,2025-01-02T00:00:00Z\n' >e.csv
applied collide
ghf --entities e.csv -f a:score -f b:score
expect_err "two views with the same feature name: error without full names" 1 \
    "two requested features are named 'score'"
if [ -z "$OUT" ]; then ok "collision: nothing on stdout"; else not_ok "collision: nothing on stdout" "stdout: $OUT"; fi
ghf --entities e.csv -f a:score -f b:score --full-feature-names
expect_out "the same two with full names" "id,event_timestamp,a__score,b__score
1,2025-01-02T00:00:00Z,10,20"
ghf --entities e.csv -f a:score -f nope:score
expect_err "unknown view: named" 1 "unknown feature view 'nope'"
ghf --entities e.csv -f a:score -f b:nope
expect_err "unknown feature: named with its view" 1 "unknown feature 'b:nope'"
ghf --entities e.csv --feature-service nosvc
expect_err "unknown feature service: named" 1 "unknown feature service 'nosvc'"

#---- entity columns pass through; row order and duplicates kept -------------------

repo passthru <<'EOF'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
feature_view { name = "v", entities = { k },
  schema = { field { name = "x", dtype = Int64 } },
  source = file_source { name = "vs", path = "data/v.csv", timestamp_field = "ts" } }
EOF
cat >data/v.csv <<'EOF'
id,ts,x
1,2025-01-01T10:00:00Z,1
2,2025-01-01T10:00:00Z,2
3,2025-01-01T10:00:00Z,3
EOF
cat >e.csv <<'EOF'
label,id,event_timestamp,note,num
r1,3,2025-01-01T11:00:00Z,"a,b",0.10
r2,1,2025-01-01 11:00:00,"say ""hi""",007
r3,3,2025-01-01T11:00:00Z," padded ",
r4,2,2025-01-01T12:00:00+01:00,,1e3
r5,1,2025-01-01 11:00:00,"say ""hi""",007
r6,1,2025-01-01T09:00:00Z,x,-0
EOF
applied passthru
ghf --entities e.csv -f v:x
expect_golden "extra entity columns untouched; input order and duplicate rows kept" pit_passthru.csv

#---- float join keys: -0 is 0 (as in SQL and pandas) --------------------------

repo floatkey <<'EOF'
local k = entity { name = "k", join_keys = { "x" }, value_type = Float64 }
feature_view { name = "fk", entities = { k },
  schema = { field { name = "v", dtype = Int64 } },
  source = file_source { name = "fks", path = "data/fk.csv", timestamp_field = "ts" } }
EOF
cat >data/fk.csv <<'EOF'
x,ts,v
0,2025-01-01T10:00:00Z,10
-1.5,2025-01-01T10:00:00Z,15
EOF
cat >e.csv <<'EOF'
x,event_timestamp
-0,2025-01-01T11:00:00Z
0.0,2025-01-01T11:00:00Z
-0.0e3,2025-01-01T11:00:00Z
-1.50,2025-01-01T11:00:00Z
EOF
applied floatkey
ghf --entities e.csv -f fk:v
expect_out "Float64 join key: -0 matches 0, -1.50 matches -1.5" "x,event_timestamp,v
-0,2025-01-01T11:00:00Z,10
0.0,2025-01-01T11:00:00Z,10
-0.0e3,2025-01-01T11:00:00Z,10
-1.50,2025-01-01T11:00:00Z,15"

#---- SQLite sources: a table and a query ------------------------------------------

repo sqlite <<'EOF'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
feature_view { name = "st", entities = { k },
  schema = { field { name = "v", dtype = Int64 }, field { name = "r", dtype = Float64 },
             field { name = "s", dtype = String } },
  source = sqlite_source { name = "sts", database = "data/f.db", table = "stats",
                           timestamp_field = "ts" } }
feature_view { name = "sq", entities = { k },
  schema = { field { name = "v10", dtype = Int64 } },
  source = sqlite_source { name = "sqs", database = "data/f.db",
    query = "SELECT id, ts, v * 10 AS v10 FROM stats WHERE id <> 2",
    timestamp_field = "ts" } }
EOF
sqlite3 data/f.db <<'EOF'
CREATE TABLE stats (id INTEGER, ts, v INTEGER, r REAL, s TEXT);
INSERT INTO stats VALUES (1, '2025-01-01T10:00:00Z', 5, 0.5, 'one');
INSERT INTO stats VALUES (2, '2025-01-01T10:00:00Z', 6, NULL, 'two');
INSERT INTO stats VALUES (1, 1735732800, 7, 0.25, NULL);
INSERT INTO stats VALUES (3, '2025-01-01T10:00:00Z', NULL, 1.125, 'three');
EOF
cat >e.csv <<'EOF'
id,event_timestamp
1,2025-01-01T11:00:00Z
1,2025-01-01T12:00:00Z
2,2025-01-01T12:00:00Z
3,2025-01-01T12:00:00Z
4,2025-01-01T12:00:00Z
EOF
applied sqlite
ghf --entities e.csv -f st:v -f st:r -f st:s -f sq:v10
expect_golden "sqlite_source: a table and a query, NULL is null" pit_sqlite.csv

#---- entity rows from a SQLite query --------------------------------------------

sqlite3 ents.db <<'EOF'
CREATE TABLE ents (id INTEGER, event_timestamp TEXT, label TEXT);
INSERT INTO ents VALUES (3, '2025-01-01T12:00:00Z', 'c');
INSERT INTO ents VALUES (1, '2025-01-01T11:00:00Z', NULL);
INSERT INTO ents VALUES (2, '2025-01-01T12:00:00Z', 'b');
INSERT INTO ents VALUES (1, '2025-01-01T12:00:00Z', 'a');
EOF
ghf --entity-query "SELECT id, event_timestamp, label FROM ents WHERE id <> 2 ORDER BY rowid" \
    --entity-db ents.db -f st:v -f sq:v10
expect_golden "--entity-query/--entity-db: entity rows from SQLite" pit_entity_query.csv

# REAL values keep every digit, as the same value in a CSV file (SQLite's
# text of a REAL keeps 15: 0.12345678901234567 read 0.123456789012346), in
# a source and in entity rows; a REAL timestamp of whole seconds is one
sqlite3 data/f.db "CREATE TABLE prec (id INTEGER, ts REAL, r REAL); INSERT INTO prec VALUES (9, 1735732800.0, 0.12345678901234567);"
sqlite3 ents.db "CREATE TABLE pe (id INTEGER, event_timestamp TEXT, q REAL); INSERT INTO pe VALUES (9, '2025-01-02T00:00:00Z', 2.718281828459045);"
cat >>defs.lua <<'EOF'
feature_view { name = "prec", entities = { k },
  schema = { field { name = "r", dtype = Float64 } },
  source = sqlite_source { name = "precs", database = "data/f.db", table = "prec", timestamp_field = "ts" } }
EOF
run "$MF" apply
ghf --entity-query "SELECT id, event_timestamp, q FROM pe" --entity-db ents.db -f prec:r
expect_out "sqlite_source and entity query: REAL values with every digit" 'id,event_timestamp,q,r
9,2025-01-02T00:00:00Z,2.718281828459045,0.12345678901234566'
# a REAL column of whole values is still inferred Float64 (its shortest
# text, 10 for 10.0, made it Int64)
sqlite3 data/f.db "CREATE TABLE whole (id INTEGER, ts TEXT, price REAL); INSERT INTO whole VALUES (9, '2025-01-01T00:00:00Z', 10.0);"
cat >>defs.lua <<'EOF'
feature_view { name = "whole", entities = { k },
  source = sqlite_source { name = "wholes", database = "data/f.db", table = "whole", timestamp_field = "ts" } }
EOF
run "$MF" apply
expect_dtype "  ... a REAL column of whole values is inferred Float64" price Float64

#---- entity-less retrieval: --start/--end -----------------------------------------

repo window_keys <<'EOF'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
feature_view { name = "w", entities = { k },
  schema = { field { name = "v", dtype = Int64 } },
  source = file_source { name = "ws", path = "data/w.csv", timestamp_field = "ts" } }
EOF
cat >data/w.csv <<'EOF'
id,ts,v
5,2025-01-01T08:00:00Z,50
3,2025-01-01T10:00:00Z,30
8,2025-01-01T08:59:59Z,80
5,2025-01-01T11:00:00Z,51
9,2025-01-01T12:00:01Z,90
6,2025-01-01T12:00:00Z,60
7,2025-01-01T09:00:00Z,70
3,2025-01-01T09:00:00Z,31
EOF
applied window_keys
ghf --start 2025-01-01T09:00:00Z --end 2025-01-01T12:00:00Z -f w:v
expect_golden "--start/--end: keys with a row in the window (bounds inclusive), values as of end" pit_start_end.csv

#---- output files: CSV and JSON Lines; value text --------------------------------

repo types <<'EOF'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
feature_view { name = "t", entities = { k },
  schema = { field { name = "i32", dtype = Int32 }, field { name = "i64", dtype = Int64 },
             field { name = "f32", dtype = Float32 }, field { name = "f64", dtype = Float64 },
             field { name = "s", dtype = String }, field { name = "b", dtype = Bool },
             field { name = "at", dtype = UnixTimestamp } },
  source = file_source { name = "tsrc", path = "data/t.csv", timestamp_field = "ts" } }
EOF
cat >data/t.csv <<'EOF'
id,ts,i32,i64,f32,f64,s,b,at
1,2025-01-01T00:00:00Z,-7,9007199254740993,0.1,0.1,"x, ""y""",true,2025-01-01T10:00:00+02:00
2,2025-01-01T00:00:00Z,,,,,,,
3,2025-01-01T00:00:00Z,2147483647,-9223372036854775808,-2.5,1e21,plain,F,1735725600
EOF
cat >e.csv <<'EOF'
id,event_timestamp
1,2025-01-01T01:00:00Z
2,2025-01-01T01:00:00Z
3,2025-01-01T01:00:00Z
4,2025-01-01T01:00:00Z
EOF
applied types
refs="-f t:i32 -f t:i64 -f t:f32 -f t:f64 -f t:s -f t:b -f t:at"
# no_tmp FILE: no temporary file of FILE's write is left beside it
no_tmp() {
    for f in "$1".tmp*; do [ -e "$f" ] && return 1; done
    return 0
}
# shellcheck disable=SC2086
ghf --entities e.csv $refs -o out.jsonl
if [ "$RC" -eq 0 ] && [ -z "$OUT" ] && no_tmp out.jsonl; then
    run cat out.jsonl
    expect_golden "-o x.jsonl: JSON Lines, typed values, null as null" pit_types.jsonl
else
    not_ok "-o x.jsonl: JSON Lines, typed values, null as null" "exit $RC" "stdout: $OUT" "stderr: $ERR"
fi
# a file of the temporary file's old name is someone else's: left alone
# (the write went through out.csv.tmp, overwriting it and renaming it away)
printf 'mine\n' >out.csv.tmp
# shellcheck disable=SC2086
ghf --entities e.csv $refs -o out.csv
if [ "$(cat out.csv.tmp 2>/dev/null)" = mine ]; then ok "-o out.csv leaves a file named out.csv.tmp alone"
else not_ok "-o out.csv leaves a file named out.csv.tmp alone" "out.csv.tmp: $(head -c 100 out.csv.tmp 2>&1)"; fi
rm -f out.csv.tmp
if [ "$RC" -eq 0 ] && [ -z "$OUT" ] && no_tmp out.csv; then
    run cat out.csv
    expect_golden "-o x.csv: CSV file, empty cells for null" pit_types.csv
else
    not_ok "-o x.csv: CSV file, empty cells for null" "exit $RC" "stdout: $OUT" "stderr: $ERR"
fi
# shellcheck disable=SC2086
ghf --entities e.csv $refs --format jsonl
expect_golden "--format jsonl to stdout is the same text" pit_types.jsonl

# An output that exists and is not a regular file (a FIFO here; /dev/null
# or a terminal alike) is written in place: renaming a temporary file over
# it would replace it (as it once replaced /dev/null with a plain file).
for fmt in csv parquet; do
    rm -f pipe.out got.out
    mkfifo pipe.out
    cat pipe.out >got.out &
    reader=$!
    # shellcheck disable=SC2086
    ghf --entities e.csv $refs --format $fmt -o pipe.out
    n=0
    while kill -0 "$reader" 2>/dev/null && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
    if kill -0 "$reader" 2>/dev/null; then
        kill "$reader" 2>/dev/null
        not_ok "-o FIFO ($fmt): written in place" "the FIFO's reader got no end of file" "exit $RC" "stderr: $ERR" "$(ls -l pipe.out)"
    elif [ "$RC" -ne 0 ] || [ ! -p pipe.out ] || [ ! -s got.out ] || ! no_tmp pipe.out; then
        not_ok "-o FIFO ($fmt): written in place" "exit $RC" "stderr: $ERR" "$(ls -l pipe.out got.out)"
    elif [ $fmt = csv ] && ! cmp -s got.out "$GOLDEN/pit_types.csv"; then
        not_ok "-o FIFO ($fmt): written in place" "the reader got other text" "$(cat got.out)"
    else
        ok "-o FIFO ($fmt): written in place, still a FIFO"
    fi
    wait "$reader" 2>/dev/null
done

#---- Float32 / Float64: the shortest text that reads back ---------------------------

repo floats <<'EOF'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
feature_view { name = "fl", entities = { k },
  schema = { field { name = "f32", dtype = Float32 }, field { name = "f64", dtype = Float64 } },
  source = file_source { name = "fls", path = "data/fl.csv", timestamp_field = "ts" } }
EOF
cat >data/fl.csv <<'EOF'
id,ts,f32,f64
1,2025-01-01T00:00:00Z,0.1,0.1
2,2025-01-01T00:00:00Z,0.3,0.30000000000000004
3,2025-01-01T00:00:00Z,16777217,9007199254740993
4,2025-01-01T00:00:00Z,1e-7,1e-7
5,2025-01-01T00:00:00Z,2.50,2.50
6,2025-01-01T00:00:00Z,-0,-0.0
7,2025-01-01T00:00:00Z,3.4028235e38,1.7976931348623157e308
8,2025-01-01T00:00:00Z,123456.7,0.1e1
EOF
printf 'id,event_timestamp\n1,2025-01-02T00:00:00Z\n2,2025-01-02T00:00:00Z\n3,2025-01-02T00:00:00Z\n4,2025-01-02T00:00:00Z\n5,2025-01-02T00:00:00Z\n6,2025-01-02T00:00:00Z\n7,2025-01-02T00:00:00Z\n8,2025-01-02T00:00:00Z\n' >e.csv
applied floats
ghf --entities e.csv -f fl:f32 -f fl:f64
expect_golden "Float32 and Float64: shortest round-trip text" pit_floats.csv

#---- timestamps with offsets and fractions -------------------------------------------

repo tstext <<'EOF'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
feature_view { name = "tt", entities = { k },
  schema = { field { name = "seen", dtype = UnixTimestamp } },
  source = file_source { name = "tts", path = "data/tt.csv", timestamp_field = "ts" } }
EOF
cat >data/tt.csv <<'EOF'
id,ts,seen
1,2025-01-01T12:00:00+02:00,2025-01-01T12:00:00+02:00
2,2025-01-01 10:00:00.5,2025-01-01T10:00:00.123456789Z
3,1735725600,1735725600
4,2025-01-01T10:00:00-0130,2025-01-01
5,2025-01-01T10:00Z,2025-01-01t10:00:00.000000z
EOF
cat >e.csv <<'EOF'
id,event_timestamp
1,2025-01-01T11:00:00+01:00
1,2025-01-01T10:59:59+01:00
2,2025-01-01T10:00:00.5Z
2,2025-01-01T10:00:00.499999Z
3,1735725600
4,2025-01-01T11:30:00Z
4,2025-01-01T11:29:59.999999Z
5,2025-01-01 10:00:00
EOF
applied tstext
ghf --entities e.csv -f tt:seen
expect_golden "timestamps: offsets, fractions and epoch seconds compared and written in UTC" pit_tstext.csv

#---- empty cells are null --------------------------------------------------------------

repo nulls <<'EOF'
local k = entity { name = "k", join_keys = { "id" }, value_type = Int64 }
feature_view { name = "n", entities = { k },
  schema = { field { name = "a", dtype = Int64 }, field { name = "s", dtype = String } },
  source = file_source { name = "ns", path = "data/n.csv", timestamp_field = "ts" } }
EOF
cat >data/n.csv <<'EOF'
id,ts,a,s
1,2025-01-01T09:00:00Z,1,x
1,2025-01-01T10:00:00Z,,
,2025-01-01T11:00:00Z,9,k
2,2025-01-01T10:00:00Z,"",""
EOF
cat >e.csv <<'EOF'
id,event_timestamp
1,2025-01-01T09:30:00Z
1,2025-01-01T10:30:00Z
,2025-01-01T11:30:00Z
2,2025-01-01T10:30:00Z
EOF
applied nulls
ghf --entities e.csv -f n:a -f n:s --format jsonl
expect_golden "empty cells: null values (the winner's null is kept), a null key matches nothing" pit_nulls.jsonl

#---- Feast's documented example ---------------------------------------------------------

repo feast_doc <<'EOF'
local driver = entity { name = "driver", join_keys = { "driver_id" } }
feature_view {
  name = "driver_hourly_stats",
  entities = { driver },
  schema = {
    field { name = "driver_id", dtype = Int64 },
    field { name = "trips_today", dtype = Int64 },
    field { name = "earnings_today", dtype = Float32 },
  },
  ttl = hours(2),
  source = file_source { name = "driver_hourly_stats_source",
                         path = "data/driver_hourly_stats.csv",
                         timestamp_field = "event_timestamp" },
}
EOF
cat >data/driver_hourly_stats.csv <<'EOF'
driver_id,event_timestamp,trips_today,earnings_today
1001,2021-04-12T08:00:00Z,3,120.5
1001,2021-04-12T09:00:00Z,5,180.25
1002,2021-04-12T08:00:00Z,2,60
1002,2021-04-12T10:00:00Z,4,150.75
EOF
cat >e.csv <<'EOF'
driver_id,event_timestamp,trip_success
1001,2021-04-12T07:30:00Z,true
1001,2021-04-12T09:30:00Z,false
1002,2021-04-12T10:15:00Z,true
1002,2021-04-12T21:00:00Z,true
1001,2021-04-12T10:59:00Z,false
EOF
applied feast_doc
ghf --entities e.csv -f driver_hourly_stats:trips_today -f driver_hourly_stats:earnings_today
expect_golden "Feast's example: rows before all data and 11 hours after the last are null" pit_feast_doc.csv

#---- no run printed a sanitizer report ---------------------------------------------------

if [ "${MF_PIT_SOURCES:-}" = parquet ]; then
    if [ "$PQ_SOURCES" -ge 20 ]; then ok "$PQ_SOURCES file_sources read from Parquet"
    else not_ok "file_sources read from Parquet" "only $PQ_SOURCES"; fi
fi

if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:|Segmentation' "$ALL"; then
    not_ok "no sanitizer report in any run" "$(grep -E 'Sanitizer|runtime error' "$ALL" | head -5)"
else
    ok "no sanitizer report in any run"
fi

#---- an inferred join key past 2^53 ---------------------------------------------------
# a key with no value_type whose values are whole numbers past Int64 is a
# String, not a Float64 (as doubles, these two keys were one)
mkdir -p "$WORK/bigkey/data" && cd "$WORK/bigkey" || exit 1
printf 'project: t\n' >feature_store.yaml
cat >defs.lua <<'EOF2'
local u = entity { name = "u", join_keys = { "uid" } }
feature_view { name = "v", entities = { u }, ttl = 0,
  schema = { field { name = "x", dtype = Int64 } },
  source = file_source { name = "s", path = "data/s.csv", timestamp_field = "ts" } }
EOF2
printf 'uid,ts,x\n18446744073709551615,2025-01-01T00:00:00Z,1\n18446744073709551614,2025-01-01T00:00:00Z,2\n' >data/s.csv
printf 'uid,event_timestamp\n18446744073709551615,2025-01-02T00:00:00Z\n18446744073709551614,2025-01-02T00:00:00Z\n' >e.csv
run "$MF" apply
expect_rc "apply: a join key inferred from numbers past Int64" 0
run "$MF" get-historical-features -e e.csv -f v:x
expect_out "  ... is text: two keys, each its own value" 'uid,event_timestamp,x
18446744073709551615,2025-01-02T00:00:00Z,1
18446744073709551614,2025-01-02T00:00:00Z,2'

# a column of text a String cannot hold (Latin-1 here) is inferred Bytes
# (it was String, and every read of it failed)
cat >>defs.lua <<'EOF2'
feature_view { name = "lat", entities = { u }, ttl = 0,
  source = file_source { name = "ls", path = "data/l.csv", timestamp_field = "ts" } }
EOF2
printf 'uid,ts,name\n18446744073709551615,2025-01-01T00:00:00Z,caf\351\n' >data/l.csv
run "$MF" apply
expect_rc "apply: a view inferred over Latin-1 text" 0
expect_dtype "  ... the column is Bytes" name Bytes
run "$MF" get-historical-features -e e.csv -f lat:name -o out.jsonl
expect_rc "  ... and is read" 0
if grep -q '"name":"Y2Fm6Q=="' out.jsonl; then ok "  ... its bytes as they are"; else not_ok "  ... its bytes as they are" "$(cat out.jsonl)"; fi

# a column whose name is no feature name is skipped by inference, and said
cat >>defs.lua <<'EOF2'
feature_view { name = "cv", entities = { u }, ttl = 0,
  source = file_source { name = "cs", path = "data/c.csv", timestamp_field = "ts" } }
EOF2
printf 'uid,ts,x,conv rate\n1,2025-01-01T00:00:00Z,1,0.5\n' >data/c.csv
run "$MF" apply
expect_err "inference skips a column named 'conv rate', with a warning" 0 "column 'conv rate' of"
