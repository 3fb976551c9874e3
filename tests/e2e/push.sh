# push.sh — push sources and direct writes through the real CLI
# (`moonfeast push SOURCE --file ROWS.csv --to ...`, `moonfeast
# write-to-online-store VIEW --file ROWS.csv`; docs/concepts.md, "Pushes and direct writes").
#
# The whole suite runs twice over a quickstart repo (`moonfeast init`,
# project "drivers") with extra definitions: once with the default SQLite
# online store, once with a Redis online store (a redis-server this script
# starts on a free loopback port with --save '' --appendonly no and always
# stops). The quickstart view driver_hourly_stats_fresh is fed by
# driver_stats_push_source, whose batch source is data/driver_stats.csv
# (also read by driver_hourly_stats); ttl is one day, so pushed event times
# are taken a few hours before now. Float values are exact in Float32.
#
# Extra definitions: mapped_push (a file source with field_mapping, the
# view's names differ from the CSV's), off_push (feeds only an offline
# view), lite_push / liteq_push (sqlite_source by table / by query; the
# database is made with the sqlite3 CLI), multi_push (feeds two views,
# multi_a {a} and multi_b {a, b}).
#
# Cases: push --to online (values, PRESENT, pushed event times; the batch
# CSV byte for byte unchanged); newer-wins (older event time, equal event
# time with greater / smaller / equal / no created time, a newer event time
# as epoch seconds); write-to-online-store (writes, newer-wins, unknown
# view, offline view, usage); push --to offline (appended lines checked
# byte for byte in the batch CSV's column order, also onto a CSV without a
# final newline; online unchanged; get-historical-features sees the rows;
# a later materialize loads them); online_and_offline; a push of no rows
# leaves the CSV alone; bad pushes write nothing anywhere (checksums of every
# batch file and the online values of every view before and after);
# sqlite_source by table receives rows, by query is refused; field_mapping.
# No output may hold a sanitizer report.
. "$(dirname "$0")/lib.sh"

trap 'stop_redis; rm -rf "$WORK"' EXIT
trap 'exit 1' INT TERM HUP

ALL=$WORK/.all # stderr of every run, swept for sanitizer reports at the end
r() {
    run "$@"
    printf '%s\n' "$ERR" >>"$ALL"
}
check() { # NAME COMMAND...
    name=$1
    shift
    if "$@"; then ok "$name"; else not_ok "$name" "failed: $*" "stderr: $ERR"; fi
}

iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
NOW=$(date -u +%s)
TA=$((NOW - 7200))
TB=$((NOW - 3600))
TC=$((NOW - 1800))
A=$(iso $TA)
B=$(iso $TB)
Bm1=$(iso $((TB - 1)))
B5=$(iso $((TB + 5)))
B10=$(iso $((TB + 10)))
C=$(iso $TC)
N=$(iso "$NOW")
Z=1970-01-01T00:00:00Z

# rows.awk: a get-online-features response (one JSON line) as one line per
# entity row: for each column "value|status|event_timestamp", joined by
# '|'; quotes dropped, numbers printed as %.17g. Values must not hold ',',
# ']' or '|'.
cp "$E2E_DIR/rows.awk" "$WORK/rows.awk"

feats_of() {
    case $1 in
    driver_hourly_stats | driver_hourly_stats_fresh) echo "conv_rate acc_rate avg_daily_trips" ;;
    multi_a) echo a ;;
    multi_b) echo "a b" ;;
    mapped_view) echo "score label" ;;
    lite_view | liteq_view) echo score ;;
    esac
}

# ol VIEW ID: the rows.awk line of driver ID for every feature of VIEW
ol() {
    args=""
    for f in $(feats_of "$1"); do args="$args -f $1:$f"; done
    # shellcheck disable=SC2086
    r "$MF" get-online-features -e "driver_id=$2" $args
    if [ "$RC" -ne 0 ]; then echo "get-online-features failed: $ERR"; return; fi
    printf '%s\n' "$OUT" | awk -f "$WORK/rows.awk"
}
# pres ID TS VALUE...: the expected line of a stored row
pres() {
    line="$1|PRESENT|$Z"
    ts=$2
    shift 2
    for v; do line="$line|$v|PRESENT|$ts"; done
    echo "$line"
}
# miss ID NFEATURES: the expected line of an entity without a stored row
miss() {
    line="$1|PRESENT|$Z"
    i=0
    while [ $i -lt "$2" ]; do line="$line|null|NOT_FOUND|$Z"; i=$((i + 1)); done
    echo "$line"
}
expect_ol() { # NAME VIEW ID WANT
    got=$(ol "$2" "$3")
    if [ "$got" = "$4" ]; then ok "$1"; else not_ok "$1" "got:  $got" "want: $4"; fi
}
expect_file() { # NAME FILE WANT-FILE: byte for byte
    if cmp -s "$2" "$3"; then
        ok "$1"
    else
        not_ok "$1" "$2 differs from the expected text (< want, > got):" \
            "$(diff "$3" "$2" | tail -8)" "last bytes: $(tail -c 40 "$2" | od -c | head -3 | tr '\n' ' ')"
    fi
}

# Every batch file and the online values of every view for drivers
# 1001..1010 (rows.awk lines, plus any other output): what a refused push
# must leave alone.
snapshot() {
    cksum data/*.csv data/src.db
    E=""
    for d in 1001 1002 1003 1004 1005 1006 1007 1008 1009 1010; do E="$E -e driver_id=$d"; done
    # shellcheck disable=SC2086
    "$MF" get-online-features $E -f driver_hourly_stats_fresh:conv_rate \
        -f driver_hourly_stats_fresh:acc_rate -f driver_hourly_stats_fresh:avg_daily_trips \
        -f driver_hourly_stats:conv_rate -f multi_a:a -f multi_b:b -f mapped_view:score \
        -f lite_view:score -f liteq_view:score --full-feature-names >"$WORK/.snapjson" 2>&1
    awk -f "$WORK/rows.awk" "$WORK/.snapjson"
    grep -v '"results"' "$WORK/.snapjson"
}
# refused NAME RC MESSAGE CMD...: CMD fails with RC and MESSAGE on stderr and
# changes no batch file and no online value
refused() {
    name=$1
    want_rc=$2
    msg=$3
    shift 3
    snapshot >"$WORK/.snap0"
    r "$@"
    expect_err "$name" "$want_rc" "$msg"
    snapshot >"$WORK/.snap1"
    cat "$WORK/.snap1" >>"$ALL"
    if cmp -s "$WORK/.snap0" "$WORK/.snap1" && grep -q '^1010|PRESENT|' "$WORK/.snap1"; then
        ok "$name: nothing written (batch files, online store)"
    else
        not_ok "$name: nothing written (batch files, online store)" \
            "$(diff "$WORK/.snap0" "$WORK/.snap1" | head -8)"
    fi
}

# rows FILE HEADER LINE...: a pushed file
rows() {
    f=$1
    shift
    printf '%s\n' "$@" >"$f"
}
QS=driver_id,event_timestamp,created,conv_rate,acc_rate,avg_daily_trips
# pushed files with the columns in another order than the batch CSV, and a
# column no view uses
SH=avg_daily_trips,driver_id,note,conv_rate,event_timestamp,acc_rate,created

# mkrepo DIR [REDIS-PORT]: the quickstart plus the extra definitions, applied
mkrepo() {
    r "$MF" init "$WORK/$1" --project drivers
    [ "$RC" -eq 0 ] || not_ok "init $1" "stderr: $ERR"
    cd "$WORK/$1" || exit 1
    if [ -n "${2:-}" ]; then
        sed -e '/^online_store:/,/^offline_store:/{/^online_store:/!{/^offline_store:/!d}}' \
            -e "s|^online_store:.*|online_store:\\n  type: redis\\n  connection_string: \"127.0.0.1:$2,db=0\"|" \
            feature_store.yaml >.yaml && mv .yaml feature_store.yaml
    fi
    cat >>driver_repo.lua <<'EOF'

local mapped_src = file_source {
  name = "mapped_src", path = "data/mapped.csv", timestamp_field = "ts",
  field_mapping = { drv = "driver_id", score_src = "score", label_src = "label" },
}
local mapped_push = push_source { name = "mapped_push", batch_source = mapped_src }
feature_view {
  name = "mapped_view", entities = { driver }, ttl = 0, source = mapped_push,
  schema = { field { name = "score", dtype = Float64 }, field { name = "label", dtype = String } },
}

local off_src = file_source { name = "off_src", path = "data/off.csv", timestamp_field = "ts" }
local off_push = push_source { name = "off_push", batch_source = off_src }
feature_view {
  name = "off_view", entities = { driver }, ttl = 0, online = false, source = off_push,
  schema = { field { name = "x", dtype = Int64 } },
}

local lite = sqlite_source {
  name = "lite", database = "data/src.db", table = "stats", timestamp_field = "ts",
}
local lite_push = push_source { name = "lite_push", batch_source = lite }
feature_view {
  name = "lite_view", entities = { driver }, ttl = 0, source = lite_push,
  schema = { field { name = "score", dtype = Float64 } },
}
local liteq = sqlite_source {
  name = "liteq", database = "data/src.db", timestamp_field = "ts",
  query = "SELECT driver_id, ts, score FROM stats",
}
local liteq_push = push_source { name = "liteq_push", batch_source = liteq }
feature_view {
  name = "liteq_view", entities = { driver }, ttl = 0, source = liteq_push,
  schema = { field { name = "score", dtype = Float64 } },
}

local multi_src = file_source { name = "multi_src", path = "data/multi.csv", timestamp_field = "ts" }
local multi_push = push_source { name = "multi_push", batch_source = multi_src }
feature_view {
  name = "multi_a", entities = { driver }, ttl = 0, source = multi_push,
  schema = { field { name = "a", dtype = Int64 } },
}
feature_view {
  name = "multi_b", entities = { driver }, ttl = 0, source = multi_push,
  schema = { field { name = "a", dtype = Int64 }, field { name = "b", dtype = Int64 } },
}
EOF
    printf 'extra,drv,ts,score_src,label_src\nq,1001,2025-01-01T00:00:00Z,1.5,hello\n' >data/mapped.csv
    printf 'driver_id,ts,x\n1001,2025-01-01T00:00:00Z,1\n' >data/off.csv
    printf 'driver_id,ts,a,b\n1001,2025-01-01T00:00:00Z,1,2\n' >data/multi.csv
    sqlite3 data/src.db "CREATE TABLE stats (driver_id INTEGER, ts TEXT, score REAL);
        INSERT INTO stats VALUES (1001, '2025-01-01T00:00:00Z', 2.5);"
    r "$MF" apply
    expect_rc "apply ($1)" 0
}

# suite LABEL: every case, in the current repo
suite() {
    L=$1
    BATCH=data/driver_stats.csv
    cp $BATCH .orig.csv

    #---- push --to online

    rows on1.csv "$SH" "42,1001,x,0.5,$B,0.25,$B" "7,1002,y,0.75,$B,0.125,$B" \
        "99,1002,older,0.375,$A,0.375,$A"
    r "$MF" push driver_stats_push_source --file on1.csv --to online
    expect_rc "push --to online ($L)" 0
    expect_ol "online push: values, PRESENT, the pushed event time ($L)" \
        driver_hourly_stats_fresh 1001 "$(pres 1001 "$B" 0.5 0.25 42)"
    expect_ol "online push: an older row later in the same push does not win ($L)" \
        driver_hourly_stats_fresh 1002 "$(pres 1002 "$B" 0.75 0.125 7)"
    expect_ol "online push: a view the source does not feed stays empty ($L)" \
        driver_hourly_stats 1001 "$(miss 1001 3)"
    expect_file "online push: the batch CSV is unchanged ($L)" $BATCH .orig.csv

    #---- newer wins

    rows nw1.csv "$QS" "1001,$A,$A,0.125,0.125,1"
    r "$MF" push driver_stats_push_source --file nw1.csv --to online
    expect_rc "push of an older event time: accepted ($L)" 0
    expect_ol "older event time does not overwrite ($L)" \
        driver_hourly_stats_fresh 1001 "$(pres 1001 "$B" 0.5 0.25 42)"
    rows nw2.csv "$QS" "1001,$B,$B10,0.375,0.375,3"
    r "$MF" push driver_stats_push_source --file nw2.csv --to online
    expect_ol "equal event time, greater created: overwrites ($L)" \
        driver_hourly_stats_fresh 1001 "$(pres 1001 "$B" 0.375 0.375 3)"
    rows nw3.csv "$QS" "1001,$B,$B5,0.625,0.625,5"
    r "$MF" push driver_stats_push_source --file nw3.csv --to online
    expect_ol "equal event time, smaller created: does not overwrite ($L)" \
        driver_hourly_stats_fresh 1001 "$(pres 1001 "$B" 0.375 0.375 3)"
    rows nw4.csv "$QS" "1001,$B,,0.625,0.625,5"
    r "$MF" push driver_stats_push_source --file nw4.csv --to online
    expect_ol "equal event time, no created: does not overwrite a created one ($L)" \
        driver_hourly_stats_fresh 1001 "$(pres 1001 "$B" 0.375 0.375 3)"
    rows nw5.csv "$QS" "1001,$B,$B10,0.875,0.875,8"
    r "$MF" push driver_stats_push_source --file nw5.csv --to online
    expect_ol "equal event time, equal created: the later push wins ($L)" \
        driver_hourly_stats_fresh 1001 "$(pres 1001 "$B" 0.875 0.875 8)"
    rows nw6.csv "$QS" "1001,$TC,,0.9375,0.9375,9"
    r "$MF" push driver_stats_push_source --file nw6.csv --to online
    expect_ol "newer event time (epoch seconds) overwrites ($L)" \
        driver_hourly_stats_fresh 1001 "$(pres 1001 "$C" 0.9375 0.9375 9)"
    expect_file "online pushes: the batch CSV is still unchanged ($L)" $BATCH .orig.csv

    #---- write-to-online-store

    rows w1.csv "$SH" "60,1006,w,0.5,$B,0.5,$B"
    r "$MF" write-to-online-store driver_hourly_stats --file w1.csv
    expect_rc "write-to-online-store ($L)" 0
    expect_ol "write-to-online-store: the view has the values ($L)" \
        driver_hourly_stats 1006 "$(pres 1006 "$B" 0.5 0.5 60)"
    expect_ol "write-to-online-store: another view of the same batch source untouched ($L)" \
        driver_hourly_stats_fresh 1006 "$(miss 1006 3)"
    rows w2.csv "$QS" "1006,$A,$A,0.25,0.25,61"
    r "$MF" write-to-online-store driver_hourly_stats --file w2.csv
    expect_ol "write-to-online-store: older event time does not overwrite ($L)" \
        driver_hourly_stats 1006 "$(pres 1006 "$B" 0.5 0.5 60)"
    rows w3.csv "$QS" "1006,$B,$B5,0.75,0.75,62"
    r "$MF" write-to-online-store driver_hourly_stats --file w3.csv
    expect_ol "write-to-online-store: equal event time, greater created overwrites ($L)" \
        driver_hourly_stats 1006 "$(pres 1006 "$B" 0.75 0.75 62)"
    rows w4.csv "$QS" "1007,$B,$B,0.125,0.125,70"
    r "$MF" write-to-online-store driver_hourly_stats_fresh --file w4.csv
    expect_ol "write-to-online-store: a view fed by a push source ($L)" \
        driver_hourly_stats_fresh 1007 "$(pres 1007 "$B" 0.125 0.125 70)"
    expect_file "write-to-online-store: the batch CSV is unchanged ($L)" $BATCH .orig.csv
    rows w5.csv "driver_id,event_timestamp,created,conv_rate,avg_daily_trips" "1006,$C,,0.5,63"
    refused "write-to-online-store: missing feature column ($L)" 1 \
        "pushed rows lack column 'acc_rate' (a feature of feature view 'driver_hourly_stats')" \
        "$MF" write-to-online-store driver_hourly_stats --file w5.csv
    refused "write-to-online-store: unknown view ($L)" 1 "unknown feature view 'nope'" \
        "$MF" write-to-online-store nope --file w1.csv
    rows w6.csv "driver_id,ts,x" "1009,$C,5"
    refused "write-to-online-store: a view that is not online ($L)" 1 \
        "feature view 'off_view' is not online" "$MF" write-to-online-store off_view --file w6.csv
    refused "write-to-online-store: missing --file ($L)" 2 "missing --file" \
        "$MF" write-to-online-store driver_hourly_stats

    #---- push --to offline

    rows ent.csv driver_id,event_timestamp "1003,$B" "1003,$Bm1" "1005,$A"
    HIST="-f driver_hourly_stats_fresh:conv_rate -f driver_hourly_stats_fresh:avg_daily_trips -f driver_hourly_stats:acc_rate --full-feature-names"
    HHDR=driver_id,event_timestamp,driver_hourly_stats_fresh__conv_rate,driver_hourly_stats_fresh__avg_daily_trips,driver_hourly_stats__acc_rate
    # shellcheck disable=SC2086
    r "$MF" get-historical-features --entities ent.csv $HIST
    expect_out "before the offline push: no training values at the pushed times ($L)" \
        "$(printf '%s\n' $HHDR "1003,$B,,," "1003,$Bm1,,," "1005,$A,,,")"
    rows off1.csv "$SH" "11,1003,n,0.5,$B,0.75,$B" "12,1005,m,0.25,$A,0.125,"
    r "$MF" push driver_stats_push_source --file off1.csv --to offline
    expect_rc "push --to offline ($L)" 0
    { cat .orig.csv; printf '%s\n' "1003,$B,$B,0.5,0.75,11" "1005,$A,,0.25,0.125,12"; } >.want.csv
    expect_file "offline push: rows appended in the batch CSV's column order ($L)" $BATCH .want.csv
    expect_ol "offline push: online unchanged ($L)" driver_hourly_stats_fresh 1003 "$(miss 1003 3)"
    # shellcheck disable=SC2086
    r "$MF" get-historical-features --entities ent.csv $HIST
    expect_out "offline push: get-historical-features sees the pushed rows ($L)" \
        "$(printf '%s\n' $HHDR "1003,$B,0.5,11,0.75" "1003,$Bm1,,," "1005,$A,0.25,12,0.125")"

    # a batch CSV without a final newline
    cp $BATCH .full.csv
    head -c -1 .full.csv >$BATCH
    check "the batch CSV now lacks a final newline ($L)" test "$(tail -c 1 $BATCH | od -An -tx1 | tr -d ' ')" != 0a
    rows off2.csv "$SH" "13,1008,z,0.125,$B,0.25,$B"
    r "$MF" push driver_stats_push_source --file off2.csv --to offline
    expect_rc "push --to offline onto a CSV without a final newline ($L)" 0
    { cat .full.csv; printf '%s\n' "1008,$B,$B,0.125,0.25,13"; } >.want.csv
    expect_file "offline push: a CSV without a final newline gets one before the rows ($L)" \
        $BATCH .want.csv

    #---- push --to online_and_offline

    cp $BATCH .base.csv
    rows oo.csv "$SH" "21,1004,w,0.375,$B,0.625,$B"
    r "$MF" push driver_stats_push_source --file oo.csv --to online_and_offline
    expect_rc "push --to online_and_offline ($L)" 0
    { cat .base.csv; printf '%s\n' "1004,$B,$B,0.375,0.625,21"; } >.want.csv
    expect_file "online_and_offline: the row appended to the batch CSV ($L)" $BATCH .want.csv
    expect_ol "online_and_offline: the row online ($L)" \
        driver_hourly_stats_fresh 1004 "$(pres 1004 "$B" 0.375 0.625 21)"

    #---- a later materialize picks the offline rows up

    r "$MF" materialize "$A" "$N" -v driver_hourly_stats_fresh -v driver_hourly_stats
    expect_rc "materialize after the pushes ($L)" 0
    expect_ol "materialize: the offline-pushed row in the push-fed view ($L)" \
        driver_hourly_stats_fresh 1003 "$(pres 1003 "$B" 0.5 0.75 11)"
    expect_ol "materialize: the offline-pushed row in the batch view ($L)" \
        driver_hourly_stats 1003 "$(pres 1003 "$B" 0.5 0.75 11)"
    expect_ol "materialize: the row appended without a final newline reads back ($L)" \
        driver_hourly_stats 1008 "$(pres 1008 "$B" 0.125 0.25 13)"
    expect_ol "materialize: the row pushed at the window's start ($L)" \
        driver_hourly_stats_fresh 1005 "$(pres 1005 "$A" 0.25 0.125 12)"

    #---- a push of no rows

    cp $BATCH .full.csv
    head -c -1 .full.csv >$BATCH
    cp $BATCH .trunc.csv
    rows none.csv "$QS"
    r "$MF" push driver_stats_push_source --file none.csv --to online_and_offline
    expect_rc "push of no rows ($L)" 0
    expect_file "push of no rows: the batch CSV byte for byte unchanged ($L)" $BATCH .trunc.csv
    cp .full.csv $BATCH

    #---- refused pushes write nothing

    V="1009,$C,$C,0.5,0.5,90" # a valid first row in each bad file
    rows b1.csv "driver_id,event_timestamp,created,conv_rate,avg_daily_trips" "1009,$C,$C,0.5,90"
    refused "refused: a missing feature column ($L)" 1 \
        "pushed rows lack column 'acc_rate' (a feature of feature view 'driver_hourly_stats_fresh')" \
        "$MF" push driver_stats_push_source --file b1.csv --to online_and_offline
    refused "refused: a missing feature column, --to offline ($L)" 1 "lack column 'acc_rate'" \
        "$MF" push driver_stats_push_source --file b1.csv --to offline
    rows b2.csv "event_timestamp,created,conv_rate,acc_rate,avg_daily_trips" "$C,$C,0.5,0.5,90"
    refused "refused: a missing join key ($L)" 1 \
        "pushed rows lack column 'driver_id' (a join key of feature view 'driver_hourly_stats_fresh')" \
        "$MF" push driver_stats_push_source --file b2.csv --to online_and_offline
    rows b3.csv "driver_id,created,conv_rate,acc_rate,avg_daily_trips" "1009,$C,0.5,0.5,90"
    refused "refused: a missing timestamp column ($L)" 1 "pushed rows lack column 'event_timestamp'" \
        "$MF" push driver_stats_push_source --file b3.csv --to online_and_offline
    rows b4.csv "$QS" "$V" "1010,$C,$C,0.5,0.5,3x"
    refused "refused: an Int64 that does not parse (file, line, column, text) ($L)" 1 \
        "b4.csv:3: column 'avg_daily_trips': '3x' is not a valid Int64" \
        "$MF" push driver_stats_push_source --file b4.csv --to online_and_offline
    rows b5.csv "$QS" "$V" "1010,$C,$C,0.5,half,3"
    refused "refused: a Float32 that does not parse ($L)" 1 \
        "b5.csv:3: column 'acc_rate': 'half' is not a valid Float32" \
        "$MF" push driver_stats_push_source --file b5.csv --to online_and_offline
    rows b6.csv "$QS" "$V" "1010,2025-13-01T00:00:00Z,$C,0.5,0.5,3"
    refused "refused: an event time that does not parse ($L)" 1 \
        "b6.csv:3: column 'event_timestamp': '2025-13-01T00:00:00Z' is not a timestamp" \
        "$MF" push driver_stats_push_source --file b6.csv --to online_and_offline
    rows b7.csv "$QS" "$V" "x1010,$C,$C,0.5,0.5,3"
    refused "refused: a join key that does not parse ($L)" 1 \
        "b7.csv:3: column 'driver_id': 'x1010' is not a valid Int64 join key" \
        "$MF" push driver_stats_push_source --file b7.csv --to online_and_offline
    rows b8.csv "$QS" "$V" "1010,$C,yesterday,0.5,0.5,3"
    refused "refused: a created time that does not parse ($L)" 1 \
        "b8.csv:3: column 'created': 'yesterday' is not a timestamp" \
        "$MF" push driver_stats_push_source --file b8.csv --to online_and_offline
    rows good.csv "$QS" "$V"
    refused "refused: an unknown push source ($L)" 1 "unknown push source 'nope'" \
        "$MF" push nope --file good.csv --to online_and_offline
    refused "refused: a data source that is not a push source ($L)" 1 \
        "data source 'driver_hourly_stats_source' is not a push source" \
        "$MF" push driver_hourly_stats_source --file good.csv --to online_and_offline
    refused "refused: --to with a bad value ($L)" 2 \
        "--to is online, offline or online_and_offline, not 'both'" \
        "$MF" push driver_stats_push_source --file good.csv --to both
    refused "refused: missing --file ($L)" 2 "push: missing --file" \
        "$MF" push driver_stats_push_source --to online
    refused "refused: missing --to ($L)" 2 "push: missing --to" \
        "$MF" push driver_stats_push_source --file good.csv
    refused "refused: a --file that does not exist ($L)" 1 "cannot open nothere.csv" \
        "$MF" push driver_stats_push_source --file nothere.csv --to online_and_offline
    rows o1.csv "driver_id,ts,x" "1009,$C,5"
    refused "refused: --to online to a source feeding no online view ($L)" 1 \
        "push source 'off_push' feeds no online feature view" \
        "$MF" push off_push --file o1.csv --to online
    refused "refused: --to online_and_offline to a source feeding no online view ($L)" 1 \
        "push source 'off_push' feeds no online feature view" \
        "$MF" push off_push --file o1.csv --to online_and_offline
    rows m1.csv "driver_id,ts,a" "1009,$C,5"
    refused "refused: rows fit one view of the source but not the other ($L)" 1 \
        "pushed rows lack column 'b' (a feature of feature view 'multi_b')" \
        "$MF" push multi_push --file m1.csv --to online_and_offline
    rows mp0.csv "drv,ts,score_src,label_src" "1009,$C,0.5,src"
    refused "refused: field_mapping source names instead of the view's ($L)" 1 \
        "pushed rows lack column 'driver_id'" \
        "$MF" push mapped_push --file mp0.csv --to online_and_offline
    rows lite.csv "driver_id,ts,score" "1005,2025-01-02T00:00:00Z,9.25" "1009,2025-01-03T00:00:00Z,-0.5"
    refused "refused: --to offline to a sqlite_source defined by a query ($L)" 1 \
        "cannot push offline to sqlite_source 'liteq': it reads a query, not a table" \
        "$MF" push liteq_push --file lite.csv --to offline
    refused "refused: --to online_and_offline to a sqlite_source defined by a query ($L)" 1 \
        "it reads a query, not a table" "$MF" push liteq_push --file lite.csv --to online_and_offline

    #---- pushes to the other sources

    cp data/off.csv .off.csv
    r "$MF" push off_push --file o1.csv --to offline
    expect_rc "--to offline to a source feeding only an offline view ($L)" 0
    { cat .off.csv; printf '%s\n' "1009,$C,5"; } >.want.csv
    expect_file "offline view source: the row appended ($L)" data/off.csv .want.csv

    rows m2.csv "b,a,ts,driver_id" "8,7,$C,1009"
    r "$MF" push multi_push --file m2.csv --to online
    expect_rc "push to a source feeding two views ($L)" 0
    expect_ol "two views: the first has the row ($L)" multi_a 1009 "$(pres 1009 "$C" 7)"
    expect_ol "two views: the second has the row ($L)" multi_b 1009 "$(pres 1009 "$C" 7 8)"

    # sqlite_source by table
    r "$MF" push lite_push --file lite.csv --to offline
    expect_rc "push --to offline to a sqlite_source table ($L)" 0
    r sqlite3 data/src.db "SELECT driver_id, ts, score, typeof(driver_id), typeof(score) FROM stats ORDER BY rowid"
    expect_out "sqlite_source: the rows inserted in its table, typed by the columns ($L)" \
        "$(printf '%s\n' '1001|2025-01-01T00:00:00Z|2.5|integer|real' \
            '1005|2025-01-02T00:00:00Z|9.25|integer|real' '1009|2025-01-03T00:00:00Z|-0.5|integer|real')"
    expect_ol "sqlite_source, --to offline: online unchanged ($L)" lite_view 1005 "$(miss 1005 1)"
    rows le.csv driver_id,event_timestamp 1005,2025-01-02T12:00:00Z 1009,2025-01-03T00:00:00Z
    r "$MF" get-historical-features --entities le.csv -f lite_view:score -f liteq_view:score \
        --full-feature-names
    expect_out "sqlite_source: training data reads the pushed rows (table and query sources) ($L)" \
        "$(printf '%s\n' driver_id,event_timestamp,lite_view__score,liteq_view__score 1005,2025-01-02T12:00:00Z,9.25,9.25 \
            1009,2025-01-03T00:00:00Z,-0.5,-0.5)"
    r "$MF" push liteq_push --file lite.csv --to online
    expect_rc "push --to online to a source whose sqlite batch is a query ($L)" 0
    expect_ol "sqlite query source, --to online: the row online ($L)" \
        liteq_view 1005 "$(pres 1005 2025-01-02T00:00:00Z 9.25)"

    # field_mapping
    cp data/mapped.csv .mapped.csv
    rows mp1.csv "label,score,ts,driver_id" '"a,""b""",2.25,2025-01-02T00:00:00Z,1002' \
        'plain,3.5,2025-01-02T00:00:00Z,1003'
    r "$MF" push mapped_push --file mp1.csv --to online_and_offline
    expect_rc "push with field_mapping ($L)" 0
    { cat .mapped.csv; printf '%s\n' ',1002,2025-01-02T00:00:00Z,2.25,"a,""b"""' \
        ',1003,2025-01-02T00:00:00Z,3.5,plain'; } >.want.csv
    expect_file "field_mapping: values under the source's column names ($L)" data/mapped.csv .want.csv
    expect_ol "field_mapping: the row online under the view's names ($L)" \
        mapped_view 1003 "$(pres 1003 2025-01-02T00:00:00Z 3.5 plain)"
    rows me.csv driver_id,event_timestamp 1002,2025-01-03T00:00:00Z 1001,2025-01-03T00:00:00Z
    r "$MF" get-historical-features --entities me.csv -f mapped_view:label -f mapped_view:score
    expect_out "field_mapping: training data reads the pushed rows back ($L)" \
        "$(printf '%s\n' driver_id,event_timestamp,label,score '1002,2025-01-03T00:00:00Z,"a,""b""",2.25' \
            1001,2025-01-03T00:00:00Z,hello,1.5)"
}

#---- SQLite online store

mkrepo sq
suite sqlite

#---- Redis online store

start_redis
if [ -z "$PORT" ]; then
    not_ok "start redis-server" "$(tail -5 "$WORK/redis/log" 2>/dev/null)"
else
    mkrepo rd "$PORT"
    check "the second repo uses redis" grep -q "connection_string: \"127.0.0.1:$PORT" feature_store.yaml
    suite redis
    # the pushes reached Redis itself: driver 1001's hash holds the pushed
    # event time of driver_hourly_stats_fresh and its created field
    K='\x01\x00\x00\x00\x02\x00\x00\x00\t\x00\x00\x00driver_id\x04\x00\x00\x00\b\x00\x00\x00\xe9\x03\x00\x00\x00\x00\x00\x00drivers'
    hex() { printf '%s\n' "HEXISTS \"$K\" $1" | redis-cli -h 127.0.0.1 -p "$PORT"; }
    check "redis: the pushed view's _ts field is in driver 1001's hash" \
        test "$(hex _ts:driver_hourly_stats_fresh)" = 1
    check "redis: ... and its _created_ts field" test "$(hex _created_ts:driver_hourly_stats_fresh)" = 1
    stop_redis
fi

if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:|Segmentation|core dumped' "$ALL"; then
    not_ok "no sanitizer report or crash in any run" \
        "$(grep -E -m5 'AddressSanitizer|LeakSanitizer|runtime error:|Segmentation|core dumped' "$ALL")"
else
    ok "no sanitizer report or crash in any run"
fi
