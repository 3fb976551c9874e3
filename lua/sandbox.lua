-- sandbox.lua — environments for user Lua code (module "moonfeast.sandbox").
--
-- Definition files, on-demand transforms and stdlib modules run with an
-- environment made here: a copy of the safe parts of the standard library
-- and a `require` that only finds moonfeast's stdlib/ modules. Not present:
-- io, os.execute and the rest of os but time/clock/date, load, loadstring,
-- loadfile, dofile, getfenv/setfenv, debug, package, ffi, jit, coroutine,
-- collectgarbage, string.dump.
--
-- What else keeps user code in its box:
--   * only source text is ever compiled (hooks.load_text, a C loader that
--     refuses bytecode: LuaJIT does not verify bytecode);
--   * reading an undefined global is an error naming it, with the closest
--     known names ("did you mean ...");
--   * the metatable shared by all strings is hidden (getmetatable("") is
--     false) and indexes a private copy of the string library, so user code
--     cannot replace string.match under the DSL's validation;
--   * string.find, match, gmatch and gsub are runtime/lua_strlib.c's, which
--     charge their work to the budget: a backtracking pattern cannot hang
--     the thread inside C, where the count hook never runs;
--   * pcall and xpcall cannot swallow a budget error (instructions, time,
--     memory: runtime/lua_host.c): once the budget is spent, every
--     protected call re-raises.
-- The module returns a local table and sets no globals.

local M = {}

local pairs, ipairs, type, error, setfenv, tostring, select, rawget, getinfo, getlocal,
    getupvalue = pairs, ipairs, type, error, setfenv, tostring, select, rawget,
    debug.getinfo, debug.getlocal, debug.getupvalue
local setmetatable, pcall, xpcall, unpack, rawset = setmetatable, pcall, xpcall, unpack, rawset
local sort, concat = table.sort, table.concat
local lower, sub, byte = string.lower, string.sub, string.byte
local min = math.min

local function copy(t)
    local c = {}
    for k, v in pairs(t) do c[k] = v end
    return c
end

-- The string library user code gets: without dump, with the budgeted
-- pattern functions.
local function string_lib(patterns)
    local s = copy(string)
    s.dump = nil
    for k, f in pairs(patterns) do s[k] = f end
    return s
end

-- Hide the metatable every string shares and point its __index at a copy
-- of the string library that user code cannot reach. Idempotent per state.
local function protect_strings(patterns)
    local mt = debug.getmetatable("")
    if rawget(mt, "__metatable") == nil then
        mt.__index = string_lib(patterns)
        mt.__metatable = false
    end
end

local SAFE = { "assert", "error", "ipairs", "next", "pairs", "rawequal",
    "rawget", "rawset", "select", "setmetatable", "getmetatable", "tonumber",
    "tostring", "type", "unpack" }

---------------------------------------------------------------------------
-- os.time and os.date with their numbers checked
---------------------------------------------------------------------------

-- LuaJIT casts these numbers to C integers unchecked (undefined for values
-- out of range, and garbage in practice): out of range is an error here.
local os_time, os_date = os.time, os.date
local TIME_FIELDS = { "year", "month", "day", "hour", "min", "sec" }

-- The table's own fields (rawget: no metamethod runs, so this calls no
-- user code and is left to the JIT) are copied into a plain table that
-- os.time reads: it never sees a value other than the one checked.
local function safe_time(t)
    if t == nil then return os_time() end
    if type(t) ~= "table" then error("os.time takes a table or nothing", 2) end
    local c = { isdst = rawget(t, "isdst") }
    for _, k in ipairs(TIME_FIELDS) do
        local v = rawget(t, k)
        if v ~= nil and (type(v) ~= "number" or v ~= v or v < -2147483648
                         or v > 2147483647) then
            error("os.time: field '" .. k .. "' must be a number in the 32-bit range", 2)
        end
        c[k] = v
    end
    return os_time(c)
end

local function safe_date(fmt, t)
    if t ~= nil and (type(t) ~= "number" or t ~= t or t < -2^53 or t > 2^53) then
        error("os.date: the time must be a number of seconds within +-2^53", 2)
    end
    return os_date(fmt, t)
end

---------------------------------------------------------------------------
-- "did you mean": names close to a misspelt one
---------------------------------------------------------------------------

-- Edit distance (insert, delete, substitute), capped: returns at most cap+1.
local function distance(a, b, cap)
    local la, lb = #a, #b
    if la - lb > cap or lb - la > cap then return cap + 1 end
    local prev, cur = {}, {}
    for j = 0, lb do prev[j] = j end
    for i = 1, la do
        cur[0] = i
        local ca, best = byte(a, i), i
        for j = 1, lb do
            local d = prev[j - 1] + (ca == byte(b, j) and 0 or 1)
            local ins, del = cur[j - 1] + 1, prev[j] + 1
            if ins < d then d = ins end
            if del < d then d = del end
            cur[j] = d
            if d < best then best = d end
        end
        if best > cap then return cap + 1 end
        prev, cur = cur, prev
    end
    return prev[lb]
end

-- Up to three of `names` close to `name`: within an edit distance of a
-- third of its length (at least 1), ignoring case, or starting with it
-- (Float -> Float32, Float64). Closest first. None for a name longer than
-- 64 bytes (the distance costs the product of the two lengths).
local function suggest(name, names)
    if #name > 64 then return "" end
    local ln = lower(name)
    local cap = #name >= 3 and math.floor(#name / 3) or 1
    if cap < 1 then cap = 1 end
    local hits, seen = {}, {}
    for _, n in pairs(names) do
        if type(n) == "string" and n ~= name and not seen[n] and sub(n, 1, 1) ~= "_" then
            local ll = lower(n)
            local d = distance(ln, ll, cap)
            if d > cap and #name >= 3 and sub(ll, 1, #ln) == ln then d = cap end
            if d <= cap then
                seen[n] = true
                hits[#hits + 1] = { n = n, d = d }
            end
        end
    end
    sort(hits, function(x, y)
        if x.d ~= y.d then return x.d < y.d end
        return x.n < y.n
    end)
    local out = {}
    for i = 1, min(3, #hits) do out[i] = "'" .. hits[i].n .. "'" end
    if #out == 0 then return "" end
    if #out == 1 then return " (did you mean " .. out[1] .. "?)" end
    return " (did you mean " .. concat(out, ", ", 1, #out - 1) .. " or "
        .. out[#out] .. "?)"
end

-- Names visible at stack level `level`: its locals and upvalues.
local function visible_names(level, into)
    local info = getinfo(level + 1, "f")
    if not info then return end
    for i = 1, 200 do
        local n = getlocal(level + 1, i)
        if not n then break end
        into[#into + 1] = n
    end
    for i = 1, 200 do
        local n = getupvalue(info.func, i)
        if not n then break end
        into[#into + 1] = n
    end
end

local HIDDEN = { io = "io", os = "os", debug = "debug", package = "package",
    ffi = "ffi", jit = "jit", load = "load", loadstring = "loadstring",
    loadfile = "loadfile", dofile = "dofile", getfenv = "getfenv",
    setfenv = "setfenv", collectgarbage = "collectgarbage",
    coroutine = "coroutine", module = "module", newproxy = "newproxy",
    gcinfo = "gcinfo" }

-- stdlib: module name -> source text; extra: globals added to every env
-- (the DSL's constructors, print); hooks: { load_text = f(src, chunkname)
-- -> fn | nil, err (source text only), exhausted = f() -> true once the
-- budget is spent, patterns = { find, match, gmatch, gsub } that charge
-- the budget }. Returns a function making a new env.
function M.new(stdlib, extra, hooks)
    local patterns = hooks.patterns
    protect_strings(patterns)
    local load_text, exhausted = hooks.load_text, hooks.exhausted
    local jit_bounded, jit_on = hooks.jit_bounded, hooks.jit_on
    local loaded = {}
    local make

    -- pcall/xpcall that pass a budget error on instead of returning it.
    local function pass_budget(ok, ...)
        if not ok and exhausted() then error((...), 0) end
        return ok, ...
    end
    local function safe_pcall(f, ...)
        return pass_budget(pcall(f, ...))
    end
    -- the handler does not run once the budget is spent (it would run
    -- again for its own error, and again)
    local function safe_xpcall(f, handler, ...)
        return pass_budget(xpcall(f, function(e)
            if exhausted() then return e end
            return handler(e)
        end, ...))
    end
    -- bounded by their length and calling no user code (no metamethod, no
    -- function given to them): left to the JIT (every chunk is loaded
    -- JIT-off, see lua_host.c's load_text). pcall and xpcall call what they
    -- are given, so they stay off: a compiled chain of calls back into
    -- them (through __call) would run past the count hook.
    jit_on(safe_time) -- its loop: over the six time fields
    jit_on(safe_date)

    local function require(name)
        if type(name) ~= "string" then
            error("require takes a module name", 2)
        end
        local v = loaded[name]
        if v ~= nil then return v end
        local src = stdlib[name]
        if not src then
            local names = {}
            for n in pairs(stdlib) do names[#names + 1] = n end
            sort(names)
            error("module '" .. name .. "' not found: require is limited to "
                  .. "moonfeast's stdlib (" .. concat(names, ", ") .. ")", 2)
        end
        local chunkname = "@stdlib/" .. name:gsub("%.", "/") .. ".lua"
        local chunk, err = load_text(src, chunkname)
        if not chunk then error(err, 2) end
        setfenv(chunk, make())
        v = chunk(name)
        jit_bounded(v, src, chunkname)
        if v == nil then v = true end
        loaded[name] = v
        return v
    end

    -- Reading a global that no one defined: an error at the reader's line.
    local function undefined(env, k)
        if type(k) ~= "string" then
            error("undefined global " .. tostring(k), 2)
        end
        local names = {}
        for n in pairs(env) do names[#names + 1] = n end
        visible_names(2, names)
        local why = ""
        if HIDDEN[k] then
            why = " (not available in the sandbox that user code runs in)"
        else
            why = suggest(k, names)
        end
        error("undefined global '" .. k .. "'" .. why, 2)
    end
    local STRICT = { __index = undefined, __metatable = false }

    make = function()
        local env = {}
        for _, k in pairs(SAFE) do env[k] = _G[k] end
        env.pcall, env.xpcall = safe_pcall, safe_xpcall
        env.string, env.table, env.math = string_lib(patterns), copy(table), copy(math)
        env.bit = copy(bit)
        env.os = { time = safe_time, clock = os.clock, date = safe_date,
                   difftime = os.difftime }
        env.require = require
        env._VERSION = _VERSION
        for k, v in pairs(extra or {}) do env[k] = v end
        env._G = env
        return setmetatable(env, STRICT)
    end
    return make
end

---------------------------------------------------------------------------
-- The environment of on-demand transforms
---------------------------------------------------------------------------

local frozen = setmetatable({}, { __mode = "k" }) -- read-only proxies

-- A read-only view of t: reads go to t, writes are errors.
local function readonly(t, what)
    local p = setmetatable({}, {
        __index = t,
        __newindex = function(_, k)
            error(what .. " cannot be changed (a transform tried to set '"
                  .. tostring(k) .. "')", 2)
        end,
        __metatable = false })
    frozen[p] = true
    return p
end

-- The environment transforms run in: the sandbox's (make is M.new's
-- result), read-only to the bottom, so that nothing one call does is seen
-- by the next: no global can be set, the library tables and the stdlib
-- modules `require` returns cannot be changed, and rawset refuses them.
-- `null` is the value that stands for null in a transform's outputs.
function M.transform_env(make, null, jit_on, transforms)
    local env = make()
    -- table.insert, table.remove and table.sort write raw, past __newindex:
    -- they refuse the read-only tables as rawset does
    local tbl = env.table
    for _, name in ipairs({ "insert", "remove", "sort" }) do
        local f = tbl[name]
        tbl[name] = function(t, ...)
            if frozen[t] then error("a read-only table cannot be changed", 2) end
            return f(t, ...)
        end
    end
    -- a seed set by one call would decide the next calls' random numbers
    -- (modules keep state by design: they may seed)
    if transforms then
        env.math.randomseed = function()
            error("math.randomseed is not available in a transform (one call's seed would "
                  .. "decide the random numbers of the next)", 2)
        end
    end
    for _, k in ipairs({ "string", "table", "math", "bit", "os" }) do
        env[k] = readonly(env[k], k)
    end
    local req, modules = env.require, {}
    env.require = function(name)
        local m = modules[name]
        if m == nil then
            local ok, v = pcall(req, name) -- its error, at the caller's line
            if not ok then error(v, 2) end
            m = v
            if type(m) == "table" then m = readonly(m, "module '" .. name .. "'") end
            modules[name] = m
        end
        return m
    end
    env.rawset = function(t, k, v)
        if frozen[t] then error("a read-only table cannot be changed", 2) end
        return rawset(t, k, v)
    end
    env.null = null
    -- called on every row, bounded by their length and calling no user
    -- code: left to the JIT (the first require of a module runs it,
    -- interpreted, as a call of req; sort calls its comparator: off)
    jit_on(env.require)
    jit_on(env.rawset)
    for _, name in ipairs({ "insert", "remove" }) do jit_on(tbl[name]) end
    local p = readonly(env, "the globals of a transform")
    env._G = p
    return p
end

M.suggest = suggest
return M
