# sandbox.sh — the Lua sandbox and its budgets through the real CLI: the
# `lua:` section of feature_store.yaml reaches definition loading; runaway
# loops, a pcall that tries to swallow the budget error, and runaway memory
# stop with exit 1 and a message naming the limit and its key; strict
# globals with a suggestion; read-only objects; symbolic links that lead
# out of the repo are not read. No output may hold a sanitizer report.
. "$(dirname "$0")/lib.sh"

r() {
    run "$@"
}
check() { # NAME CONDITION-COMMAND...
    name=$1
    shift
    if "$@"; then ok "$name"; else not_ok "$name" "failed: $*" "stdout: $OUT" "stderr: $ERR"; fi
}
secs() { date +%s; }

mkdir -p repo/data && cd repo || exit 1
printf 'project: sb\nlua:\n  max_instructions: 100000\n  max_memory_mb: 16\n  timeout_seconds: 5\n' \
    >feature_store.yaml
printf 'driver = entity { name = "driver", join_keys = { "k" } }\n' >a.lua

#---- budgets ---------------------------------------------------------------------

printf 'local n = 0\nwhile true do n = n + 1 end\n' >b.lua
t0=$(secs)
r "$MF" plan
expect_err "endless loop: stopped at its line" 1 \
    "b.lua:2: definition loading stopped after 100000 Lua instructions (the limit is lua.max_instructions in feature_store.yaml)"
check "endless loop: stopped within seconds" test $(($(secs) - t0)) -lt 10

printf 'while true do\n  pcall(function() while true do end end)\nend\n' >b.lua
r "$MF" apply
expect_err "pcall cannot swallow the budget error" 1 "lua.max_instructions"
check "apply wrote no registry" test ! -e data/registry.db

printf 'local t = {}\nfor i = 1, 1e9 do t[i] = { i } end\n' >b.lua
printf 'project: sb\nlua: {max_memory_mb: 16}\n' >feature_store.yaml
r "$MF" plan
expect_err "runaway memory: stopped at the cap" 1 \
    "definition loading stopped: its Lua memory would exceed 16 MiB (the limit is lua.max_memory_mb in feature_store.yaml)"

printf 'while true do end\n' >b.lua
printf 'project: sb\nlua: {max_instructions: 1000000000000000, timeout_seconds: 1}\n' >feature_store.yaml
t0=$(secs)
r "$MF" plan
expect_err "time limit" 1 "definition loading stopped after 1000 ms (the limit is lua.timeout_seconds"
check "time limit: stopped within seconds" test $(($(secs) - t0)) -lt 10

printf 'project: sb\nlua: {max_instructions: 1000000}\n' >feature_store.yaml
printf 'local s = ("a"):rep(40)\nlocal m = s:match(("a?"):rep(40) .. s)\n' >b.lua
t0=$(secs)
r "$MF" plan
expect_err "a backtracking pattern is charged to the budget" 1 \
    "b.lua:2: definition loading stopped after 1000000 Lua instructions"
check "the pattern stopped within seconds" test $(($(secs) - t0)) -lt 10

printf 'project: sb\nlua: {max_instructions: 10}\n' >feature_store.yaml
r "$MF" plan
expect_err "a budget below its range is a config error" 1 \
    "key 'lua.max_instructions' in feature_store.yaml at line 2: must be between 1000 and"

#---- strict globals and read-only objects ------------------------------------------

printf 'project: sb\n' >feature_store.yaml
printf '\nlocal src = file_source { name = "s", path = "data/s.csv", timestamp_field = "ts" }\nfeature_view { name = "v", source = src, entities = { drivr },\n  schema = { field { name = "x", dtype = Int64 } } }\n' >b.lua
r "$MF" plan
expect_err "undefined global: named with a suggestion" 1 "b.lua:3: undefined global 'drivr' (did you mean 'driver'?)"

printf 'driver.name = "bad name!"\n' >b.lua
r "$MF" plan
expect_err "objects are read-only" 1 "b.lua:1: entity 'driver' is read-only"

#---- a definition file too large to be source text ------------------------------------

rm -f b.lua
head -c 70000000 /dev/zero | tr '\0' ' ' >big.lua
r "$MF" plan
expect_err "a definition file over 64 MiB is refused" 1 \
    "big.lua: a definition file is at most 64 MiB; this one is longer"
rm -f big.lua

#---- symbolic links ------------------------------------------------------------------

rm -f b.lua
mkdir -p "$WORK/outside"
printf 'entity { name = "from_outside", join_keys = { "k" } }\n' >"$WORK/outside/x.lua"
ln -s "$WORK/outside" linked
ln -s . loop
r "$MF" apply
check "apply with links exits 0" test "$RC" -eq 0
check "a link out of the repo is reported" \
    sh -c "printf '%s' \"\$1\" | grep -qF 'linked: not read: a symbolic link to outside the repository'" _ "$ERR"
r "$MF" entities list
check "nothing from outside was read" sh -c "! printf '%s' \"\$1\" | grep -q from_outside" _ "$OUT"
check "the repo's own entity is there" sh -c "printf '%s' \"\$1\" | grep -q '^driver'" _ "$OUT"
