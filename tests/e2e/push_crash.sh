# push_crash.sh — an offline push that fails or is killed midway leaves the
# CSV batch source readable, with exactly the rows of complete pushes
# (docs/concepts.md, "Pushes and direct writes": the append journal).
#
# Over the quickstart repo (`moonfeast init`, project "drivers"), pushing to
# driver_stats_push_source --to offline, whose batch source is
# data/driver_stats.csv (columns in the order of the pushed files, so an
# append is the pushed file's body byte for byte):
#   A. the file size limit (ulimit -f) with SIGXFSZ ignored: write fails
#      with EFBIG; the push exits 1 naming the cause, the CSV is byte for
#      byte as before and no journal is left;
#   B. the same limit with SIGXFSZ at its default: the process is killed
#      mid-append (a torn row and the journal remain); a reader
#      (get-historical-features) then succeeds without the torn rows and
#      leaves the file as before; killed again, the next push cuts the torn
#      rows off and appends after the last complete row; materialize then
#      succeeds and serves exactly the complete push;
#   C. MF_TEST_PAUSE (append=MS) (the writer sleeps after writing half of its
#      bytes) and SIGKILL in that sleep: the next push, and a materialize,
#      each find the torn half and roll it back;
#   C2. a reader (get-historical-features) started while a push sleeps
#      halfway waits for it and sees the whole push;
#   D. SIGKILL at random moments of large pushes (from 0 to the time of an
#      uninterrupted push; every other push also pauses halfway for a
#      random time): after the next push the CSV is the previous contents,
#      plus the killed push's rows only if it had completed, plus the next
#      push's rows; at the end historical retrieval and materialize read
#      the file. Each line says whether the kill found an append in
#      progress (a journal).
#   E. journals written by hand: a torn tail within the journal's span is
#      cut (with a warning); an incomplete journal is removed and nothing
#      cut; a journal of another file, one past the end, one the file has
#      grown past and a file that is not a journal are refused by pushes
#      and readers alike, which cut nothing and keep the journal.
# The units of `ulimit -f` (512 or 1024 bytes, by shell) are measured first.
# Every background push is killed and waited for by its PID.
. "$(dirname "$0")/lib.sh"

BG=
kill_bg() {
    if [ -n "$BG" ]; then
        kill -9 "$BG" 2>/dev/null
        { wait "$BG"; } 2>/dev/null
        BG=
    fi
}
trap 'kill_bg; rm -rf "$WORK"' EXIT
trap 'exit 1' INT TERM HUP

ALL=$WORK/.all
r() {
    run "$@"
    printf '%s\n' "$ERR" >>"$ALL"
}
check() { # NAME COMMAND...
    name=$1
    shift
    if "$@"; then ok "$name"; else not_ok "$name" "failed: $*" "stderr: $ERR"; fi
}
expect_file() { # NAME FILE WANT-FILE: byte for byte
    if cmp -s "$2" "$3"; then
        ok "$1"
    else
        not_ok "$1" "$2 differs from the expected text (sizes $(wc -c <"$2") and $(wc -c <"$3"))" \
            "$(cmp "$2" "$3" 2>&1 | head -2)"
    fi
}

iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
NOW=$(date -u +%s)
B=$(iso $((NOW - 3600)))
A=$(iso $((NOW - 7200)))
N=$(iso "$NOW")
Z=1970-01-01T00:00:00Z
HDR=driver_id,event_timestamp,created,conv_rate,acc_rate,avg_daily_trips

# gen FILE FIRST-ID COUNT: a pushed file of COUNT rows, driver ids from
# FIRST-ID, trips = the id
gen() {
    awk -v first="$2" -v n="$3" -v ts="$B" -v h="$HDR" 'BEGIN {
        print h
        for (i = 0; i < n; i++) printf "%d,%s,%s,0.25,0.5,%d\n", first + i, ts, ts, first + i
    }' >"$1"
}
body() { tail -n +2 "$1"; }
size() { wc -c <"$1" | tr -d ' '; }

r "$MF" init "$WORK/repo" --project drivers
cd "$WORK/repo" || exit 1
r "$MF" apply
expect_rc "apply" 0
BATCH=data/driver_stats.csv
JOURNAL=data/.driver_stats.csv.moonfeast-append
cp $BATCH "$WORK/orig.csv"
PUSH="$MF push driver_stats_push_source --to offline --file"

# hist ID [TIME]: get-historical-features of driver ID at TIME (default:
# now): "conv_rate,trips"
hist() {
    printf 'driver_id,event_timestamp\n%s,%s\n' "$1" "${2:-$N}" >"$WORK/ent.csv"
    r "$MF" get-historical-features --entities "$WORK/ent.csv" \
        -f driver_hourly_stats:conv_rate -f driver_hourly_stats:avg_daily_trips
    if [ "$RC" -ne 0 ]; then echo "failed: $ERR"; return; fi
    printf '%s\n' "$OUT" | tail -n 1 | cut -d, -f3-
}
expect_hist() { # NAME ID WANT [TIME]
    got=$(hist "$2" "${4:-}")
    if [ "$got" = "$3" ]; then ok "$1"; else not_ok "$1" "got:  $got" "want: $3"; fi
}
# online ID: driver ID's trips in driver_hourly_stats: "value|status"
online() {
    r "$MF" get-online-features -e "driver_id=$1" -f driver_hourly_stats:avg_daily_trips
    if [ "$RC" -ne 0 ]; then echo "failed: $ERR"; return; fi
    printf '%s\n' "$OUT" | awk -f "$E2E_DIR/rows.awk" | cut -d'|' -f4,5
}
expect_online() { # NAME ID WANT
    got=$(online "$2")
    if [ "$got" = "$3" ]; then ok "$1"; else not_ok "$1" "got:  $got" "want: $3"; fi
}
no_journal() { [ ! -e "$JOURNAL" ]; }
fresh() { # every case starts from the quickstart CSV
    cp "$WORK/orig.csv" $BATCH
    rm -f "$JOURNAL"
}

# the units of ulimit -f in this shell
(
    ulimit -f 1
    trap '' XFSZ
    head -c 4096 /dev/zero >"$WORK/probe"
) 2>/dev/null
UNIT=$(size "$WORK/probe")
check "ulimit -f units measured ($UNIT bytes)" test "$UNIT" -eq 512 -o "$UNIT" -eq 1024

gen big.csv 100000 20000 # about 1.2 MB
gen small.csv 30000 1
gen small2.csv 30001 1
SIZE=$(size "$WORK/orig.csv")
BIGBODY=$(body big.csv | wc -c | tr -d ' ')
LIM=$(((SIZE + 65536) / UNIT + 1)) # room for about 64 KiB of the push

#---- A. EFBIG

fresh
r sh -c 'ulimit -f "$1"; trap "" XFSZ; exec "$2" push driver_stats_push_source --to offline --file big.csv' \
    sh "$LIM" "$MF"
expect_err "EFBIG: the push fails naming the cause" 1 "File too large"
expect_err "EFBIG: ... and the file" 1 "driver_stats.csv"
expect_file "EFBIG: the batch CSV is byte for byte as before" $BATCH "$WORK/orig.csv"
check "EFBIG: no journal left" no_journal

#---- B. killed by SIGXFSZ

killed_by_limit() {
    r sh -c 'ulimit -f "$1"; ulimit -c 0; exec "$2" push driver_stats_push_source --to offline --file big.csv' \
        sh "$LIM" "$MF"
    check "SIGXFSZ: the push is killed ($1)" test "$RC" -gt 128
    check "SIGXFSZ: a torn append is left ($1)" test "$(size $BATCH)" -gt "$SIZE"
}
fresh
killed_by_limit "then a reader"
expect_hist "after a kill, historical retrieval reads the file, without the torn rows" 100000 ","
# the quickstart's last row of driver 1001 is at 2025-01-05T23:45:00Z
expect_hist "... and the quickstart rows are still there" 1001 \
    "$(awk -F, '$1 == 1001 { v = $4 "," $6 } END { print v }' "$WORK/orig.csv")" \
    2025-01-05T23:50:00Z
expect_file "the reader rolled the torn append back" $BATCH "$WORK/orig.csv"
check "... and removed the journal" no_journal

fresh
killed_by_limit "then a push"
r $PUSH small.csv
expect_rc "the next push succeeds" 0
{ cat "$WORK/orig.csv"; body small.csv; } >"$WORK/want.csv"
expect_file "the next push cut the torn rows off: exactly the complete push" $BATCH "$WORK/want.csv"
check "... and no journal is left" no_journal
r "$MF" materialize "$A" "$N" -v driver_hourly_stats
expect_rc "materialize reads the file" 0
expect_online "materialize: the complete push is served" 30000 "30000|PRESENT"
expect_online "materialize: a row of the killed push is not" 100000 "null|NOT_FOUND"
expect_hist "historical retrieval: the complete push" 30000 "0.25,30000"

#---- C. the pause hook and SIGKILL

# killed_in_pause LABEL: a push of big.csv killed while it sleeps halfway
killed_in_pause() {
    MF_TEST_PAUSE=append=20000 $PUSH big.csv >/dev/null 2>>"$ALL" &
    BG=$!
    n=0
    while [ "$(size $BATCH)" -le "$SIZE" ] && [ $n -lt 400 ]; do
        sleep 0.05
        n=$((n + 1))
    done
    kill_bg
    check "pause hook: killed halfway, the CSV holds a torn half ($1)" \
        test "$(size $BATCH)" -gt "$SIZE" -a "$(size $BATCH)" -lt "$((SIZE + BIGBODY))"
    check "pause hook: the journal is there ($1)" test -e "$JOURNAL"
}
fresh
killed_in_pause push
r $PUSH small2.csv
expect_rc "pause hook: the next push succeeds" 0
{ cat "$WORK/orig.csv"; body small2.csv; } >"$WORK/want.csv"
expect_file "pause hook: the next push rolled the torn half back" $BATCH "$WORK/want.csv"
fresh
killed_in_pause materialize
r "$MF" materialize "$A" "$N" -v driver_hourly_stats
expect_rc "pause hook: materialize after the kill succeeds" 0
expect_file "pause hook: materialize rolled the torn half back" $BATCH "$WORK/orig.csv"
expect_online "pause hook: no row of the killed push is served" 100000 "null|NOT_FOUND"
check "pause hook: no journal left" no_journal

#---- C2. a reader while a push is appending

fresh
MF_TEST_PAUSE=append=1500 $PUSH big.csv >/dev/null 2>>"$ALL" &
BG=$!
n=0
while [ "$(size $BATCH)" -le "$SIZE" ] && [ $n -lt 400 ]; do
    sleep 0.05
    n=$((n + 1))
done
expect_hist "a reader during an append waits for it and sees the whole push" 119999 "0.25,119999"
{ wait "$BG"; } 2>/dev/null
prc=$?
BG=
check "... and the push completes" test "$prc" -eq 0
{ cat "$WORK/orig.csv"; body big.csv; } >"$WORK/want.csv"
expect_file "... with all its rows" $BATCH "$WORK/want.csv"

#---- D. SIGKILL at random moments

fresh
gen timing.csv 400000 20000
t0=$(date +%s%N)
r $PUSH timing.csv
t1=$(date +%s%N)
expect_rc "an uninterrupted large push" 0
MS=$(((t1 - t0) / 1000000 + 1))
i=1
while [ $i -le 8 ]; do
    gen "p$i.csv" $((200000 + i * 20000)) 20000
    gen "q$i.csv" $((50000 + i)) 1
    cp $BATCH "$WORK/prev.csv"
    # every other push also pauses halfway for a random time, which widens
    # the window in which a kill finds the append in progress
    pause=0
    [ $((i % 2)) -eq 0 ] && pause=$(($(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % MS))
    MF_TEST_PAUSE=append=$pause $PUSH "p$i.csv" >/dev/null 2>>"$ALL" &
    BG=$!
    d=$(($(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % (MS + pause)))
    sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"
    kill -9 "$BG" 2>/dev/null
    { wait "$BG"; } 2>/dev/null
    prc=$?
    BG=
    state="before or after the append"
    [ -e "$JOURNAL" ] && state="mid-append"
    r $PUSH "q$i.csv"
    { cat "$WORK/prev.csv"; body "q$i.csv"; } >"$WORK/without.csv"
    { cat "$WORK/prev.csv"; body "p$i.csv"; body "q$i.csv"; } >"$WORK/with.csv"
    if [ "$RC" -ne 0 ]; then
        not_ok "random kill $i after ${d} ms (pause ${pause} ms, $state): the next push" "exit $RC" "stderr: $ERR"
    elif cmp -s $BATCH "$WORK/with.csv"; then
        ok "random kill $i after ${d} ms (pause ${pause} ms, $state): the CSV holds the whole push (it had committed), then the next"
    elif [ "$prc" -ne 0 ] && cmp -s $BATCH "$WORK/without.csv"; then
        ok "random kill $i after ${d} ms (pause ${pause} ms, $state): the CSV holds none of the killed push, then the next"
    else
        not_ok "random kill $i after ${d} ms (pause ${pause} ms, $state): the CSV is the old rows, the killed push whole or not at all, then the next" \
            "exit of the killed push: $prc; size $(size $BATCH), want $(size "$WORK/without.csv") or $(size "$WORK/with.csv")"
    fi
    i=$((i + 1))
done
check "random kills: no journal left" no_journal
r "$MF" materialize "$A" "$N" -v driver_hourly_stats
expect_rc "random kills: materialize reads the file" 0
expect_online "random kills: the last probe push is served" 50008 "50008|PRESENT"
expect_hist "random kills: historical retrieval reads the file" 50001 "0.25,50001"

#---- E. journals written by hand

# journal START END [DEV INO]: a journal for the batch CSV
journal() {
    printf 'moonfeast-append 1 %s %s %s %s\n' "${3:-$(stat -c %d $BATCH)}" \
        "${4:-$(stat -c %i $BATCH)}" "$1" "$2" >"$JOURNAL"
}
fresh
printf '9999,2025-01-0' >>$BATCH
journal "$SIZE" $((SIZE + 100))
r $PUSH small.csv
expect_rc "hand-made journal: the push succeeds" 0
check "... and warns about the bytes it removed" \
    sh -c 'printf "%s" "$1" | grep -qF "driver_stats.csv: removed the 14 bytes of an interrupted push"' sh "$ERR"
{ cat "$WORK/orig.csv"; body small.csv; } >"$WORK/want.csv"
expect_file "hand-made journal: the torn bytes are cut, the rows appended" $BATCH "$WORK/want.csv"
check "hand-made journal: removed" no_journal

fresh
printf 'moonfeast-app' >"$JOURNAL" # its writer died while writing it
r $PUSH small.csv
expect_rc "an incomplete journal (nothing was appended yet): the push succeeds" 0
{ cat "$WORK/orig.csv"; body small.csv; } >"$WORK/want.csv"
expect_file "an incomplete journal: nothing cut, the rows appended" $BATCH "$WORK/want.csv"
check "an incomplete journal: removed" no_journal

# journals that do not match the file: refused, nothing cut, kept
mismatch() { # NAME MESSAGE
    cp $BATCH "$WORK/want.csv"
    r $PUSH small.csv
    expect_err "$1: the push is refused" 1 "$2"
    expect_file "$1: the CSV is untouched" $BATCH "$WORK/want.csv"
    check "$1: the journal is kept" test -e "$JOURNAL"
    r "$MF" materialize "$A" "$N" -v driver_hourly_stats
    expect_err "$1: materialize is refused" 1 "$2"
    expect_file "$1: ... and the CSV still untouched" $BATCH "$WORK/want.csv"
}
fresh
journal 0 10 1 1
mismatch "a journal of another file" "an interrupted push left $WORK/repo/$JOURNAL, but the file has changed since ($SIZE bytes now; the push began at byte 0 and would have ended at 10): check the end of the file, then remove"
fresh
journal $((SIZE + 10)) $((SIZE + 20))
mismatch "a journal past the end of the file" "but the file has changed since ($SIZE bytes now; the push began at byte $((SIZE + 10))"
fresh
journal 100 200
mismatch "a journal of an append that the file has grown past" "but the file has changed since"
fresh
printf 'hello\n' >"$JOURNAL"
mismatch "a journal that is not one" "$JOURNAL is not a moonfeast append journal"
fresh

if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:|Segmentation' "$ALL"; then
    not_ok "no sanitizer report or crash in any run" \
        "$(grep -E -m5 'AddressSanitizer|LeakSanitizer|runtime error:|Segmentation' "$ALL")"
else
    ok "no sanitizer report or crash in any run"
fi
