# values_output.sh — values through the real CLI: list and String cells are
# checked where they enter, one rule on both online stores, and every JSON
# output passes a strict parser whatever the values hold.
#
# The strict parser is Jansson's decoder (compiled here from a few lines of
# C): it refuses invalid UTF-8, raw control characters, bad escapes, NaN
# and Infinity. It reads get-online-features (SQLite and a Redis this
# script starts), get-historical-features --format jsonl, describe and
# registry-dump, over hostile values: quotes, backslashes, control
# characters, invalid UTF-8 in pass-through text (definitions refuse it: test_dsl), NaN,
# infinities and extreme floats, Int64 beyond 2^53 in lists, and values a
# second writer put into Redis by hand (a String holding NUL, a list
# holding NaN). Expected texts are written out by hand.
. "$(dirname "$0")/lib.sh"
case $MF in /*) ;; */*) MF=$OLDPWD/$MF ;; esac

trap 'stop_redis; rm -rf "$WORK"' EXIT
trap 'exit 1' INT TERM HUP

ALL=$WORK/.all # stderr of every run, swept for sanitizer reports at the end
r() {
    run "$@"
    printf '%s\n' "$ERR" >>"$ALL"
}
check() { # NAME CONDITION-COMMAND...
    name=$1
    shift
    if "$@"; then ok "$name"; else not_ok "$name" "failed: $*" "stdout: $OUT" "stderr: $ERR"; fi
}

#---- the strict parser ----------------------------------------------------------

cat >"$WORK/jsonv.c" <<'EOF'
/* jsonv [lines] < text: exit 0 when stdin is one JSON value (or, with
 * "lines", when every line is), else 1 with the reason. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    static char buf[1 << 24];
    size_t n = fread(buf, 1, sizeof buf, stdin), line = 0;
    int lines = argc > 1 && strcmp(argv[1], "lines") == 0;
    for (char *p = buf, *e = buf + n; p < e; line++) {
        char *q = lines ? memchr(p, '\n', (size_t)(e - p)) : NULL;
        size_t len = q ? (size_t)(q - p) : (size_t)(e - p);
        json_error_t err;
        json_t *j = json_loadb(p, len, JSON_ALLOW_NUL, &err);
        if (!j) {
            printf("line %zu: %s (at %d)\n", line + 1, err.text, err.position);
            return 1;
        }
        json_decref(j);
        p += len + (q != NULL);
    }
    return n ? 0 : 1;
}
EOF
# shellcheck disable=SC2046
if ! cc -o "$WORK/jsonv" "$WORK/jsonv.c" $(pkg-config --cflags --libs jansson) 2>"$WORK/cc.err"; then
    not_ok "build the strict JSON checker" "$(cat "$WORK/cc.err")"
    exit 1
fi
strict() { printf '%s' "$OUT" | "$WORK/jsonv" "$@" >"$WORK/.why"; }
strict_ok() { # NAME [lines]: the last run's stdout is strict JSON
    name=$1
    shift
    if [ "$RC" -ne 0 ]; then
        not_ok "$name" "exit $RC" "stderr: $ERR"
    elif strict "$@"; then
        ok "$name"
    else
        not_ok "$name" "not strict JSON: $(cat "$WORK/.why")" "stdout: $(printf '%s' "$OUT" | head -c 600)"
    fi
}

#---- a repo of hostile values ---------------------------------------------------

# repo NAME YAML-TAIL
repo() {
    mkdir -p "$WORK/$1/data" && cd "$WORK/$1" || exit 1
    printf 'project: t\n%s' "$2" >feature_store.yaml
    cat >defs.lua <<'EOF'
local driver = entity { name = "driver", join_keys = { "driver_id" }, value_type = Int64,
  description = "quote \" backslash \\ ctl \1\31 tab\t line\n end \226\130\172" }
feature_view { name = "v", entities = { driver }, ttl = 0,
  tags = { ["k\127"] = "v\1\"" },
  schema = {
    field { name = "s", dtype = String }, field { name = "d", dtype = Float64 },
    field { name = "f", dtype = Float32 }, field { name = "l", dtype = Array(Int64) },
    field { name = "ls", dtype = Array(String) }, field { name = "lt", dtype = Array(UnixTimestamp) },
    field { name = "b", dtype = Bytes } },
  source = file_source { name = "src", path = "data/v.csv", timestamp_field = "ts" } }
feature_view { name = "h", entities = { driver }, ttl = 0,
  schema = { field { name = "hs", dtype = String } },
  source = file_source { name = "hsrc", path = "data/h.csv", timestamp_field = "ts" } }
feature_view { name = "sk", ttl = 0,
  entities = { entity { name = "user", join_keys = { "user_id" }, value_type = String } },
  schema = { field { name = "n", dtype = Int64 } },
  source = file_source { name = "sksrc", path = "data/sk.csv", timestamp_field = "ts" } }
feature_view { name = "hl", entities = { driver }, ttl = 0,
  schema = { field { name = "hd", dtype = Array(Float64) } },
  source = file_source { name = "hlsrc", path = "data/hl.csv", timestamp_field = "ts" } }
EOF
    # driver 1: quotes, backslashes, a control character, a tab and a line
    # break inside quotes; NaN, Float32 max; lists with escapes and Int64
    # beyond 2^53; driver 2: infinities, extreme doubles, non-canonical
    # spacing; driver 3: nulls everywhere
    cat >data/v.csv <<'EOF'
driver_id,ts,s,d,f,l,ls,lt,b
1,2025-01-01T00:00:00Z,"a ""q"" \ b@CTL@c@TAB@d
e",nan,3.4028235e38,"[9007199254740993,-9223372036854775808]","[""a\""b"",""\\"",""\u0001"",""\u00e9""]","[""2025-01-01T01:00:00+01:00"",0]",ok
2,2025-01-01T00:00:00Z,plain,inf,-inf,"[ 1 , 2 ]","[]","[]",x
3,2025-01-01T00:00:00Z,,,,,,,
4,2025-01-01T00:00:00Z,x,-inf,1e-45,[],"[""é""]","[1]",y
EOF
    sed -i -e "s/@CTL@/$(printf '\001')/" -e "s/@TAB@/$(printf '\t')/" data/v.csv
    printf 'driver_id,ts,hs\n5,2025-01-01T00:00:00Z,safe\n' >data/h.csv
    printf 'driver_id,ts,hd\n6,2025-01-01T00:00:00Z,"[1.5]"\n' >data/hl.csv
    printf 'user_id,ts,n\n\303\251,2025-01-01T00:00:00Z,1\n' >data/sk.csv
}

# The response for drivers 1, 2, 3 of features s, l, ls, lt; worked out by
# hand from data/v.csv (lists canonical: compact, timestamps in UTC)
T=2025-01-01T00:00:00Z
Z=1970-01-01T00:00:00Z
WANT_LISTS='{"metadata":{"feature_names":["driver_id","l","ls","lt"]},"results":[{"values":[1,2,3],"statuses":["PRESENT","PRESENT","PRESENT"],"event_timestamps":["'$Z'","'$Z'","'$Z'"]},{"values":[[9007199254740993,-9223372036854775808],[1,2],null],"statuses":["PRESENT","PRESENT","NULL_VALUE"],"event_timestamps":["'$T'","'$T'","'$T'"]},{"values":[["a\"b","\\","\u0001","é"],[],null],"statuses":["PRESENT","PRESENT","NULL_VALUE"],"event_timestamps":["'$T'","'$T'","'$T'"]},{"values":[["2025-01-01T00:00:00Z","1970-01-01T00:00:00Z"],[],null],"statuses":["PRESENT","PRESENT","NULL_VALUE"],"event_timestamps":["'$T'","'$T'","'$T'"]}]}'

start_redis
if [ -z "$PORT" ]; then
    not_ok "start redis-server" "$(tail -5 "$WORK/redis/log" 2>/dev/null)"
    exit 1
fi
rcli() { redis-cli -h 127.0.0.1 -p "$PORT" "$@"; }
REDIS_YAML="online_store:
  type: redis
  connection_string: \"127.0.0.1:$PORT\"
"

ENTS="-e driver_id=1 -e driver_id=2 -e driver_id=3 -e driver_id=4 -e driver_id=9"
ALLF="-f v:s -f v:d -f v:f -f v:l -f v:ls -f v:lt -f v:b"
for store in sqlite redis; do
    tail=
    [ $store = redis ] && tail=$REDIS_YAML
    repo $store "$tail"
    r "$MF" apply
    expect_rc "$store: apply" 0
    r "$MF" materialize 2025-01-01T00:00:00Z 2025-01-02T00:00:00Z
    expect_rc "$store: materialize hostile values" 0
    # shellcheck disable=SC2086
    r "$MF" get-online-features $ENTS $ALLF
    strict_ok "$store: get-online-features is strict JSON"
    eval "ONLINE_$store=\$OUT"
    r "$MF" get-online-features -e driver_id=1 -e driver_id=2 -e driver_id=3 -f v:l -f v:ls -f v:lt
    expect_out "$store: lists come out in canonical text" "$WANT_LISTS"
    r "$MF" get-online-features -e driver_id=1 -f v:s -f v:d
    expect_out "$store: quotes, backslash, control character, tab, line break; NaN as null" \
        '{"metadata":{"feature_names":["driver_id","s","d"]},"results":[{"values":[1],"statuses":["PRESENT"],"event_timestamps":["'$Z'"]},{"values":["a \"q\" \\ b\u0001c\td\ne"],"statuses":["PRESENT"],"event_timestamps":["'$T'"]},{"values":[null],"statuses":["PRESENT"],"event_timestamps":["'$T'"]}]}'
done
check "both stores answer the same JSON" test "$ONLINE_sqlite" = "$ONLINE_redis"

#---- Redis: values a second writer put there ------------------------------------

# driver 5's hash holds only view h's fields, driver 6's only view hl's
# (distinct keys); the feature field is the one not starting with '_'
feast_put() { # DRIVER-ID VALUE-BYTES-AS-LUA-STRING
    r rcli eval "
      local key = '\\1\\0\\0\\0\\2\\0\\0\\0\\9\\0\\0\\0driver_id\\4\\0\\0\\0\\8\\0\\0\\0\\$1\\0\\0\\0\\0\\0\\0\\0t'
      local n = 0
      for _, f in ipairs(redis.call('HKEYS', key)) do
        if string.sub(f, 1, 1) ~= '_' then redis.call('HSET', key, f, '$2'); n = n + 1 end
      end
      return n" 0
}
feast_put 5 '\18\3a\0b'
check "redis: a String holding NUL written by hand" test "$OUT" = 1
# NaN as a double: 0x7ff8000000000000, little-endian; list field 15, packed
feast_put 6 '\122\18\10\16\0\0\0\0\0\0\248\127\0\0\0\0\0\0\240\127'
check "redis: a list holding NaN and infinity written by hand" test "$OUT" = 1
r "$MF" get-online-features -e driver_id=5 -e driver_id=6 -f h:hs -f hl:hd
strict_ok "redis: NUL in a String and NaN in a list: strict JSON"
expect_out "redis: NUL escaped, NaN and infinity as null" \
    '{"metadata":{"feature_names":["driver_id","hs","hd"]},"results":[{"values":[5,6],"statuses":["PRESENT","PRESENT"],"event_timestamps":["'$Z'","'$Z'"]},{"values":["a\u0000b",null],"statuses":["PRESENT","NOT_FOUND"],"event_timestamps":["'$T'","'$Z'"]},{"values":[null,[null,null]],"statuses":["NOT_FOUND","PRESENT"],"event_timestamps":["'$Z'","'$T'"]}]}'
feast_put 5 '\18\2\255\254'
r "$MF" get-online-features -e driver_id=5 -f h:hs
expect_err "redis: a String that is not UTF-8 is an error naming it" 1 \
    "feature view 'h', feature 'hs', entity row 1: the stored String is not UTF-8 text"

# a String join key in a request must be UTF-8 text
r "$MF" get-online-features -e "user_id=$(printf '\303\251')" -f sk:n
expect_out "a UTF-8 String join key reads" \
    '{"metadata":{"feature_names":["user_id","n"]},"results":[{"values":["é"],"statuses":["PRESENT"],"event_timestamps":["'$Z'"]},{"values":[1],"statuses":["PRESENT"],"event_timestamps":["'$T'"]}]}'
r "$MF" get-online-features -e "user_id=$(printf 'a\377')" -f sk:n
expect_err "a String join key that is not UTF-8 is an error naming it" 1 \
    "join key 'user_id' row 1: a String key must be UTF-8 text"

#---- historical retrieval, describe, registry-dump ------------------------------

cd "$WORK/sqlite" || exit 1
# pass-through columns: invalid UTF-8, a control character, quotes
printf 'driver_id,event_timestamp,note\n1,2025-01-02T00:00:00Z,"bad \377\376 ctl \001 q "" bs \\"\n2,2025-01-02T00:00:00Z,ok\n3,2025-01-02T00:00:00Z,\n' >e.csv
# shellcheck disable=SC2086
r "$MF" get-historical-features --entities e.csv $ALLF --format jsonl
strict_ok "get-historical-features --format jsonl is strict JSON" lines
check "jsonl: three rows" test "$(printf '%s\n' "$OUT" | wc -l)" = 3
check "jsonl: invalid bytes of pass-through text as U+FFFD" \
    test "$(printf '%s\n' "$OUT" | head -1 | grep -c '"note":"bad �� ctl \\u0001 q \\" bs \\\\"')" = 1
r "$MF" feature-views describe v
strict_ok "describe of hostile definitions is strict JSON"
r "$MF" entities describe driver
strict_ok "describe of an entity with control characters is strict JSON"
r "$MF" registry-dump
strict_ok "registry-dump is strict JSON"

#---- what is refused where it enters ---------------------------------------------

# a String cell that is not UTF-8 (file and line named), a list holding
# null, the same on both stores
cd "$WORK/sqlite" || exit 1
printf 'driver_id,ts,hs\n5,2025-01-01T00:00:00Z,safe\n7,2025-01-01T00:00:00Z,bad \377\n' >data/h.csv
printf 'driver_id,event_timestamp\n7,2025-01-02T00:00:00Z\n' >e7.csv
r "$MF" get-historical-features --entities e7.csv -f h:hs
expect_err "a String cell that is not UTF-8: error naming file and line" 1 "data/h.csv:3"
for store in sqlite redis; do
    cd "$WORK/$store" || exit 1
    printf 'driver_id,ts,hd\n6,2025-01-02T00:00:00Z,"[1,null]"\n' >data/hl.csv
    r "$MF" materialize 2025-01-01T00:00:00Z 2025-01-03T00:00:00Z -v hl
    expect_err "$store: materialize refuses a list holding null" 1 "'[1,null]' is not a valid Array(Float64)"
    # a direct write checks the cell with the rest of the rows, before any write
    printf 'driver_id,ts,hd\n6,2025-01-02T00:00:00Z,"[2,null]"\n' >w.csv
    r "$MF" write-to-online-store hl --file w.csv
    expect_err "$store: write-to-online-store refuses a list holding null" 1 \
        "w.csv:2: column 'hd': '[2,null]' is not a valid Array(Float64): element 2 is null"
    printf 'driver_id,ts,hd\n6,2025-01-02T00:00:00Z,"[2, 3e0]"\n' >w.csv
    r "$MF" write-to-online-store hl --file w.csv
    expect_rc "$store: write-to-online-store of a valid list" 0
    r "$MF" get-online-features -e driver_id=6 -f hl:hd
    expect_out "$store: the written list reads back canonical" \
        '{"metadata":{"feature_names":["driver_id","hd"]},"results":[{"values":[6],"statuses":["PRESENT"],"event_timestamps":["'$Z'"]},{"values":[[2,3]],"statuses":["PRESENT"],"event_timestamps":["2025-01-02T00:00:00Z"]}]}'
done

#---- CSV output never carries a NUL -----------------------------------------------

cd "$WORK/sqlite" || exit 1
if command -v sqlite3 >/dev/null 2>&1; then
    sqlite3 e.db "CREATE TABLE e (driver_id INTEGER, event_timestamp TEXT, note TEXT);
      INSERT INTO e VALUES (1, '2025-01-02T00:00:00Z', 'fine'), (2, '2025-01-02T00:00:00Z', 'a' || char(0) || 'b');"
    r "$MF" get-historical-features --entity-query "SELECT * FROM e" --entity-db e.db -f v:l
    expect_err "CSV output refuses a NUL byte, naming column and row" 1 "column 'note', row 2 holds a NUL byte"
    r "$MF" get-historical-features --entity-query "SELECT * FROM e" --entity-db e.db -f v:l --format jsonl
    strict_ok "JSON Lines escape it" lines
    check "jsonl: NUL as \\u0000" test "$(printf '%s\n' "$OUT" | grep -c '"note":"a\\u0000b"')" = 1
else
    ok "CSV output refuses a NUL byte (skipped: no sqlite3 command)"
fi

if grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer' "$ALL"; then
    not_ok "no sanitizer report" "$(grep -E -m3 'AddressSanitizer|runtime error:|LeakSanitizer' "$ALL")"
else
    ok "no sanitizer report"
fi
