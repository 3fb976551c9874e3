# online_serving.sh — materialization and online reads through the real CLI
# (docs/concepts.md, "Materialization" and "Online reads").
#
# Expected values are worked out here, independently of moonfeast: by awk
# over the source CSV (per driver, among the rows in the window, the row
# with the greatest event_timestamp, then the greatest created, then the
# last in the file) or by hand for the small cases (full JSON texts below).
# Responses are turned into one line per entity row by rows.awk; numbers
# are compared as numbers. Cases: round trips, windows that exclude later
# rows, old windows never replacing newer values, materialize-incremental
# with merged intervals, a materialization killed between batches and run
# again, statuses (PRESENT, NOT_FOUND, NULL_VALUE, OUTSIDE_MAX_AGE), value
# types in JSON, feature services with projections, full feature names,
# request order, composite keys, and every error's exit code (1 user error,
# 2 usage) and message. No output may hold a sanitizer report.
. "$(dirname "$0")/lib.sh"
case $MF in /*) ;; */*) MF=$OLDPWD/$MF ;; esac

ALL=$WORK/.all # stderr of every run, swept for sanitizer reports at the end

r() { # run, keeping stderr for the final sweep
    run "$@"
    printf '%s\n' "$ERR" >>"$ALL"
}

# repo NAME: a fresh repo $WORK/NAME (project t, definitions from stdin),
# and cd into it
repo() {
    mkdir -p "$WORK/$1/data" && cd "$WORK/$1" || exit 1
    printf 'project: t\n' >feature_store.yaml
    cat >defs.lua
}

# applied NAME: apply the current repo; a failure is reported under NAME
applied() {
    r "$MF" apply
    [ "$RC" -eq 0 ] || not_ok "$1 (apply)" "exit $RC" "stderr: $ERR"
}

# step NAME CMD...: a command that must succeed; reported only on failure
step() {
    name=$1
    shift
    r "$@"
    [ "$RC" -eq 0 ] || not_ok "$name: $*" "exit $RC" "stderr: $ERR"
}

# rows.awk: a response (one JSON line) as one line per entity row: for each
# column "value|status|event_timestamp", joined by '|'; quotes dropped,
# numbers printed as %.17g. Values must not hold ',', ']' or '|'.
cp "$E2E_DIR/rows.awk" "$WORK/rows.awk"

# latest.awk: the expected rows.awk lines for drivers 1..NID of a CSV
# "driver_id,event_timestamp,created,trips,rate,label" materialized over
# [S, E] (string compare: every timestamp has the same form), features
# trips, rate, label in that order; PST is the status of a present value.
cat >"$WORK/latest.awk" <<'EOF'
function norm(v) {
    if (v ~ /^-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$/) v = sprintf("%.17g", v + 0)
    return v
}
function cell(v, t) { return v == "" ? "null|NULL_VALUE|" t : norm(v) "|" PST "|" t }
BEGIN { FS = "," }
NR == 1 { next }
{
    id = $1; ts = $2; cr = $3
    if (ts < S || ts > E) next
    if (!(id in bt) || ts > bt[id] || (ts == bt[id] && cr >= bc[id])) {
        bt[id] = ts; bc[id] = cr; tr[id] = $4; ra[id] = $5; la[id] = $6
    }
}
END {
    z = "1970-01-01T00:00:00Z"
    for (i = 1; i <= NID; i++) {
        id = i ""
        line = id "|PRESENT|" z
        if (id in bt)
            line = line "|" cell(tr[id], bt[id]) "|" cell(ra[id], bt[id]) "|" cell(la[id], bt[id])
        else
            line = line "|null|NOT_FOUND|" z "|null|NOT_FOUND|" z "|null|NOT_FOUND|" z
        print line
    }
}
EOF

# gen.awk: N rows for drivers 1..D: event times on the hour or half hour of
# 2025-01-01 and -02 (many ties), created empty or one of three times,
# trips empty 5% of the time, rate k/8, label L<k> or empty 10% of the
# time; rows in no particular order. MINSTD generator, seeded.
cat >"$WORK/gen.awk" <<'EOF'
function rnd(m) { x = (x * 48271) % 2147483647; return x % m }
function stamp(h, m) { return sprintf("2025-01-%02dT%02d:%02d:00Z", 1 + int(h / 24), h % 24, m) }
BEGIN {
    x = SEED
    print "driver_id,event_timestamp,created,trips,rate,label"
    for (i = 0; i < N; i++) {
        id = 1 + rnd(D)
        h = rnd(48)
        ts = stamp(h, 30 * rnd(2))
        c = rnd(4)
        cr = c == 0 ? "" : stamp(c * 12, 0)
        trips = rnd(20) == 0 ? "" : rnd(1000)
        k = rnd(80)
        label = rnd(10) == 0 ? "" : "L" rnd(1000)
        printf "%d,%s,%s,%s,%.3f,%s\n", id, ts, cr, trips, k / 8, label
    }
}
EOF

# ids N: "-e driver_id=1 ... -e driver_id=N"
ids() {
    i=1
    while [ "$i" -le "$1" ]; do
        printf -- '-e driver_id=%d ' "$i"
        i=$((i + 1))
    done
}

# check_latest NAME VIEW CSV S E NID PST: get-online-features of drivers
# 1..NID (trips, rate, label of VIEW) equals latest.awk over [S, E]
check_latest() {
    awk -v S="$4" -v E="$5" -v NID="$6" -v PST="$7" -f "$WORK/latest.awk" "$3" >"$WORK/want.rows"
    # shellcheck disable=SC2046
    r "$MF" get-online-features $(ids "$6") -f "$2:trips" -f "$2:rate" -f "$2:label"
    if [ "$RC" -ne 0 ]; then
        not_ok "$1" "exit $RC" "stderr: $ERR"
        return
    fi
    printf '%s\n' "$OUT" | awk -f "$WORK/rows.awk" >"$WORK/got.rows"
    if ! printf '%s' "$OUT" | grep -q '"feature_names":\["driver_id","trips","rate","label"\]'; then
        not_ok "$1" "feature names: $(printf '%s' "$OUT" | cut -c1-120)"
    elif ! diff "$WORK/want.rows" "$WORK/got.rows" >"$WORK/rows.diff"; then
        not_ok "$1" "differs from the latest rows of the CSV (< want, > got):" \
            "$(head -20 "$WORK/rows.diff")"
    else
        ok "$1"
    fi
}

# intervals VIEW: the materialization intervals of VIEW as "start end"
# lines (microseconds; describe prints them as RFC 3339 text)
to_us() { echo "$(date -u -d "$1" +%s)000000"; }
intervals() {
    if ! "$MF" feature-views describe "$1" >"$WORK/describe.json" 2>>"$ALL"; then
        echo "describe $1 failed"
        return
    fi
    { tr -d ' \n' <"$WORK/describe.json"; echo; } |
        sed -e 's/.*"intervals":\[//' -e 's/\].*//' -e 's/},{/}\n{/g' |
        sed -n 's/.*"start":"\([^"]*\)","end":"\([^"]*\)".*/\1 \2/p' |
        while read -r a b; do echo "$(to_us "$a") $(to_us "$b")"; done
}

#==== 1. round trips against the source CSV =================================

repo main <<'EOF'
local driver = entity { name = "driver", join_keys = { "driver_id" }, value_type = Int64 }
local src = file_source { name = "src", path = "data/stats.csv", timestamp_field = "event_timestamp",
  created_timestamp_column = "created" }
local schema = { field { name = "trips", dtype = Int64 }, field { name = "rate", dtype = Float64 },
  field { name = "label", dtype = String } }
feature_view { name = "stats", entities = { driver }, ttl = 0, schema = schema, source = src }
feature_view { name = "recent", entities = { driver }, ttl = 7200, schema = schema, source = src }
feature_view { name = "hist", entities = { driver }, ttl = 0, schema = schema, source = src }
feature_view { name = "offline_only", entities = { driver }, ttl = 0, schema = schema, source = src,
  online = false }
EOF
awk -v SEED=4242 -v N=3000 -v D=60 -f "$WORK/gen.awk" >data/stats.csv
# the oldest row, placed last
echo "60,2025-01-01T00:00:00Z,,5,0.5,first" >>data/stats.csv
applied main
MAIN=$WORK/main

r "$MF" get-online-features -e driver_id=1 -f stats:trips
expect_out "before any materialization: NOT_FOUND" \
'{"metadata":{"feature_names":["driver_id","trips"]},"results":[{"values":[1],"statuses":["PRESENT"],"event_timestamps":["1970-01-01T00:00:00Z"]},{"values":[null],"statuses":["NOT_FOUND"],"event_timestamps":["1970-01-01T00:00:00Z"]}]}'

step "materialize" "$MF" materialize 2025-01-01T00:00:00Z 2025-01-03T00:00:00Z -v stats
check_latest "round trip: every driver's latest row of the whole CSV (ties on time broken by created, then file order; nulls)" \
    stats data/stats.csv 2025-01-01T00:00:00Z 2025-01-03T00:00:00Z 62 PRESENT

#==== 2. windows ===============================================================

# a window that ends in the middle of the data: later rows are not used
step "materialize window" "$MF" materialize 2025-01-01T00:00:00Z 2025-01-01T12:00:00Z -v hist
check_latest "a window ending at 12:00 excludes the later rows (END inclusive)" \
    hist data/stats.csv 2025-01-01T00:00:00Z 2025-01-01T12:00:00Z 62 PRESENT
step "materialize later window" "$MF" materialize 2025-01-01T12:00:00Z 2025-01-03T00:00:00Z -v hist
check_latest "the next window brings the latest rows" \
    hist data/stats.csv 2025-01-01T00:00:00Z 2025-01-03T00:00:00Z 62 PRESENT
step "materialize old window again" "$MF" materialize 2025-01-01T00:00:00Z 2025-01-01T12:00:00Z -v hist
check_latest "an old window again never replaces newer values" \
    hist data/stats.csv 2025-01-01T00:00:00Z 2025-01-03T00:00:00Z 62 PRESENT
if [ "$(intervals hist)" = "1735689600000000 1735862400000000" ]; then
    ok "three overlapping windows are one interval"
else
    not_ok "three overlapping windows are one interval" "$(intervals hist)"
fi

# a window that starts in the middle: a driver whose only rows are earlier
# is not found
step "materialize late window" "$MF" materialize 2025-01-02T18:00:00Z 2025-01-03T00:00:00Z -v recent
check_latest "a window starting at 2025-01-02T18:00 excludes the earlier rows (START inclusive); ttl 7200 on 2025 data: OUTSIDE_MAX_AGE, value returned" \
    recent data/stats.csv 2025-01-02T18:00:00Z 2025-01-03T00:00:00Z 62 OUTSIDE_MAX_AGE

#==== 3. materialize-incremental ================================================

repo incr <<'EOF'
local driver = entity { name = "driver", join_keys = { "driver_id" }, value_type = Int64 }
local src = file_source { name = "src", path = "data/stats.csv", timestamp_field = "event_timestamp",
  created_timestamp_column = "created" }
local schema = { field { name = "trips", dtype = Int64 }, field { name = "rate", dtype = Float64 },
  field { name = "label", dtype = String } }
feature_view { name = "inc", entities = { driver }, ttl = 0, schema = schema, source = src }
feature_view { name = "inc_ttl", entities = { driver }, ttl = 21600, schema = schema, source = src }
EOF
cp "$MAIN/data/stats.csv" data/stats.csv
applied incr
# END as epoch seconds: 2025-01-01T08:00:00Z, 2025-01-01T20:00:00Z, 2025-01-02T23:30:00Z
prev=""
for e in 1735718400 1735761600 1735860600; do
    iso=$(awk -v e="$e" 'BEGIN { s = e - 1735689600; printf "2025-01-%02dT%02d:%02d:00Z", 1 + int(s / 86400), int(s % 86400 / 3600), int(s % 3600 / 60) }')
    step "materialize-incremental $iso" "$MF" materialize-incremental "$e" -v inc
    check_latest "materialize-incremental up to $iso: every row up to it${prev:+ (after $prev)}" \
        inc data/stats.csv 0 "$iso" 62 PRESENT
    prev=$iso
done
got=$(intervals inc)
if [ "$got" = "1735689600000000 1735860600000000" ]; then
    ok "three incremental runs: one interval from the oldest row to the last END"
else
    not_ok "three incremental runs: one interval from the oldest row to the last END" "intervals: $got"
fi
# first incremental run of a view with ttl 6 h: starts at END - ttl
step "materialize-incremental ttl" "$MF" materialize-incremental 2025-01-02T12:00:00Z -v inc_ttl
check_latest "first incremental run with ttl 6 h: only rows from END - 6 h" \
    inc_ttl data/stats.csv 2025-01-02T06:00:00Z 2025-01-02T12:00:00Z 62 OUTSIDE_MAX_AGE
got=$(intervals inc_ttl)
if [ "$got" = "1735797600000000 1735819200000000" ]; then
    ok "its interval is [END - ttl, END]"
else
    not_ok "its interval is [END - ttl, END]" "intervals: $got"
fi
step "materialize-incremental ttl again" "$MF" materialize-incremental 2025-01-03T00:00:00Z -v inc_ttl
check_latest "second incremental run continues from the last END" \
    inc_ttl data/stats.csv 2025-01-02T06:00:00Z 2025-01-03T00:00:00Z 62 OUTSIDE_MAX_AGE
# all views (no -v): both continue
step "materialize-incremental all" "$MF" materialize-incremental 2025-01-04T00:00:00Z
got=$(intervals inc)
if [ "$got" = "1735689600000000 1735948800000000" ]; then
    ok "materialize-incremental without -v runs every online view"
else
    not_ok "materialize-incremental without -v runs every online view" "intervals: $got"
fi

#==== 4. a materialization killed between batches ================================

repo big <<'EOF'
local k = entity { name = "k", join_keys = { "driver_id" }, value_type = Int64 }
local src = file_source { name = "bigsrc", path = "data/big.csv", timestamp_field = "event_timestamp" }
feature_view { name = "big", entities = { k }, ttl = 0, source = src,
  schema = { field { name = "v", dtype = Int64 }, field { name = "label", dtype = String } } }
EOF
# 35000 keys (4 batches of 10000); every 5th key has an older row after
# its latest one
awk 'BEGIN {
    print "driver_id,event_timestamp,v,label"
    for (i = 1; i <= 35000; i++) {
        printf "%d,2025-01-01T%02d:%02d:00Z,%d,B%d\n", i, 1 + i % 20, i % 60, i * 3, i % 997
        if (i % 5 == 0) printf "%d,2025-01-01T00:00:00Z,-1,old\n", i
    }
}' >data/big.csv
applied big
BIGDB=$WORK/big/data/online.db
# online_count: rows of the big view in the online store (sqlite3 CLI), or
# the number of probes of keys 1 and 10001 that are found without it
if command -v sqlite3 >/dev/null 2>&1; then
    online_count() { sqlite3 "$BIGDB" 'SELECT count(*) FROM "t:big"' 2>/dev/null || echo 0; }
else
    echo "# no sqlite3 CLI: batches counted through get-online-features"
    online_count() {
        c=0
        for probe in 1 10001 20001 30001; do
            "$MF" get-online-features -e driver_id=$probe -f big:v 2>/dev/null |
                grep -q '"statuses":\["PRESENT"\]},{"values":\[[0-9]' && c=$((c + 10000))
        done
        echo $c
    }
fi
MF_TEST_PAUSE=materialize=1500 "$MF" materialize 2025-01-01T00:00:00Z 2025-01-02T00:00:00Z \
    >"$WORK/killed.out" 2>"$WORK/killed.err" &
pid=$!
n=0
count=0
while [ $n -lt 400 ]; do
    count=$(online_count)
    [ "${count:-0}" -ge 10000 ] && break
    sleep 0.025
    n=$((n + 1))
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
status=$?
cat "$WORK/killed.err" >>"$ALL"
count=$(online_count)
if [ $status -eq 137 ] && [ "$count" -ge 10000 ] && [ "$count" -lt 35000 ] && [ $((count % 10000)) -eq 0 ]; then
    ok "killed after the first batch: $count of 35000 keys written, whole batches only"
else
    not_ok "killed after the first batch: whole batches written" "exit status $status, $count keys" \
        "$(cat "$WORK/killed.err")"
fi
got=$(intervals big)
if [ -z "$got" ]; then ok "the killed run recorded no interval"; else not_ok "the killed run recorded no interval" "$got"; fi
step "materialize again" "$MF" materialize 2025-01-01T00:00:00Z 2025-01-02T00:00:00Z
count=$(online_count)
if [ "$count" -eq 35000 ]; then ok "the second run wrote every key"; else not_ok "the second run wrote every key" "$count keys"; fi
got=$(intervals big)
if [ "$got" = "1735689600000000 1735776000000000" ]; then
    ok "the second run recorded its interval"
else
    not_ok "the second run recorded its interval" "intervals: $got"
fi
# every key's value, in one request of 35000 rows
# (xargs may split the list over several runs: each prints one response)
awk 'BEGIN { for (i = 1; i <= 35000; i++) printf "--entity=driver_id=%d\n", i }' >"$WORK/big.args"
awk -F, 'NR > 1 && $3 != -1 { printf "%s|PRESENT|1970-01-01T00:00:00Z|%s|PRESENT|%s|%s|PRESENT|%s\n", $1, $3, $2, $4, $2 }' \
    data/big.csv >"$WORK/big.want"
tr '\n' '\0' <"$WORK/big.args" | xargs -0 "$MF" get-online-features -f big:v -f big:label \
    >"$WORK/big.json" 2>>"$ALL"
awk -f "$WORK/rows.awk" "$WORK/big.json" >"$WORK/big.got"
if cmp -s "$WORK/big.want" "$WORK/big.got"; then
    ok "after the rerun every key holds its latest row (35000 keys read back)"
else
    not_ok "after the rerun every key holds its latest row" "$(diff "$WORK/big.want" "$WORK/big.got" | head -10)"
fi

#==== 5. statuses, value types, small cases checked by hand ======================

repo small <<'EOF'
local driver = entity { name = "driver", join_keys = { "driver_id" }, value_type = Int64 }
local src = file_source { name = "src", path = "data/s.csv", timestamp_field = "ts" }
local s = feature_view { name = "s", entities = { driver }, ttl = 0, source = src,
  schema = { field { name = "a", dtype = Int64 }, field { name = "b", dtype = String },
             field { name = "c", dtype = Float64 } } }
local old = feature_view { name = "old", entities = { driver }, ttl = 3600, source = src,
  schema = { field { name = "a", dtype = Int64 } } }
local fut = file_source { name = "fut", path = "data/future.csv", timestamp_field = "ts" }
feature_view { name = "future", entities = { driver }, ttl = 3600, source = fut,
  schema = { field { name = "a", dtype = Int64 } } }
local tsrc = file_source { name = "tsrc", path = "data/types.csv", timestamp_field = "ts" }
feature_view { name = "types", entities = { driver }, ttl = 0, source = tsrc,
  schema = { field { name = "i32", dtype = Int32 }, field { name = "i64", dtype = Int64 },
             field { name = "f32", dtype = Float32 }, field { name = "f64", dtype = Float64 },
             field { name = "s", dtype = String }, field { name = "by", dtype = Bytes },
             field { name = "bo", dtype = Bool }, field { name = "t", dtype = UnixTimestamp },
             field { name = "li", dtype = Array(Int64) }, field { name = "ls", dtype = Array(String) } } }
feature_service { name = "fs_alias", features = {
  s:select { "c", "a" }:with_name("sa") } }
feature_service { name = "fs_map", features = {
  s:select { "a" }:with_name("origin"):with_join_key_map { driver_id = "origin_id" },
  s:select { "a", "b" }:with_name("dest"):with_join_key_map { driver_id = "dest_id" } } }
feature_service { name = "fs_plain", features = { s:select { "b" }, old } }
on_demand_feature_view { name = "mapped",
  sources = { s:select { "a" }:with_join_key_map { driver_id = "other_id" } },
  schema = { field { name = "a2", dtype = Int64 } },
  transform = function(r) return { a2 = r.a or null } end }
local pair = entity { name = "pair", join_keys = { "user_id", "item" } }
local psrc = file_source { name = "psrc", path = "data/p.csv", timestamp_field = "ts" }
feature_view { name = "p", entities = { pair }, ttl = 0, source = psrc,
  schema = { field { name = "score", dtype = Int64 } } }
EOF
cat >data/s.csv <<'EOF'
driver_id,ts,a,b,c
1,2025-03-01T10:00:00Z,10,one,1.5
2,2025-03-01T11:00:00Z,20,,2.25
3,2025-03-01T12:00:00Z,,three,
,2025-03-01T13:00:00Z,99,no key,9.5
EOF
cat >data/future.csv <<'EOF'
driver_id,ts,a
1,2099-01-01T00:00:00Z,7
EOF
cat >data/types.csv <<'EOF'
driver_id,ts,i32,i64,f32,f64,s,by,bo,t,li,ls
1,2025-03-01T00:00:00Z,-5,9007199254740993,0.5,-2.5,"q""uote",abc,true,2025-01-02T03:04:05Z,"[1,-2]","[""x"",""y""]"
2,2025-03-01T00:00:00Z,,,,,,,,,,
EOF
cat >data/p.csv <<'EOF'
user_id,item,ts,score
1,x,2025-03-01T00:00:00Z,100
1,y,2025-03-01T00:00:00Z,101
2,x,2025-03-01T00:00:00Z,200
EOF
applied small
step "materialize small" "$MF" materialize 2025-01-01T00:00:00Z 2100-01-01T00:00:00Z

J0='{"metadata":{"feature_names":['
Z='"1970-01-01T00:00:00Z"'
r "$MF" get-online-features -e driver_id=1 -e driver_id=2 -e driver_id=3 -e driver_id=99 -f s:a -f s:b -f s:c
expect_out "PRESENT, NULL_VALUE for empty cells, NOT_FOUND for an unknown key (a source row without a key is skipped)" \
"$J0"'"driver_id","a","b","c"]},"results":[{"values":[1,2,3,99],"statuses":["PRESENT","PRESENT","PRESENT","PRESENT"],"event_timestamps":['"$Z,$Z,$Z,$Z"']},{"values":[10,20,null,null],"statuses":["PRESENT","PRESENT","NULL_VALUE","NOT_FOUND"],"event_timestamps":["2025-03-01T10:00:00Z","2025-03-01T11:00:00Z","2025-03-01T12:00:00Z",'"$Z"']},{"values":["one",null,"three",null],"statuses":["PRESENT","NULL_VALUE","PRESENT","NOT_FOUND"],"event_timestamps":["2025-03-01T10:00:00Z","2025-03-01T11:00:00Z","2025-03-01T12:00:00Z",'"$Z"']},{"values":[1.5,2.25,null,null],"statuses":["PRESENT","PRESENT","NULL_VALUE","NOT_FOUND"],"event_timestamps":["2025-03-01T10:00:00Z","2025-03-01T11:00:00Z","2025-03-01T12:00:00Z",'"$Z"']}]}'

r "$MF" get-online-features -e driver_id=2 -e driver_id=1 -f s:c -f s:a -f s:b
expect_out "features in request order, not schema order; rows in request order" \
"$J0"'"driver_id","c","a","b"]},"results":[{"values":[2,1],"statuses":["PRESENT","PRESENT"],"event_timestamps":['"$Z,$Z"']},{"values":[2.25,1.5],"statuses":["PRESENT","PRESENT"],"event_timestamps":["2025-03-01T11:00:00Z","2025-03-01T10:00:00Z"]},{"values":[20,10],"statuses":["PRESENT","PRESENT"],"event_timestamps":["2025-03-01T11:00:00Z","2025-03-01T10:00:00Z"]},{"values":[null,"one"],"statuses":["NULL_VALUE","PRESENT"],"event_timestamps":["2025-03-01T11:00:00Z","2025-03-01T10:00:00Z"]}]}'

r "$MF" get-online-features -e driver_id=1 -e driver_id=3 -f old:a
expect_out "ttl 1 h, data from 2025: OUTSIDE_MAX_AGE with the value; a null stays NULL_VALUE" \
"$J0"'"driver_id","a"]},"results":[{"values":[1,3],"statuses":["PRESENT","PRESENT"],"event_timestamps":['"$Z,$Z"']},{"values":[10,null],"statuses":["OUTSIDE_MAX_AGE","NULL_VALUE"],"event_timestamps":["2025-03-01T10:00:00Z","2025-03-01T12:00:00Z"]}]}'

r "$MF" get-online-features -e driver_id=1 -f future:a -f s:a --full-feature-names
expect_out "ttl 1 h, data from 2099: PRESENT; ttl 0, data from 2025: PRESENT; two views in one request" \
"$J0"'"driver_id","future__a","s__a"]},"results":[{"values":[1],"statuses":["PRESENT"],"event_timestamps":['"$Z"']},{"values":[7],"statuses":["PRESENT"],"event_timestamps":["2099-01-01T00:00:00Z"]},{"values":[10],"statuses":["PRESENT"],"event_timestamps":["2025-03-01T10:00:00Z"]}]}'

r "$MF" get-online-features -e driver_id=1 -e driver_id=2 -f types:i32 -f types:i64 -f types:f32 \
    -f types:f64 -f types:s -f types:by -f types:bo -f types:t -f types:li -f types:ls
expect_out "every value type in JSON (Bytes as base64, lists as arrays, all-null row)" \
"$J0"'"driver_id","i32","i64","f32","f64","s","by","bo","t","li","ls"]},"results":[{"values":[1,2],"statuses":["PRESENT","PRESENT"],"event_timestamps":['"$Z,$Z"']},{"values":[-5,null],"statuses":["PRESENT","NULL_VALUE"],"event_timestamps":["2025-03-01T00:00:00Z","2025-03-01T00:00:00Z"]},{"values":[9007199254740993,null],"statuses":["PRESENT","NULL_VALUE"],"event_timestamps":["2025-03-01T00:00:00Z","2025-03-01T00:00:00Z"]},{"values":[0.5,null],"statuses":["PRESENT","NULL_VALUE"],"event_timestamps":["2025-03-01T00:00:00Z","2025-03-01T00:00:00Z"]},{"values":[-2.5,null],"statuses":["PRESENT","NULL_VALUE"],"event_timestamps":["2025-03-01T00:00:00Z","2025-03-01T00:00:00Z"]},{"values":["q\"uote",null],"statuses":["PRESENT","NULL_VALUE"],"event_timestamps":["2025-03-01T00:00:00Z","2025-03-01T00:00:00Z"]},{"values":["YWJj",null],"statuses":["PRESENT","NULL_VALUE"],"event_timestamps":["2025-03-01T00:00:00Z","2025-03-01T00:00:00Z"]},{"values":[true,null],"statuses":["PRESENT","NULL_VALUE"],"event_timestamps":["2025-03-01T00:00:00Z","2025-03-01T00:00:00Z"]},{"values":["2025-01-02T03:04:05Z",null],"statuses":["PRESENT","NULL_VALUE"],"event_timestamps":["2025-03-01T00:00:00Z","2025-03-01T00:00:00Z"]},{"values":[[1,-2],null],"statuses":["PRESENT","NULL_VALUE"],"event_timestamps":["2025-03-01T00:00:00Z","2025-03-01T00:00:00Z"]},{"values":[["x","y"],null],"statuses":["PRESENT","NULL_VALUE"],"event_timestamps":["2025-03-01T00:00:00Z","2025-03-01T00:00:00Z"]}]}'

#---- feature services and projections

r "$MF" get-online-features -e driver_id=1 --feature-service fs_alias
expect_out "service with select: the selected features in their order, short names" \
"$J0"'"driver_id","c","a"]},"results":[{"values":[1],"statuses":["PRESENT"],"event_timestamps":['"$Z"']},{"values":[1.5],"statuses":["PRESENT"],"event_timestamps":["2025-03-01T10:00:00Z"]},{"values":[10],"statuses":["PRESENT"],"event_timestamps":["2025-03-01T10:00:00Z"]}]}'

r "$MF" get-online-features -e driver_id=1 --feature-service fs_alias --full-feature-names
expect_out "service with with_name: full names alias__feature" \
"$J0"'"driver_id","sa__c","sa__a"]},"results":[{"values":[1],"statuses":["PRESENT"],"event_timestamps":['"$Z"']},{"values":[1.5],"statuses":["PRESENT"],"event_timestamps":["2025-03-01T10:00:00Z"]},{"values":[10],"statuses":["PRESENT"],"event_timestamps":["2025-03-01T10:00:00Z"]}]}'

r "$MF" get-online-features -e origin_id=1,dest_id=2 -e origin_id=2,dest_id=7 --feature-service fs_map --full-feature-names
expect_out "with_join_key_map: one view read twice through two entity columns" \
"$J0"'"origin_id","dest_id","origin__a","dest__a","dest__b"]},"results":[{"values":[1,2],"statuses":["PRESENT","PRESENT"],"event_timestamps":['"$Z,$Z"']},{"values":[2,7],"statuses":["PRESENT","PRESENT"],"event_timestamps":['"$Z,$Z"']},{"values":[10,20],"statuses":["PRESENT","PRESENT"],"event_timestamps":["2025-03-01T10:00:00Z","2025-03-01T11:00:00Z"]},{"values":[20,null],"statuses":["PRESENT","NOT_FOUND"],"event_timestamps":["2025-03-01T11:00:00Z",'"$Z"']},{"values":[null,null],"statuses":["NULL_VALUE","NOT_FOUND"],"event_timestamps":["2025-03-01T11:00:00Z",'"$Z"']}]}'

# an on-demand view's source mapped to another entity column, beside the
# same view read directly: two reads (it took the direct read's values)
r "$MF" get-online-features -e driver_id=1,other_id=2 -f s:a -f mapped:a2
expect_out "an on-demand view's with_join_key_map source beside the view itself" \
"$J0"'"driver_id","other_id","a","a2"]},"results":[{"values":[1],"statuses":["PRESENT"],"event_timestamps":['"$Z"']},{"values":[2],"statuses":["PRESENT"],"event_timestamps":['"$Z"']},{"values":[10],"statuses":["PRESENT"],"event_timestamps":["2025-03-01T10:00:00Z"]},{"values":[20],"statuses":["PRESENT"],"event_timestamps":["1970-01-01T00:00:00Z"]}]}'

r "$MF" get-online-features -e driver_id=1 --feature-service fs_map --full-feature-names
expect_err "with_join_key_map: the view's own key name is not enough" 1 "missing join key 'origin_id'"

r "$MF" get-online-features -e origin_id=1,dest_id=2 --feature-service fs_map
expect_err "two projections with the same feature name need full names" 1 "two requested features are named 'a'"
r "$MF" get-online-features -e driver_id=1 -f s:a -f s:a --full-feature-names
expect_err "one ref twice with full names: says so (it said to use full names)" 1 "two requested features are named 's__a' (one feature asked twice"

r "$MF" get-online-features -e driver_id=2 --feature-service fs_plain
expect_out "service of a selection and a whole view" \
"$J0"'"driver_id","b","a"]},"results":[{"values":[2],"statuses":["PRESENT"],"event_timestamps":['"$Z"']},{"values":[null],"statuses":["NULL_VALUE"],"event_timestamps":["2025-03-01T11:00:00Z"]},{"values":[20],"statuses":["OUTSIDE_MAX_AGE"],"event_timestamps":["2025-03-01T11:00:00Z"]}]}'

r "$MF" get-online-features -e driver_id=1 -f s:a -f s:b --full-feature-names
expect_out "--full-feature-names with refs: view__feature" \
"$J0"'"driver_id","s__a","s__b"]},"results":[{"values":[1],"statuses":["PRESENT"],"event_timestamps":['"$Z"']},{"values":[10],"statuses":["PRESENT"],"event_timestamps":["2025-03-01T10:00:00Z"]},{"values":["one"],"statuses":["PRESENT"],"event_timestamps":["2025-03-01T10:00:00Z"]}]}'

r "$MF" get-online-features -e driver_id=1 -f s:a -f old:a
expect_err "the same short name from two views needs full names" 1 "two requested features are named 'a'"

#---- composite keys

r "$MF" get-online-features -e user_id=1,item=x -e user_id=1,item=y -e user_id=2,item=y -f p:score
expect_out "composite key: two join keys, one of them a String" \
"$J0"'"user_id","item","score"]},"results":[{"values":[1,1,2],"statuses":["PRESENT","PRESENT","PRESENT"],"event_timestamps":['"$Z,$Z,$Z"']},{"values":["x","y","y"],"statuses":["PRESENT","PRESENT","PRESENT"],"event_timestamps":['"$Z,$Z,$Z"']},{"values":[100,101,null],"statuses":["PRESENT","PRESENT","NOT_FOUND"],"event_timestamps":["2025-03-01T00:00:00Z","2025-03-01T00:00:00Z",'"$Z"']}]}'

r "$MF" get-online-features -e item=x,user_id=2 -f p:score
expect_out "composite key given in the other order: join keys in request order, same value" \
"$J0"'"item","user_id","score"]},"results":[{"values":["x"],"statuses":["PRESENT"],"event_timestamps":['"$Z"']},{"values":[2],"statuses":["PRESENT"],"event_timestamps":['"$Z"']},{"values":[200],"statuses":["PRESENT"],"event_timestamps":["2025-03-01T00:00:00Z"]}]}'

r "$MF" get-online-features -e user_id=1 -f p:score
expect_err "composite key with one key missing" 1 "missing join key 'item'"

#---- a UnixTimestamp key: keyed in whole seconds, as Feast keys it ----------

# keys that differ below the second are one online key: its row is chosen
# among all their rows (greatest time, then created, then the last in the
# source), as a write of the same rows chooses it
repo tskey <<'EOF'
local k = entity { name = "k", join_keys = { "k" }, value_type = UnixTimestamp }
feature_view { name = "tv", entities = { k },
  schema = { field { name = "x", dtype = String } },
  source = file_source { name = "tvs", path = "data/tv.csv", timestamp_field = "ts" } }
EOF
cat >data/tv.csv <<'EOF'
k,ts,x
2025-01-01T00:00:00.2Z,2025-01-02T00:00:00Z,a
2025-01-01T00:00:00.7Z,2025-01-02T00:00:00Z,b
2025-01-01T00:00:00.2Z,2025-01-02T00:00:00Z,c
2025-01-01T00:00:01.9Z,2025-01-02T00:00:00Z,d
2025-01-01T00:00:01Z,2025-01-01T00:00:00Z,e
EOF
applied tskey
step "materialize (UnixTimestamp key)" "$MF" materialize 2025-01-01T00:00:00Z 2025-01-03T00:00:00Z
r "$MF" get-online-features -e k=2025-01-01T00:00:00Z -e k=2025-01-01T00:00:01Z -f tv:x
expect_out "UnixTimestamp key: sub-second keys are one key; the last of the tied rows wins" \
"$J0"'"k","x"]},"results":[{"values":["2025-01-01T00:00:00Z","2025-01-01T00:00:01Z"],"statuses":["PRESENT","PRESENT"],"event_timestamps":['"$Z,$Z"']},{"values":["c","d"],"statuses":["PRESENT","PRESENT"],"event_timestamps":["2025-01-02T00:00:00Z","2025-01-02T00:00:00Z"]}]}'
r "$MF" materialize 2025-01-01T00:00:00Z 2025-01-03T00:00:00Z
case $ERR in
*"2 entities"*) ok "UnixTimestamp key: the progress counts the keys written (2)" ;;
*) not_ok "UnixTimestamp key: the progress counts the keys written (2)" "stderr: $ERR" ;;
esac
# the same rows from Parquet, whose key column is a timestamp column
step "to-parquet" "$MF" to-parquet data/tv.csv data/tv.parquet
cat >>defs.lua <<'EOF'
feature_view { name = "tvp", entities = { k },
  schema = { field { name = "x", dtype = String } },
  source = file_source { name = "tvps", path = "data/tv.parquet", timestamp_field = "ts" } }
EOF
applied tskey_parquet
step "materialize (UnixTimestamp key, Parquet)" "$MF" materialize 2025-01-01T00:00:00Z 2025-01-03T00:00:00Z -v tvp
r "$MF" get-online-features -e k=2025-01-01T00:00:00Z -e k=2025-01-01T00:00:01Z -f tvp:x
expect_out "UnixTimestamp key from Parquet: sub-second keys are one key; the last of the tied rows wins" \
"$J0"'"k","x"]},"results":[{"values":["2025-01-01T00:00:00Z","2025-01-01T00:00:01Z"],"statuses":["PRESENT","PRESENT"],"event_timestamps":['"$Z,$Z"']},{"values":["c","d"],"statuses":["PRESENT","PRESENT"],"event_timestamps":["2025-01-02T00:00:00Z","2025-01-02T00:00:00Z"]}]}'

#==== 6. errors ===================================================================

cd "$WORK/small" || exit 1
r "$MF" get-online-features -e driver_id=1 -f nosuch:a
expect_err "unknown view" 1 "unknown feature view 'nosuch'"
r "$MF" get-online-features -e driver_id=1 -f s:nosuch
expect_err "unknown feature" 1 "unknown feature 's:nosuch'"
r "$MF" get-online-features -e driver_id=1 -f s
expect_err "ref without a feature" 1 "'s' is not of the form view:feature"
r "$MF" get-online-features -e driver_id=1 --feature-service nosvc
expect_err "unknown feature service" 1 "unknown feature service 'nosvc'"
r "$MF" get-online-features -e rider_id=1 -f s:a
expect_err "missing join key" 1 "missing join key 'driver_id'"
r "$MF" get-online-features -e driver_id=abc -f s:a
expect_err "text for an Int64 key" 1 "'abc' is not a valid Int64"
r "$MF" get-online-features -e driver_id=1 -e driver_id=1.5 -f s:a
expect_err "a decimal for an Int64 key, second row" 1 "'1.5' is not a valid Int64"
r "$MF" get-online-features -e driver_id= -f s:a
expect_err "an empty key value" 1 "driver_id"
r "$MF" get-online-features -e driver_id=99999999999999999999 -f s:a
expect_err "an Int64 key out of range" 1 "99999999999999999999"
r "$MF" get-online-features -f s:a
expect_err "no entity rows" 2 "-e KEY=VALUE"
r "$MF" get-online-features -e driver_id=1
expect_err "no features" 2 "give -f VIEW:FEATURE or --feature-service NAME"
r "$MF" get-online-features -e driver_id=1 -f s:a --feature-service fs_alias
expect_err "refs and a service" 2 "not both"
r "$MF" get-online-features -e driver_id -f s:a
expect_err "-e without =" 2 "KEY=VALUE"
r "$MF" get-online-features -e driver_id=1 -e rider_id=2 -f s:a
expect_err "rows naming different keys" 2 "same keys"
r "$MF" get-online-features -e driver_id=1 -f s:a --bogus
expect_err "unknown option" 2 "--bogus"

cd "$MAIN" || exit 1
r "$MF" get-online-features -e driver_id=1 -f offline_only:trips
expect_err "get-online-features of a view that is not online" 1 "'offline_only' is not online"
r "$MF" materialize 2025-01-01T00:00:00Z 2025-01-02T00:00:00Z -v offline_only
expect_err "materialize of a view that is not online" 1 "'offline_only' is not online"
r "$MF" materialize 2025-01-01T00:00:00Z 2025-01-02T00:00:00Z -v nosuch
expect_err "materialize of an unknown view" 1 "unknown feature view 'nosuch'"
r "$MF" materialize yesterday 2025-01-02T00:00:00Z
expect_err "materialize: bad START" 2 "START 'yesterday' is not a timestamp"
r "$MF" materialize 2025-01-01T00:00:00Z 2025-13-01T00:00:00Z
expect_err "materialize: bad END" 2 "END '2025-13-01T00:00:00Z' is not a timestamp"
# eight digits making a date were epoch seconds of 1970 (an interval of
# 1970 recorded, nothing read); Feast's CLI reads them as the date
r "$MF" materialize 20250101 20250106
expect_err "materialize: a compact date is ambiguous" 2 "START '20250101' is ambiguous: write the date as 2025-01-01"
r "$MF" materialize-incremental 20250106
expect_err "materialize-incremental: ... for END too" 2 "END '20250106' is ambiguous"
r "$MF" materialize 2025-01-02T00:00:00Z 2025-01-01T00:00:00Z
expect_err "materialize: START after END" 2 "the start of the window is after its end"
r "$MF" materialize 2025-01-01T00:00:00Z
expect_err "materialize: END missing" 2 "expected START END"
r "$MF" materialize-incremental
expect_err "materialize-incremental: END missing" 2 "expected END"
r "$MF" materialize-incremental 2025-02-30T00:00:00Z
expect_err "materialize-incremental: bad END" 2 "END '2025-02-30T00:00:00Z' is not a timestamp"
r "$MF" materialize 2025-01-01T00:00:00Z 2025-01-02T00:00:00Z -v
expect_err "materialize: -v without a view" 2 "needs a view name"
# the failed runs recorded nothing
got=$(intervals offline_only)
if [ -z "$got" ]; then ok "no interval for a refused materialization"; else not_ok "no interval for a refused materialization" "$got"; fi

# bad source data: the file, line and column are named; nothing recorded
repo badsrc <<'EOF'
local driver = entity { name = "driver", join_keys = { "driver_id" }, value_type = Int64 }
local src = file_source { name = "src", path = "data/s.csv", timestamp_field = "ts" }
feature_view { name = "s", entities = { driver }, ttl = 0, source = src,
  schema = { field { name = "a", dtype = Int64 } } }
EOF
printf 'driver_id,ts,a\n1,2025-01-01T00:00:00Z,1\n2,2025-01-01T00:00:00Z,x2\n' >data/s.csv
applied badsrc
r "$MF" materialize 2025-01-01T00:00:00Z 2025-01-02T00:00:00Z
expect_err "materialize: a value that is not an Int64 (file and line named)" 1 "s.csv:3"
if printf '%s' "$ERR" | grep -qF "'x2'"; then ok "... and the value named"; else not_ok "... and the value named" "$ERR"; fi
got=$(intervals s)
if [ -z "$got" ]; then ok "no interval after bad data"; else not_ok "no interval after bad data" "$got"; fi
printf 'driver_id,ts,a\n1,2025-01-01T00:00:00Z,1\n2,yesterday,2\n' >data/s.csv
r "$MF" materialize 2025-01-01T00:00:00Z 2025-01-02T00:00:00Z
expect_err "materialize: a source timestamp that is not one" 1 "'yesterday' is not a timestamp"
printf 'driver_id,ts,a\n1,2025-01-01T00:00:00Z,1\nabc,2025-01-01T00:00:00Z,2\n' >data/s.csv
r "$MF" materialize 2025-01-01T00:00:00Z 2025-01-02T00:00:00Z
expect_err "materialize: a source key that is not an Int64" 1 "'abc' is not a valid Int64"

# an online store that cannot be opened: its folder is a file
repo blocked <<'EOF'
local driver = entity { name = "driver", join_keys = { "driver_id" }, value_type = Int64 }
local src = file_source { name = "src", path = "data/s.csv", timestamp_field = "ts" }
feature_view { name = "s", entities = { driver }, ttl = 0, source = src,
  schema = { field { name = "a", dtype = Int64 } } }
EOF
cp "$WORK/small/data/s.csv" data/s.csv
applied blocked
echo "not a folder" >data/blocker
printf 'project: t\nonline_store:\n  type: sqlite\n  path: data/blocker/online.db\n' >feature_store.yaml
r "$MF" get-online-features -e driver_id=1 -f s:a
expect_err "get-online-features: online store that cannot be opened" 1 "data/blocker/online.db"
r "$MF" materialize 2025-01-01T00:00:00Z 2025-12-01T00:00:00Z
expect_err "materialize: online store that cannot be opened" 1 "data/blocker/online.db"
got=$(intervals s)
if [ -z "$got" ]; then ok "no interval when the store cannot be written"; else not_ok "no interval when the store cannot be written" "$got"; fi
r "$MF" apply
expect_err "apply: online store that cannot be opened" 1 "data/blocker/online.db"

#---- the sweep

if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:|Segmentation|core dumped' "$ALL"; then
    not_ok "no sanitizer report or crash in any run" "$(grep -E -m5 'AddressSanitizer|LeakSanitizer|runtime error:|Segmentation|core dumped' "$ALL")"
else
    ok "no sanitizer report or crash in any run"
fi
