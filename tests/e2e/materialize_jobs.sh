# materialize_jobs.sh — the local batch engine: `materialize --jobs N`
# fills the online store exactly as one job does (every table compared row
# for row), records every view's interval, takes batch_engine.jobs from the
# configuration; a failing view fails the run and records no interval for
# itself; bad values of --jobs and batch_engine are refused.
. "$(dirname "$0")/lib.sh"


mkdir -p data
# 60000 rows (2 MB: large enough for a source read in two halves); every
# row of a key has the same event time, so the key's last row in the file
# wins (a = 57000 + key), whichever half it is in
awk 'BEGIN { print "driver_id,event_timestamp,a,b,s"; for (i = 0; i < 60000; i++) {
    k = i % 3000; printf "%d,2025-01-%02dT%02d:00:00Z,%d,%.3f,x%d\n", k, 1 + k % 28, k % 24, i, i / 7, i } }' >data/rows.csv
defs() { # VIEWS...: a view per name over data/rows.csv
    echo 'local driver = entity { name = "driver", join_keys = { "driver_id" }, value_type = Int64 }'
    echo 'local src = file_source { name = "src", path = "data/rows.csv", timestamp_field = "event_timestamp" }'
    for v in "$@"; do
        echo "feature_view { name = \"$v\", entities = { driver }, source = src,"
        echo "  schema = { field { name = \"a\", dtype = Int64 }, field { name = \"b\", dtype = Float64 }, field { name = \"s\", dtype = String } } }"
    done
}
for r in one four conf; do
    mkdir -p $r/data
    cp data/rows.csv $r/data/
    printf 'project: mj\nregistry: data/registry.db\n' >$r/feature_store.yaml
    defs v1 v2 v3 v4 v5 >$r/defs.lua
    (cd $r && "$MF" apply >/dev/null 2>&1)
done
printf 'batch_engine: {type: local, jobs: 3}\n' >>conf/feature_store.yaml

cd one && run "$MF" materialize 2020-01-01T00:00:00Z 2030-01-01T00:00:00Z --jobs 1 && cd ..
expect_rc "materialize --jobs 1" 0
cd four && run "$MF" --log-level debug materialize 2020-01-01T00:00:00Z 2030-01-01T00:00:00Z --jobs 4 && cd ..
expect_rc "materialize --jobs 4" 0
check "  ... a line per view" test "$(printf '%s\n' "$ERR" | grep -c 'rows read')" -eq 5
check "  ... the last views read their source in two halves" \
    test "$(printf '%s\n' "$ERR" | grep -c 'read by two threads, one half each')" -ge 2
cd four && run "$MF" get-online-features -e driver_id=5 -e driver_id=2999 -f v5:a && cd ..
check "  ... the key's last row wins across the halves (a = 57005, 59999)" \
    sh -c 'printf "%s" "$1" | grep -q "\"values\":\[57005,59999\]"' - "$OUT"
cd conf && run "$MF" materialize 2020-01-01T00:00:00Z 2030-01-01T00:00:00Z && cd ..
expect_rc "materialize with batch_engine.jobs: 3" 0

dump() { # REPO VIEW: the view's table, row for row
    sqlite3 "$1/data/online.db" "SELECT hex(entity_key), event_ts, created_ts, hex(value) FROM \"mj:$2\" ORDER BY entity_key"
}
same=yes
for v in v1 v2 v3 v4 v5; do
    dump one $v >one_$v.txt
    [ "$(wc -l <one_$v.txt)" -eq 3000 ] || same="one/$v has $(wc -l <one_$v.txt) rows"
    dump four $v | cmp -s - one_$v.txt || same="four/$v differs"
    dump conf $v | cmp -s - one_$v.txt || same="conf/$v differs"
done
check "four jobs, and batch_engine.jobs, store what one job stores (5 views x 3000 keys)" test "$same" = yes
# a source with a quoted field: the split is undone, one thread reads it all
mkdir -p quoted/data
{
    echo 'driver_id,event_timestamp,a,b,s'
    echo '1,2025-01-01T00:00:00Z,1,1.5,"a, quoted"'
    tail -n +2 data/rows.csv
} >quoted/data/rows.csv
printf 'project: mj\nregistry: data/registry.db\n' >quoted/feature_store.yaml
defs v1 >quoted/defs.lua
(cd quoted && "$MF" apply >/dev/null 2>&1)
cd quoted && run "$MF" --log-level debug materialize 2020-01-01T00:00:00Z 2030-01-01T00:00:00Z --jobs 2 && cd ..
expect_rc "a quoted source with two jobs" 0
check "  ... read again on one thread" sh -c 'printf "%s" "$1" | grep -q "read again on one thread"' - "$ERR"
dump quoted v1 | cmp -s - one_v1.txt
check "  ... the same store as one job's" test $? -eq 0

intervals() { (cd "$1" && "$MF" registry-dump) | grep -c '"end"'; }
check "every view's interval recorded with four jobs" test "$(intervals four)" -eq 5

# a view whose source lost a column after apply: the run fails naming it,
# and that view records no interval (the others may have been done)
mkdir -p bad/data
cp data/rows.csv bad/data/
cp data/rows.csv bad/data/rows2.csv
printf 'project: mj\nregistry: data/registry.db\n' >bad/feature_store.yaml
{
    defs v1 v2 v3
    echo 'local src2 = file_source { name = "src2", path = "data/rows2.csv", timestamp_field = "event_timestamp" }'
    echo 'feature_view { name = "broken", entities = { driver }, source = src2,'
    echo '  schema = { field { name = "a", dtype = Int64 } } }'
} >bad/defs.lua
(cd bad && "$MF" apply >/dev/null 2>&1)
printf 'driver_id,event_timestamp,b\n1,2025-01-01T00:00:00Z,2\n' >bad/data/rows2.csv
cd bad && run "$MF" materialize 2020-01-01T00:00:00Z 2030-01-01T00:00:00Z --jobs 2 && cd ..
expect_err "a failing view fails the run, naming it" 1 "materializing 'broken'"
run sh -c "cd bad && '$MF' feature-views describe broken"
check "  ... and records no interval for it" sh -c '! printf "%s" "$1" | grep -q '"'"'"end"'"'"'' - "$OUT"

cd one || exit 1
run "$MF" materialize 2020-01-01T00:00:00Z 2030-01-01T00:00:00Z --jobs 0
expect_err "--jobs 0" 2 "--jobs takes a whole number from 1 to 256"
run "$MF" materialize-incremental 2030-01-01T00:00:00Z --jobs x
expect_err "--jobs x" 2 "not 'x'"
run "$MF" materialize-incremental 2030-01-01T00:00:00Z --jobs
expect_err "--jobs without a value" 2 "--jobs needs a value"
cp feature_store.yaml plain.yaml
printf 'batch_engine: {type: local, jobs: 0}\n' >>feature_store.yaml
run "$MF" materialize-incremental 2030-01-01T00:00:00Z
expect_err "batch_engine.jobs 0" 1 "batch_engine.jobs"
cp plain.yaml feature_store.yaml
printf 'batch_engine: {type: lua}\n' >>feature_store.yaml
run "$MF" materialize-incremental 2030-01-01T00:00:00Z
expect_err "batch_engine lua without a module" 1 "missing required key 'batch_engine.module'"
cd ..
# the Lua batch engine: one task per view; the intervals of the tasks done
# are recorded, a failed task fails the run and records none
mkdir -p luaeng/data
cp data/rows.csv luaeng/data/
printf 'project: mj\nregistry: data/registry.db\nbatch_engine: {type: lua, module: engine.lua}\n' >luaeng/feature_store.yaml
defs v1 v2 v3 v4 v5 >luaeng/defs.lua
cat >luaeng/engine.lua <<'EOF'
return {
  run = function(tasks)
    local results = {}
    for i, t in ipairs(tasks) do
      if t.project ~= "mj" or t.end_ts ~= "2030-01-01T00:00:00Z" or t.start_ts ~= "2020-01-01T00:00:00Z" then
        results[i] = "unexpected task " .. t.view
      elseif t.view == "v3" then
        results[i] = "v3 failed on purpose"
      else
        results[i] = true
      end
    end
    return results
  end,
}
EOF
(cd luaeng && "$MF" apply >/dev/null 2>&1)
cd luaeng && run "$MF" materialize 2020-01-01T00:00:00Z 2030-01-01T00:00:00Z && cd ..
expect_err "a Lua batch engine with a failed task" 1 "1 of 5 task(s) failed"
check "  ... naming the view and the engine's message" sh -c 'printf "%s" "$1" | grep -q "view .v3.: v3 failed on purpose"' - "$ERR"
check "  ... and records the intervals of the four tasks done" test "$(intervals luaeng)" -eq 4
run sh -c "cd luaeng && '$MF' feature-views describe v3"
check "  ... none for the failed one" sh -c '! printf "%s" "$1" | grep -q '"'"'"end"'"'"'' - "$OUT"
printf 'return { run = function(tasks) error("the job runner is down") end }\n' >luaeng/engine.lua
cd luaeng && run "$MF" materialize-incremental 2031-01-01T00:00:00Z && cd ..
expect_err "a Lua batch engine that raises" 1 "engine.lua:1: the job runner is down"
check "  ... records nothing" test "$(intervals luaeng)" -eq 4
printf 'return { run = 7 }\n' >luaeng/engine.lua
cd luaeng && run "$MF" materialize-incremental 2031-01-01T00:00:00Z && cd ..
expect_err "a Lua batch engine without run" 1 "has no function 'run'"
cd one || exit 1
cp plain.yaml feature_store.yaml
printf 'batch_engine: {type: spark}\n' >>feature_store.yaml
run "$MF" materialize-incremental 2030-01-01T00:00:00Z
expect_err "an unknown batch engine" 1 "spark"
cp plain.yaml feature_store.yaml
printf 'batch_engine: {type: local, module: x.lua}\n' >>feature_store.yaml
run "$MF" materialize-incremental 2030-01-01T00:00:00Z
expect_err "module on the local engine" 1 "batch_engine.module"
cp plain.yaml feature_store.yaml
