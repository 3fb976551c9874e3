# lua_engine.sh — the Lua batch engine's way out of the sandbox: the host
# table its chunk gets. host.materialize(task) does a task with the
# built-in materialization (the same online rows and intervals as the
# local engine; a failure comes back as nil and a message, and the task's
# interval is recorded only when the engine reports it done); host.run runs
# only the programs batch_engine.commands lists (exit code and standard
# output, arguments passed as they are, stdin /dev/null, the repo folder as
# working directory, stderr passed through, no inherited descriptors, a
# timeout, a signal, an output cap); the time either spends does not count
# against the Lua deadline; the config checks its keys; and the example in
# examples/lua_engine does what its README shows.
. "$(dirname "$0")/lib.sh"

has() { printf '%s\n' "$1" | grep -qF -- "$2"; }     # TEXT SUBSTRING
has_line() { printf '%s\n' "$1" | grep -qxF -- "$2"; } # TEXT LINE
EXAMPLE=$(cd "$E2E_DIR/../../examples/lua_engine" && pwd)

mkdir -p data
# 3000 rows, 300 keys; event times spread over January 2025, so windows
# cut through them
awk 'BEGIN { print "driver_id,event_timestamp,a,b,s"; for (i = 0; i < 3000; i++) {
    k = i % 300; printf "%d,2025-01-%02dT%02d:00:00Z,%d,%.3f,x%d\n", k, 1 + i % 28, i % 24, i, i / 7, i } }' >data/rows.csv
defs() { # VIEWS...: a view per name over data/rows.csv (no ttl)
    echo 'local driver = entity { name = "driver", join_keys = { "driver_id" }, value_type = Int64 }'
    echo 'local src = file_source { name = "src", path = "data/rows.csv", timestamp_field = "event_timestamp" }'
    for v in "$@"; do
        echo "feature_view { name = \"$v\", entities = { driver }, source = src,"
        echo "  schema = { field { name = \"a\", dtype = Int64 }, field { name = \"b\", dtype = Float64 }, field { name = \"s\", dtype = String } } }"
    done
}
repo() { # DIR ENGINE-YAML-LINES...: a repo over data/rows.csv with views v1 v2 v3
    d=$1
    shift
    mkdir -p "$d/data" "$d/bin"
    cp data/rows.csv "$d/data/"
    printf 'project: le\nregistry: data/registry.db\n' >"$d/feature_store.yaml"
    for l in "$@"; do printf '%s\n' "$l" >>"$d/feature_store.yaml"; done
    defs v1 v2 v3 >"$d/defs.lua"
}
in_repo() { # DIR COMMAND...: run (see lib.sh) in DIR
    d=$1
    shift
    run sh -c 'cd "$1" && shift && exec "$@"' - "$d" "$@"
}

# ---- host.materialize: what the local engine does -----------------------
repo loc
repo eng 'batch_engine: {type: lua, module: engine.lua}'
cat >eng/engine.lua <<'EOF'
local options, host = ...
return {
  run = function(tasks)
    local results = {}
    for i, task in ipairs(tasks) do
      local ok, err = host.materialize(task)
      results[i] = ok or err
    end
    return results
  end,
}
EOF
(cd loc && "$MF" apply >/dev/null 2>&1)
(cd eng && "$MF" apply >/dev/null 2>&1)
dump() { # REPO VIEW: the view's table, row for row
    sqlite3 "$1/data/online.db" "SELECT hex(entity_key), event_ts, created_ts, hex(value) FROM \"le:$2\" ORDER BY entity_key"
}
intervals() { # REPO VIEW: the view's recorded intervals
    (cd "$1" && "$MF" feature-views describe "$2") | grep -E '"(start|end)"' | tr -d ' \n'
}
same=yes
# an incremental run first (no ttl: every row up to END; the interval
# starts at the oldest row read), then a window, then incremental again
for step in "materialize-incremental 2025-01-10T00:00:00Z" \
    "materialize 2025-01-05T00:00:00Z 2025-01-20T00:00:00Z" \
    "materialize-incremental 2025-01-25T00:00:00Z"; do
    # shellcheck disable=SC2086
    in_repo loc "$MF" $step
    [ "$RC" -eq 0 ] || same="local engine: $step: $ERR"
    # shellcheck disable=SC2086
    in_repo eng "$MF" $step
    [ "$RC" -eq 0 ] || same="lua engine: $step: $ERR"
    for v in v1 v2 v3; do
        dump loc $v >loc_$v.txt
        [ -s loc_$v.txt ] || same="local engine: $v is empty after $step"
        dump eng $v | cmp -s - loc_$v.txt || same="$v differs after $step"
    done
done
check "host.materialize for each task: the same online rows as the local engine" test "$same" = yes
same=yes
for v in v1 v2 v3; do
    [ -n "$(intervals loc $v)" ] || same="local engine: no interval for $v"
    [ "$(intervals eng $v)" = "$(intervals loc $v)" ] ||
        same="$v: $(intervals eng $v), want $(intervals loc $v)"
done
check "  ... and the same intervals recorded" test "$same" = yes
in_repo eng "$MF" feature-views describe v1
check "  ... the first incremental run's interval starts at the oldest row read" \
    has "$OUT" '"start": "2025-01-01T00:00:00Z"'

# a task whose source is broken: nil and a message for the engine, which
# reports it; that task's interval is not recorded, the other one's is
repo bad 'batch_engine: {type: lua, module: engine.lua}'
cp data/rows.csv bad/data/rows2.csv
{
    defs v1
    echo 'local src2 = file_source { name = "src2", path = "data/rows2.csv", timestamp_field = "event_timestamp" }'
    echo 'feature_view { name = "broken", entities = { driver }, source = src2,'
    echo '  schema = { field { name = "a", dtype = Int64 } } }'
} >bad/defs.lua
cat >bad/engine.lua <<'EOF'
local options, host = ...
return {
  run = function(tasks)
    local results = {}
    for i, task in ipairs(tasks) do
      local ok, err = host.materialize(task)
      print("materialize", task.view, tostring(ok), err)
      results[i] = ok or err
    end
    return results
  end,
}
EOF
(cd bad && "$MF" apply >/dev/null 2>&1)
# host.materialize records nothing itself: a task done by it but not
# reported done has its rows written and no interval
cat >bad/once.lua <<'EOF'
local options, host = ...
return { run = function(tasks) return { host.materialize(tasks[1]) and "done, but not reported" } end }
EOF
sed -i 's/engine.lua/once.lua/' bad/feature_store.yaml
in_repo bad "$MF" materialize 2020-01-01T00:00:00Z 2030-01-01T00:00:00Z -v v1
expect_err "a task host.materialize did but the engine does not report done" 1 \
    "view 'v1': done, but not reported"
in_repo bad "$MF" get-online-features -e driver_id=7 -f v1:a
check "  ... has its rows written" has "$OUT" '"statuses":["PRESENT"]'
in_repo bad "$MF" feature-views describe v1
check "  ... and no interval recorded" sh -c '! printf "%s" "$1" | grep -q '"'"'"end"'"'"'' - "$OUT"
sed -i 's/once.lua/engine.lua/' bad/feature_store.yaml
printf 'driver_id,event_timestamp,b\n1,2025-01-01T00:00:00Z,2\n' >bad/data/rows2.csv
in_repo bad "$MF" materialize 2020-01-01T00:00:00Z 2030-01-01T00:00:00Z
expect_err "host.materialize on a broken source: the engine reports the failure" 1 \
    "1 of 2 task(s) failed, so their intervals are not recorded; view 'broken': "
check "  ... host.materialize returned nil and the message (the column, the view)" \
    sh -c 'printf "%s\n" "$1" | grep -q "^materialize	broken	nil	.*materializing .broken.*column .a. not found"' - "$ERR"
check "  ... and true for the good one" has_line "$ERR" "materialize	v1	true	nil"
in_repo bad "$MF" feature-views describe broken
check "  ... no interval for the broken view" sh -c '! printf "%s" "$1" | grep -q '"'"'"end"'"'"'' - "$OUT"
in_repo bad "$MF" feature-views describe v1
check "  ... the good view's interval recorded" has "$OUT" '"end": "2030-01-01T00:00:00Z"'

# a task the engine made itself is not one of run's tasks
cat >bad/engine.lua <<'EOF'
local options, host = ...
return { run = function(tasks) return { host.materialize({ project = "le", view = "v1" }) } end }
EOF
in_repo bad "$MF" materialize 2020-01-01T00:00:00Z 2030-01-01T00:00:00Z -v v1
expect_err "host.materialize of a table that is not one of run's tasks is an error" 1 \
    "engine.lua:2: host.materialize: the table is not one of the tasks run was given"
cat >bad/engine.lua <<'EOF'
local options, host = ...
return { run = function(tasks) return { host.materialize("v1") } end }
EOF
in_repo bad "$MF" materialize 2020-01-01T00:00:00Z 2030-01-01T00:00:00Z -v v1
expect_err "host.materialize of a string is an error" 1 \
    "host.materialize: expected a task (one of the tasks run was given), got string"

# ---- host.run -------------------------------------------------------------
repo cmd 'batch_engine:' '  type: lua' '  module: engine.lua' \
    '  commands: {echo: bin/echo.sh, sleeper: bin/sleeper.sh, fds: bin/fds.sh}' \
    '  command_timeout_seconds: 1'
cat >cmd/bin/echo.sh <<'EOF'
#!/bin/sh
printf '[%s]' "$@"
echo
echo "cwd=$(pwd)"
echo "stdin=$(readlink /proc/$$/fd/0)"
echo "echo.sh writes this to stderr" >&2
exit "$1"
EOF
cat >cmd/bin/sleeper.sh <<'EOF'
#!/bin/sh
case "$1" in
sleep) echo started; sleep 29.5; echo never ;;
nap) sleep 0.6; echo rested ;;
kill) kill -9 $$ ;;
big) head -c 1048577 /dev/zero | tr '\0' x ;;
fit) head -c 1048576 /dev/zero | tr '\0' x ;;
esac
EOF
cat >cmd/bin/fds.sh <<'EOF'
#!/bin/sh
# the parent (moonfeast) holds more descriptors than its child may see
echo "parent: $(ls /proc/$PPID/fd | sort -n | tr '\n' ' ')"
echo "child: $(ls /proc/self/fd | sort -n | tr '\n' ' ')"
EOF
chmod +x cmd/bin/*.sh
(cd cmd && "$MF" apply >/dev/null 2>&1)
engine() { # LUA...: cmd/engine.lua whose run does LUA, then reports every task done
    {
        echo 'local options, host = ...'
        echo 'local function show(...) local t = { ... } for i = 1, select("#", ...) do t[i] = tostring(t[i]) end print("result|" .. table.concat(t, "|")) end'
        echo 'return { run = function(tasks)'
        printf '%s\n' "$@"
        echo 'local r = {} for i = 1, #tasks do r[i] = true end return r end }'
    } >cmd/engine.lua
}
mat() { in_repo cmd "$MF" materialize 2020-01-01T00:00:00Z 2030-01-01T00:00:00Z -v v1; }

engine 'show(host.run("echo", 0, "two words", 1736121600000000, 1.5, tasks[1]["end"], ""))' \
    'show(host.run("echo", "3"))'
mat
expect_rc "host.run of a configured command" 0
check "  ... exit code 0 and its stdout; arguments as given (numbers exact, spaces kept, no shell)" \
    has_line "$ERR" "result|0|[0][two words][1736121600000000][1.5][1893456000000000][]"
check "  ... the repo folder as working directory, stdin /dev/null" \
    sh -c 'printf "%s\n" "$1" | grep -qxF "cwd=$2" && printf "%s\n" "$1" | grep -qxF "stdin=/dev/null"' - "$ERR" "$WORK/cmd"
check "  ... exit code 3 is returned as such" has_line "$ERR" "result|3|[3]"
check "  ... its stderr passed through, not captured" \
    sh -c 'printf "%s\n" "$1" | grep -qxF "echo.sh writes this to stderr" && ! printf "%s\n" "$1" | grep -q "|.*echo.sh writes"' - "$ERR"
in_repo cmd "$MF" feature-views describe v1
check "  ... the task reported done records its interval" has "$OUT" '"end": "2030-01-01T00:00:00Z"'

engine 'host.run("nope", 1)'
mat
expect_err "host.run of an unknown name is an error naming it and the configured ones" 1 \
    "host.run: no command 'nope' in batch_engine.commands of feature_store.yaml (configured: echo, sleeper, fds)"
check "  ... at the engine's line" has "$ERR" "engine.lua:4: host.run: no command 'nope'"
engine 'host.run("echo", "0", { 1 })'
mat
expect_err "host.run with a table argument is an error naming its position" 1 \
    "host.run: argument 3 must be a string or a number, got table"
engine 'host.run(print)'
mat
expect_err "host.run without a name is an error" 1 "host.run: argument 1 must be the name of a command"

# started with SIGCHLD ignored (inherited from a supervisor or a shell),
# which would let the kernel reap host.run's child before its status is
# read: the CLI puts SIGCHLD back to its default (it said "timed out" after
# command_timeout_seconds, for a command that had ended at once)
engine 'show(host.run("echo", "0"))'
in_repo cmd perl -e '$SIG{CHLD} = "IGNORE"; exec @ARGV or die "exec: $!"' "$MF" materialize \
    2020-01-01T00:00:00Z 2030-01-01T00:00:00Z -v v1
expect_rc "host.run from a moonfeast started with SIGCHLD ignored" 0
check "  ... returns the exit code and the output" has_line "$ERR" "result|0|[0]"

engine 'show(host.run("sleeper", "sleep"))'
t0=$(date +%s)
mat
t1=$(date +%s)
expect_rc "a command running past command_timeout_seconds" 0
check "  ... returns nil and the timeout" has_line "$ERR" "result|nil|timed out after 1 s (batch_engine.command_timeout_seconds)"
check "  ... soon (1 s, not the 29.5 s it sleeps): $((t1 - t0)) s" test $((t1 - t0)) -le 6
check "  ... and what it started is killed too" sh -c '! ps -eo args | grep -qx "sleep 29.5"'

engine 'show(host.run("sleeper", "kill"))'
mat
check "a command killed by a signal: nil and the signal" has_line "$ERR" "result|nil|killed by signal 9"
engine 'local c, o = host.run("sleeper", "fit") show(c, #o, o:sub(1, 3))' \
    'show(host.run("sleeper", "big"))'
mat
check "1 MiB of output is taken whole" has_line "$ERR" "result|0|1048576|xxx"
check "  ... one byte more kills the command: nil and why" \
    has_line "$ERR" "result|nil|its standard output passed 1048576 bytes (1 MiB), so it was killed"

# descriptor 7, open in moonfeast (inherited from this shell), and the
# online store's must not reach the child: it has 0, 1, 2 and the one ls
# opens to list them
engine 'local c, o = host.run("fds") print(o)'
in_repo cmd sh -c "exec '$MF' materialize 2020-01-01T00:00:00Z 2030-01-01T00:00:00Z -v v1 7</dev/null"
parent=$(printf '%s\n' "$ERR" | sed -n 's/^parent: //p')
child=$(printf '%s\n' "$ERR" | sed -n 's/^child: //p')
check "the child inherits no descriptor of moonfeast's (moonfeast: $parent)" \
    sh -c 'case " $1 " in *" 7 "*) ;; *) exit 1 ;; esac' - "$parent"
check "  ... it has 0 1 2 and its own listing's only: $child" \
    sh -c 'set -- $1; [ "$1 $2 $3" = "0 1 2" ] && [ $# -le 4 ] && [ "${4:-3}" = 3 ]' - "$child"

# time in host.run and host.materialize does not count against the Lua
# deadline (300 ms here): 1.2 s of naps, two materializations of 0.4 s
# each, then enough Lua for the budget's hook to look at the clock
cat >>cmd/feature_store.yaml <<'EOF'
lua:
  transform_timeout_ms: 300
  transform_max_instructions: 1000000000000
EOF
engine 'show(host.run("sleeper", "nap"))' 'show(host.run("sleeper", "nap"))' \
    'for i = 1, #tasks do show(host.materialize(tasks[i])) end' \
    'local x = 0 for i = 1, 50000 do x = x + i end show(x)'
in_repo cmd env MF_TEST_PAUSE=materialize=400 "$MF" materialize 2020-01-01T00:00:00Z 2030-01-01T00:00:00Z -v v1 -v v2
expect_rc "waiting in host.run and host.materialize does not spend the Lua time budget" 0
check "  ... both ran" sh -c '[ "$(printf "%s\n" "$1" | grep -cxF "result|0|rested")" -eq 2 ] && [ "$(printf "%s\n" "$1" | grep -cxF "result|true")" -eq 2 ]' - "$ERR"
engine 'local x = 0 while true do x = x + 1 end'
mat
expect_err "  ... while Lua itself is still held to it" 1 "stopped after 300 ms"

# ---- configuration ----------------------------------------------------------
cp cmd/feature_store.yaml cmd/good.yaml
cfg_case() { # NAME WANT-SUBSTRING YAML-LINES...: a batch_engine section, checked at load
    name=$1
    want=$2
    shift 2
    printf 'project: le\nregistry: data/registry.db\n' >cmd/feature_store.yaml
    for l in "$@"; do printf '%s\n' "$l" >>cmd/feature_store.yaml; done
    in_repo cmd "$MF" feature-views list
    expect_err "$name" 1 "$want"
}
cfg_case "a command whose program is missing: a config error naming the key and line" \
    "key 'batch_engine.commands.submit' in feature_store.yaml at line 7: the program '$WORK/cmd/bin/nothere.sh' cannot be run: No such file or directory" \
    'batch_engine:' '  type: lua' '  module: engine.lua' '  commands:' '    submit: bin/nothere.sh'
printf '#!/bin/sh\necho hi\n' >cmd/bin/plain.sh
chmod 644 cmd/bin/plain.sh
cfg_case "a command whose program is not executable" \
    "key 'batch_engine.commands.plain' in feature_store.yaml at line 8: the program '$WORK/cmd/bin/plain.sh' cannot be run: not executable" \
    'batch_engine:' '  type: lua' '  module: engine.lua' '  commands:' '    echo: bin/echo.sh' '    plain: bin/plain.sh'
cfg_case "a command that is a folder" "the program '$WORK/cmd/bin' cannot be run: not a regular file" \
    'batch_engine: {type: lua, module: engine.lua, commands: {b: bin}}'
cfg_case "commands under the local engine" \
    "unknown key 'batch_engine.commands' for batch engine type 'local' in feature_store.yaml at line 4" \
    'batch_engine:' '  commands: {echo: bin/echo.sh}'
cfg_case "command_timeout_seconds under the local engine" \
    "unknown key 'batch_engine.command_timeout_seconds' for batch engine type 'local'" \
    'batch_engine: {type: local, command_timeout_seconds: 5}'
cfg_case "command_timeout_seconds 0" \
    "key 'batch_engine.command_timeout_seconds' in feature_store.yaml at line 3: must be between 1 and 604800, got 0" \
    'batch_engine: {type: lua, module: engine.lua, command_timeout_seconds: 0}'
cfg_case "commands as a list" "expected a mapping of names to programs" \
    'batch_engine: {type: lua, module: engine.lua, commands: [bin/echo.sh]}'
cfg_case "a command name with a space" "invalid command name 'a b' in batch_engine.commands" \
    'batch_engine: {type: lua, module: engine.lua, commands: {"a b": bin/echo.sh}}'
cfg_case "a command named twice" "duplicate key 'batch_engine.commands.e'" \
    'batch_engine: {type: lua, module: engine.lua, commands: {e: bin/echo.sh, e: bin/fds.sh}}'
cp cmd/good.yaml cmd/feature_store.yaml

# ---- examples/lua_engine: its README, command by command --------------------
# Each "$ " line of the README's console blocks runs in one shell, in order
# (the yaml block is appended to feature_store.yaml where it stands, with
# this checkout's path); the output must be the README's text.
mkdir readme && cd readme || exit 1
awk -v ex="$EXAMPLE" '
    function q(s) { return index(s, "\047") ? "\"a quote in a README command\"" : "\047" s "\047" }
    /^```yaml$/ { yaml = 1; print "cat >>feature_store.yaml <<\047EOF_YAML\047"; next }
    yaml && /^```$/ { yaml = 0; print "EOF_YAML"; next }
    yaml { gsub("/path/to/examples/lua_engine", ex); print; next }
    /^```$/ { con = !con; next }
    con && /^\$ / { print "printf \"%s\\n\" " q($0); print substr($0, 3) " || echo \"(exit $?)\""; next }
' "$EXAMPLE/README.md" >script.sh
awk '/^```yaml$/ { yaml = 1; next } yaml && /^```$/ { yaml = 0; next } yaml { next }
     /^```$/ { con = !con; next } con' "$EXAMPLE/README.md" >want.txt
run sh -c 'moonfeast() { "$MF_BIN" "$@"; }; . ./script.sh'
printf '%s\n' "$OUT" >got.txt
if [ "$(grep -c '^\$ ' want.txt)" -lt 6 ]; then
    not_ok "examples/lua_engine/README.md: its transcript" "fewer commands than expected: $(cat want.txt)"
elif diff -u want.txt got.txt >diff.txt; then
    ok "examples/lua_engine/README.md: every command gives the output shown"
else
    not_ok "examples/lua_engine/README.md: every command gives the output shown" "$(head -30 diff.txt)" "stderr: $ERR"
fi
cd ..
