# lua_memory_cap.sh — a Lua module that leaves its state just under the
# memory cap (lua: {max_memory_mb: 4}) when it loads: what moonfeast does
# with the state afterwards (a lua_source's request, the batch engine's
# tasks, a provider's hook lookups and arguments, the offline store's
# get_historical_features lookup) may run out
# of memory in moonfeast's own code, and that must be an error naming
# lua.max_memory_mb or a success, never LuaJIT's "PANIC: unprotected
# error" (which ends the process). Each case finds the string length at
# which the module no longer loads (bisection) and then tries the lengths
# just below it, where the module loads and what follows runs out.
. "$(dirname "$0")/lib.sh"

run "$MF" init repo
cd repo || exit 1
mkdir -p modules
printf 'lua: {max_memory_mb: 4}\n' >>feature_store.yaml
cp feature_store.yaml yaml.base
cat >>driver_repo.lua <<'EOF'

local lsrc = lua_source { name = "lsrc", module = "modules/src.lua", timestamp_field = "event_timestamp" }
feature_view { name = "lv", entities = { driver }, source = lsrc,
               schema = { field { name = "v", dtype = Int64 } } }
EOF
cat >modules/small_src.lua <<'EOF'
return { read = function(req)
  return { "driver_id", "event_timestamp", "v" }, { { 1001, "2025-01-02T00:00:00Z", 7 } }
end }
EOF
cp modules/small_src.lua modules/src.lua
run "$MF" apply
expect_rc "apply" 0

# mod FILE N: the module template FILE.tpl with N for the string's length
mod() { sed "s/@N@/$2/" "$1.tpl" >"$1"; }

# scan NAME FILE COMMAND...: every run with FILE's string near the cap
# either succeeds or fails with an error naming lua.max_memory_mb
scan() {
    name=$1
    file=$2
    shift 2
    bad=
    probe() { # N COMMAND...: sets RC, ERR; notes a bad run in $bad
        pn=$1
        shift
        mod "$file" "$pn"
        run "$@"
        if [ "$RC" -ne 0 ] && ! printf '%s' "$ERR" | grep -q 'lua.max_memory_mb' ||
            printf '%s' "$ERR" | grep -qE 'PANIC|AddressSanitizer|runtime error:'; then
            [ -n "$bad" ] || bad="length $pn: exit $RC: $ERR"
        fi
    }
    # the least length that does not load (lo loads, hi does not)
    lo=1800000
    hi=2400000
    while [ $((hi - lo)) -gt 128 ]; do
        mid=$(((lo + hi) / 2))
        probe "$mid" "$@"
        if printf '%s' "$ERR" | grep -q 'loading the module'; then hi=$mid; else lo=$mid; fi
    done
    # garbage collection makes the boundary ragged: what follows the
    # load runs out in windows (each some 600 bytes wide or more) up to a
    # few KiB below it
    n=$((hi - 6144))
    while [ "$n" -le $((hi + 512)) ]; do
        probe "$n" "$@"
        n=$((n + 256))
    done
    if [ -z "$bad" ]; then ok "$name"; else not_ok "$name" "$bad"; fi
}

# a lua_source's module: the request to read() is built after it loaded
cat >modules/src.lua.tpl <<'EOF'
local s = string.rep("x", @N@)
return { s = s, read = function(req)
  return { "driver_id", "event_timestamp", "v" }, { { 1001, "2025-01-02T00:00:00Z", 7 } }
end }
EOF
scan "a lua_source's module near the memory cap" modules/src.lua \
    "$MF" materialize 2025-01-01T00:00:00Z 2025-01-06T00:00:00Z -v lv
cp modules/small_src.lua modules/src.lua

# the batch engine's module: the tasks are built after it loaded
printf 'batch_engine: {type: lua, module: modules/e.lua}\n' >>feature_store.yaml
cat >modules/e.lua.tpl <<'EOF'
local s = string.rep("x", @N@)
return { s = s, run = function(t) local r = {} for i = 1, #t do r[i] = true end return r end }
EOF
scan "a batch engine's module near the memory cap" modules/e.lua \
    "$MF" materialize 2025-01-01T00:00:00Z 2025-01-06T00:00:00Z -v lv
cp yaml.base feature_store.yaml

# a provider's module: its hooks are looked up and their arguments pushed
# after it loaded
sed -i "s|^provider: local|provider: {type: lua, module: modules/p.lua}|" feature_store.yaml
cat >modules/p.lua.tpl <<'EOF'
local s = string.rep("x", @N@)
return { s = s, after_online_read = function() end }
EOF
scan "a provider's module near the memory cap" modules/p.lua \
    "$MF" get-online-features -e driver_id=1001 -f driver_hourly_stats:conv_rate
cp yaml.base feature_store.yaml

# the offline store's module, for historical retrieval: whether it answers
# (get_historical_features) is looked up after it loaded
sed -i '/^offline_store:/,/^  type:/d' feature_store.yaml
printf 'offline_store: {type: lua, module: modules/off.lua}\n' >>feature_store.yaml
cat >>driver_repo.lua <<'EOF'
local osrc = lua_source { name = "osrc", timestamp_field = "event_timestamp" }
feature_view { name = "ov", entities = { driver }, source = osrc,
               schema = { field { name = "v", dtype = Int64 } } }
EOF
cp modules/small_src.lua modules/off.lua
run "$MF" apply
expect_rc "apply with a Lua offline store" 0
printf 'driver_id,event_timestamp\n1001,2025-01-03T00:00:00Z\n' >e.csv
cat >modules/off.lua.tpl <<'EOF'
local s = string.rep("x", @N@)
return { s = s, read = function(req)
  return { "driver_id", "event_timestamp", "v" }, { { 1001, "2025-01-02T00:00:00Z", 7 } }
end }
EOF
scan "the offline store's module near the memory cap" modules/off.lua \
    "$MF" get-historical-features --entities e.csv -f ov:v
