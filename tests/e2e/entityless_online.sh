# entityless_online.sh — a feature view without entities, online, through
# the real CLI, on the SQLite store and on a Redis this script starts.
#
# Feast keys the one row of such a view by its dummy entity: join key
# "__dummy_id", String value "" (feature_view.py DUMMY_ENTITY_ID and
# DUMMY_ENTITY_VAL). A read answers one row per entity row of the request
# (whatever its columns), each with the view's latest values. Expected
# values are worked out by hand from the CSV below; the Redis key bytes are
# written out here from the v3 layout (docs/concepts.md, "Online stores"), and a value
# written into that hash by hand (a Double Value, a Timestamp) reads back.
# Materializing must be clean under the sanitizers (no report on stderr).
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

# repo NAME YAML-TAIL: project t, an entity driver (so that a request can
# name rows), and the view glob without entities
repo() {
    mkdir -p "$WORK/$1/data" && cd "$WORK/$1" || exit 1
    printf 'project: t\n%s' "$2" >feature_store.yaml
    cat >defs.lua <<'EOF'
entity { name = "driver", join_keys = { "driver_id" }, value_type = Int64 }
feature_view { name = "glob", ttl = 0,
  schema = { field { name = "rate", dtype = Float64 }, field { name = "n", dtype = Int64 } },
  source = file_source { name = "gs", path = "data/g.csv", timestamp_field = "ts" } }
EOF
    cat >data/g.csv <<'EOF'
ts,rate,n
2025-01-01T10:00:00Z,1.25,1
2025-01-01T12:00:00Z,1.5,2
2025-01-01T11:00:00Z,1.75,3
EOF
}

T=2025-01-01T12:00:00Z
Z=1970-01-01T00:00:00Z
# three rows asked, three rows answered, each the latest row (12:00)
WANT3='{"metadata":{"feature_names":["rate","n"]},"results":[{"values":[1.5,1.5,1.5],"statuses":["PRESENT","PRESENT","PRESENT"],"event_timestamps":["'$T'","'$T'","'$T'"]},{"values":[2,2,2],"statuses":["PRESENT","PRESENT","PRESENT"],"event_timestamps":["'$T'","'$T'","'$T'"]}]}'

for store in sqlite redis; do
    tail=
    if [ $store = redis ]; then
        start_redis
        if [ -z "$PORT" ]; then
            not_ok "start redis-server" "$(tail -5 "$WORK/redis/log" 2>/dev/null)"
            break
        fi
        tail="online_store:
  type: redis
  connection_string: \"127.0.0.1:$PORT\"
"
    fi
    repo $store "$tail"
    r "$MF" apply
    expect_rc "$store: apply" 0
    r "$MF" materialize 2025-01-01T00:00:00Z 2025-01-02T00:00:00Z
    expect_rc "$store: materialize a view without entities" 0
    r "$MF" get-online-features -e driver_id=7 -e driver_id=8 -e driver_id=9 -f glob:rate -f glob:n
    expect_out "$store: one answer row per entity row" "$WANT3"
    r "$MF" get-online-features -e anything=x -f glob:n
    expect_out "$store: rows counted from any column of the request" \
        '{"metadata":{"feature_names":["n"]},"results":[{"values":[2],"statuses":["PRESENT"],"event_timestamps":["'$T'"]}]}'
    r "$MF" get-online-features -e driver_id=7 -f glob:n -f glob:nope
    expect_err "$store: unknown feature of the view" 1 "unknown feature 'glob:nope'"
done

#---- Redis: Feast's dummy key -------------------------------------------------

if [ -n "$PORT" ]; then
    rcli() { redis-cli -h 127.0.0.1 -p "$PORT" "$@"; }
    # 1 join key; "__dummy_id" (type 2, length 10); value: String (2),
    # length 0; then the project name "t"
    want=01000000020000000a0000005f5f64756d6d795f69640200000000000000
    want=${want}74
    got=$(rcli --raw keys '*' | head -c -1 | od -An -tx1 | tr -d ' \n')
    check "redis: the row is keyed by Feast's dummy entity key" test "$got" = "$want"
    # Feast writes that hash: rate = Double 2.5 (field 5, fixed64), event
    # time 2025-01-03T00:00:00Z = 1735862400 s (Timestamp field 1, varint)
    r rcli eval "
      local key = '\\1\\0\\0\\0\\2\\0\\0\\0\\10\\0\\0\\0__dummy_id\\2\\0\\0\\0\\0\\0\\0\\0t'
      for _, f in ipairs(redis.call('HKEYS', key)) do
        if f == '_ts:glob' then
          redis.call('HSET', key, f, '\\8\\128\\209\\220\\187\\6')
        elseif string.sub(f, 1, 1) ~= '_' and redis.call('HGET', key, f) ~= '\\32\\2' then
          redis.call('HSET', key, f, '\\41\\0\\0\\0\\0\\0\\0\\4\\64')
        end
      end
      return redis.call('HLEN', key)" 0
    check "redis: hash rewritten by hand" test "$OUT" = 4
    r "$MF" get-online-features -e driver_id=1 -e driver_id=2 -f glob:rate -f glob:n
    T3=2025-01-03T00:00:00Z
    expect_out "redis: a row written in Feast's layout reads back" \
        '{"metadata":{"feature_names":["rate","n"]},"results":[{"values":[2.5,2.5],"statuses":["PRESENT","PRESENT"],"event_timestamps":["'$T3'","'$T3'"]},{"values":[2,2],"statuses":["PRESENT","PRESENT"],"event_timestamps":["'$T3'","'$T3'"]}]}'
    r "$MF" teardown
    expect_rc "redis: teardown" 0
    check "redis: teardown removes the dummy-keyed row" test "$(rcli dbsize)" = 0
fi

if grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer' "$ALL"; then
    not_ok "no sanitizer report" "$(grep -E -m3 'AddressSanitizer|runtime error:|LeakSanitizer' "$ALL")"
else
    ok "no sanitizer report"
fi
