# lua_provider.sh — a provider written in Lua: its hooks run around apply,
# teardown, materialize (per view) and online reads, in that order, with
# their arguments (examples/lua_provider/provider.lua logs every call); a
# materialize hook that returns true replaces the built-in work for its
# view (no rows written, the interval recorded); a hook that raises fails
# its call, naming the module, the hook and the line, and a before_ hook
# that raises stops the built-in work; a hook that is not a function is
# refused.
. "$(dirname "$0")/lib.sh"

PROVIDER=$(cd "$E2E_DIR/../../examples/lua_provider" && pwd)/provider.lua

run "$MF" init repo
cd repo || exit 1
sed -i "s|^provider: local|provider: {type: lua, module: $PROVIDER}|" feature_store.yaml
run "$MF" apply
expect_rc "apply with a Lua provider" 0
log=$(printf '%s\n' "$ERR" | grep '^provider\[' | cut -f2- | tr '\t' ' ')
check "apply: before_apply, then after_apply with the new version" \
    test "$log" = "$(printf 'before_apply repo\nafter_apply repo version 1')"
run "$MF" materialize 2025-01-01T00:00:00Z 2025-01-06T00:00:00Z -v driver_hourly_stats --jobs 1
log=$(printf '%s\n' "$ERR" | grep '^provider\[' | cut -f2- | tr '\t' ' ')
check "materialize: the view's hook, the built-in work, after_materialize with its counts" \
    test "$log" = "$(printf 'materialize repo driver_hourly_stats\nafter_materialize repo driver_hourly_stats read 4800 written 10')"
run "$MF" get-online-features -e driver_id=1001 -e driver_id=1002 -f driver_hourly_stats:conv_rate
log=$(printf '%s\n' "$ERR" | grep '^provider\[' | cut -f2- | tr '\t' ' ')
check "online read: before (2 rows) and after (2 rows, 2 columns)" \
    test "$log" = "$(printf 'before_online_read repo rows 2\nafter_online_read repo rows 2 columns 2')"
check "  ... the read itself as without a provider" sh -c 'printf "%s" "$1" | grep -q "\"values\":\[1001,1002\]"' - "$OUT"
run "$MF" teardown
log=$(printf '%s\n' "$ERR" | grep '^provider\[' | cut -f2- | tr '\t' ' ')
check "teardown: before and after" test "$log" = "$(printf 'before_teardown repo\nafter_teardown repo')"

# a hook that replaces the built-in materialization of one view
cat >mine.lua <<'EOF'
return {
  materialize = function(project, view, start, finish)
    if view == "driver_hourly_stats" then
      print("mine: " .. view .. " handled elsewhere")
      return true
    end
  end,
}
EOF
sed -i "s|^provider: .*|provider: {type: lua, module: mine.lua}|" feature_store.yaml
run "$MF" apply
run "$MF" materialize 2025-01-01T00:00:00Z 2025-01-06T00:00:00Z --jobs 1
expect_rc "materialize with a replacing hook" 0
check "  ... the hook ran" sh -c 'printf "%s" "$1" | grep -q "mine: driver_hourly_stats handled elsewhere"' - "$ERR"
run "$MF" get-online-features -e driver_id=1001 -f driver_hourly_stats:conv_rate -f driver_hourly_stats_fresh:conv_rate --full-feature-names
check "  ... its view got no rows, the other view did" \
    sh -c 'printf "%s" "$1" | grep -q "\"statuses\":\[\"NOT_FOUND\"\].*\"statuses\":\[\"OUTSIDE_MAX_AGE\"\]"' - "$OUT"
run "$MF" feature-views describe driver_hourly_stats
check "  ... and its interval is recorded" sh -c 'printf "%s" "$1" | grep -q '"'"'"end"'"'"'' - "$OUT"

# a materialize hook's answer must be true, false or nil: a number (or a
# string, a table) is an error, not a silent "replaced" that writes
# nothing and records the interval; false runs the built-in work
printf 'return { materialize = function(p, view) return 1 end }\n' >mine.lua
run "$MF" materialize 2025-01-01T00:00:00Z 2025-01-09T00:00:00Z -v driver_hourly_stats_fresh --jobs 1
expect_err "a materialize hook that returns a number fails the view" 1 "mine.lua), materialize: must return true, false or nil, got number"
run "$MF" feature-views describe driver_hourly_stats_fresh
check "  ... and its interval is not recorded" sh -c '! printf "%s" "$1" | grep -q "2025-01-09"' - "$OUT"
printf 'return { materialize = function(p, view) return { done = true } end }\n' >mine.lua
run "$MF" materialize 2025-01-01T00:00:00Z 2025-01-09T00:00:00Z -v driver_hourly_stats_fresh --jobs 1
expect_err "  ... a table too" 1 "materialize: must return true, false or nil, got table"
printf 'return { materialize = function(p, view) return false end }\n' >mine.lua
run "$MF" materialize 2025-01-01T00:00:00Z 2025-01-09T00:00:00Z -v driver_hourly_stats_fresh --jobs 1
expect_rc "a materialize hook that returns false: the built-in work runs" 0
run "$MF" feature-views describe driver_hourly_stats_fresh
check "  ... and its interval is recorded" sh -c 'printf "%s" "$1" | grep -q "2025-01-09"' - "$OUT"

# hooks that raise; a hook that is not a function
printf 'return { before_apply = function(p)\n  error("not today")\nend }\n' >mine.lua
printf '\nentity { name = "late_entity", join_keys = { "late_id" } }\n' >>driver_repo.lua
run "$MF" apply
expect_err "a before_apply hook that raises fails apply" 1 "mine.lua), before_apply: "
check "  ... with Lua's file:line and message" sh -c 'printf "%s" "$1" | grep -q "mine.lua:2: not today"' - "$ERR"
run "$MF" entities list
check "  ... and nothing is applied" sh -c '! printf "%s" "$1" | grep -q late_entity' - "$OUT"
printf 'return { after_online_read = function() error("after") end }\n' >mine.lua
run "$MF" get-online-features -e driver_id=1001 -f driver_hourly_stats:conv_rate
expect_err "an after_online_read hook that raises fails the read" 1 "mine.lua:1: after"
printf 'return { before_apply = 7 }\n' >mine.lua
run "$MF" get-online-features -e driver_id=1001 -f driver_hourly_stats:conv_rate
expect_err "a hook that is not a function" 1 "'before_apply' must be a function, got number"
printf 'return 7\n' >mine.lua
run "$MF" get-online-features -e driver_id=1001 -f driver_hourly_stats:conv_rate
expect_err "a module that returns no table" 1 "must return a table"
# the provider's memory cap is lua.max_memory_mb (its instructions and time
# are the transform budget's), and the message names that key
cat >mine.lua <<'EOT'
local s = "x"
for _ = 1, 12 do s = s .. s end
local keep, i = nil, 0
while true do i = i + 1 keep = { keep, s .. i } end
EOT
cp feature_store.yaml yaml.keep
printf 'lua: {max_memory_mb: 4}\n' >>feature_store.yaml
run "$MF" get-online-features -e driver_id=1001 -f driver_hourly_stats:conv_rate
expect_err "a module over its memory cap names lua.max_memory_mb" 1 "its Lua memory would exceed 4 MiB (the limit is lua.max_memory_mb in feature_store.yaml)"
cp yaml.keep feature_store.yaml
sed -i "s|^provider: .*|provider: {type: lua}|" feature_store.yaml
run "$MF" plan
expect_err "a Lua provider without a module" 1 "missing required key 'provider.module'"
