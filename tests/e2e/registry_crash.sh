# registry_crash.sh — a writer killed mid-commit leaves the file registry
# readable and equal to the old or the new state (docs/concepts.md, "The registry":
# temp file, fsync, rename).
#
# 1. With MF_TEST_PAUSE (registry=MS) the writer sleeps between writing
#    <registry>.tmp and renaming it; it is killed (SIGKILL) in that sleep.
#    The registry must equal the old state byte for byte in its dump, and a
#    normal apply afterwards must succeed (no stale lock) and add the view.
# 2. Applies killed after random short delays: every time, the registry
#    loads and is either exactly the old state or the new state (the new
#    state is computed by the same apply on a copy of the repo; the two
#    may differ only in timestamps).
. "$(dirname "$0")/lib.sh"

REPO=$WORK/repo
REG=$REPO/data/registry.db
mkdir -p "$REPO/data"
cat >"$REPO/feature_store.yaml" <<'EOF'
project: crash
provider: local
registry: data/registry.db
online_store:
  type: sqlite
  path: data/online.db
offline_store:
  type: file
entity_key_serialization_version: 3
EOF
printf 'driver_id,event_timestamp,conv_rate\n1001,2025-01-01T00:00:00Z,0.5\n' >"$REPO/data/stats.csv"

# write_defs DIR DESCRIPTION VIEW...: the entity, the source, and one view
# per VIEW name
write_defs() {
    dir=$1 desc=$2
    shift 2
    cat >"$dir/defs.lua" <<EOF
local driver = entity { name = "driver", join_keys = { "driver_id" }, value_type = Int64 }
local stats = file_source {
  name = "driver_stats",
  path = "data/stats.csv",
  timestamp_field = "event_timestamp",
}
EOF
    for v in "$@"; do
        cat >>"$dir/defs.lua" <<EOF
feature_view {
  name = "$v",
  entities = { driver },
  ttl = days(1),
  schema = { field { name = "conv_rate", dtype = Float32 } },
  source = stats,
  description = "$desc",
}
EOF
    done
}

# Bound every command that might wait on a lock.
TO=""
command -v timeout >/dev/null 2>&1 && TO="timeout 60"

# dump DIR FILE: registry-dump of the repo in DIR into FILE; sets RC
dump() {
    $TO "$MF" -C "$1" registry-dump >"$2" 2>"$WORK/.dump_err"
    RC=$?
}

# json_ok FILE: 0 when FILE is valid JSON (or no validator is installed)
if command -v jq >/dev/null 2>&1; then
    json_ok() { jq -e . "$1" >/dev/null 2>&1; }
elif command -v python3 >/dev/null 2>&1; then
    json_ok() { python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$1" 2>/dev/null; }
else
    echo "# neither jq nor python3: JSON validity not checked"
    json_ok() { true; }
fi

# timestamps differ between two runs of the same apply
normalize() { sed -E 's/("(created|updated|last_updated)": )"[^"]*"/\1T/g' "$1"; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

#---- 1. killed while paused between the temp file and the rename ----------

write_defs "$REPO" "first" view_a
run $TO "$MF" -C "$REPO" apply
expect_rc "first apply" 0
dump "$REPO" "$WORK/old.json"

write_defs "$REPO" "first" view_a view_b
# (no timeout wrapper on the processes to kill: the signal must reach them)
MF_TEST_PAUSE=registry=5000 "$MF" -C "$REPO" apply >"$WORK/paused.out" 2>&1 &
pid=$!
n=0
while [ ! -e "$REG.tmp" ] && [ $n -lt 1000 ]; do
    sleep 0.01
    n=$((n + 1))
done
if [ -e "$REG.tmp" ]; then
    ok "the paused writer wrote registry.db.tmp"
else
    not_ok "the paused writer wrote registry.db.tmp" "no temp file after 10 s" "$(cat "$WORK/paused.out")"
fi

# readers take no lock: while the writer holds it, the old state, at once
t0=$(now_ms)
dump "$REPO" "$WORK/during.json"
t1=$(now_ms)
if [ $RC -ne 0 ] || ! cmp -s "$WORK/old.json" "$WORK/during.json"; then
    not_ok "a reader during the commit sees the old state" "rc $RC" "$(cat "$WORK/.dump_err")" \
        "$(diff "$WORK/old.json" "$WORK/during.json" | head -10)"
elif [ $((t1 - t0)) -ge 4000 ]; then
    not_ok "a reader during the commit sees the old state" "it waited $((t1 - t0)) ms"
else
    ok "a reader during the commit sees the old state"
fi

kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
status=$?
if [ $status -eq 137 ]; then ok "the writer was killed"; else not_ok "the writer was killed" "exit status $status"; fi

dump "$REPO" "$WORK/after_kill.json"
if [ $RC -ne 0 ]; then
    not_ok "registry loads after the kill" "$(cat "$WORK/.dump_err")"
else
    ok "registry loads after the kill"
fi
if json_ok "$WORK/after_kill.json"; then ok "its dump is JSON"; else not_ok "its dump is JSON" "$(head -5 "$WORK/after_kill.json")"; fi
if cmp -s "$WORK/old.json" "$WORK/after_kill.json"; then
    ok "registry is the old state after the kill"
else
    not_ok "registry is the old state after the kill" \
        "$(diff "$WORK/old.json" "$WORK/after_kill.json" | head -20)"
fi

run $TO "$MF" -C "$REPO" apply
expect_rc "apply after the kill succeeds" 0
run $TO "$MF" -C "$REPO" feature-views list
expect_out "it registered the new view" "NAME    DETAILS
view_a  entities=driver features=1 ttl=86400s source=driver_stats online
view_b  entities=driver features=1 ttl=86400s source=driver_stats online"
dump "$REPO" "$WORK/new.json"
version=$(sed -n 's/^  "version": \([0-9]*\),*$/\1/p' "$WORK/new.json")
if [ "$version" = 2 ]; then ok "version 2 after it"; else not_ok "version 2 after it" "version ${version:-none}"; fi
if [ -e "$REG.tmp" ]; then not_ok "the stale temp file was replaced" "$REG.tmp exists"; else ok "the stale temp file was replaced"; fi

#---- 2. killed at random moments -------------------------------------------

ROUNDS=12
seed=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
# how long one apply takes here, to spread the kills over it
rm -rf "$WORK/probe" && cp -R "$REPO" "$WORK/probe"
write_defs "$WORK/probe" "probe" view_a view_b view_p
t0=$(now_ms)
$TO "$MF" -C "$WORK/probe" apply >/dev/null 2>&1
span=$(($(now_ms) - t0))
[ "$span" -lt 5 ] && span=5

olds=0
news=0
killed=0
bad=""
r=1
views="view_a view_b"
while [ $r -le $ROUNDS ]; do
    # the change: a new view and a new description on every view
    views="$views view_r$r"
    # shellcheck disable=SC2086
    write_defs "$REPO" "round $r" $views
    # the new state, from the same apply on a copy
    rm -rf "$WORK/scratch" && cp -R "$REPO" "$WORK/scratch"
    if ! $TO "$MF" -C "$WORK/scratch" apply >/dev/null 2>"$WORK/scratch.err"; then
        bad="$bad
round $r: apply on the copy failed: $(cat "$WORK/scratch.err")"
        break
    fi
    dump "$WORK/scratch" "$WORK/want_new.json"
    normalize "$WORK/want_new.json" >"$WORK/want_new.norm"
    dump "$REPO" "$WORK/old.json"
    # a delay in [0, 1.2 span) ms
    delay=$(awk -v s="$seed" -v r="$r" -v span="$span" \
        'BEGIN { srand(s + r); printf "%.3f", rand() * span * 1.2 / 1000 }')
    "$MF" -C "$REPO" apply >/dev/null 2>&1 &
    pid=$!
    sleep "$delay"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    status=$?
    # killed (128 + 9), or it had finished: then it must have succeeded
    [ $status -eq 137 ] && killed=$((killed + 1))
    if [ $status -ne 137 ] && [ $status -ne 0 ]; then
        bad="$bad
round $r (delay $delay s): apply exited with status $status"
    fi
    dump "$REPO" "$WORK/now.json"
    if [ $RC -ne 0 ]; then
        bad="$bad
round $r (delay $delay s): registry-dump failed: $(cat "$WORK/.dump_err")"
        break
    fi
    if ! json_ok "$WORK/now.json"; then
        bad="$bad
round $r (delay $delay s): dump is not JSON"
    fi
    if cmp -s "$WORK/old.json" "$WORK/now.json"; then
        olds=$((olds + 1))
    elif normalize "$WORK/now.json" | cmp -s - "$WORK/want_new.norm"; then
        news=$((news + 1))
    else
        bad="$bad
round $r (delay $delay s): neither the old nor the new state:
$(normalize "$WORK/now.json" | diff "$WORK/want_new.norm" - | head -10)"
    fi
    r=$((r + 1))
done
echo "# random kills: seed $seed, apply ${span} ms, $killed killed, $olds old, $news new"
if [ -z "$bad" ]; then
    ok "after every random kill the registry is the old or the new state"
else
    not_ok "after every random kill the registry is the old or the new state" "seed $seed"
    printf '%s\n' "$bad" | sed '/^$/d; s/^/#   /'
fi

# and the repo still applies normally, to the state of the last round
run $TO "$MF" -C "$REPO" apply
expect_rc "apply after the random kills succeeds" 0
dump "$REPO" "$WORK/final.json"
if normalize "$WORK/final.json" | grep -v '"version"' >"$WORK/final.norm" &&
    grep -v '"version"' "$WORK/want_new.norm" | cmp -s - "$WORK/final.norm"; then
    ok "the final apply reaches the last round's definitions"
else
    not_ok "the final apply reaches the last round's definitions" \
        "$(grep -v '"version"' "$WORK/want_new.norm" | diff - "$WORK/final.norm" | head -10)"
fi
if [ -e "$REG.tmp" ]; then not_ok "no temp file after a clean apply" "$REG.tmp exists"; else ok "no temp file after a clean apply"; fi
