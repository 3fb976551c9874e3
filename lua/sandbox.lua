-- sandbox.lua — environments for user Lua code (module "moonfeast.sandbox").
--
-- Definition files, on-demand transforms and stdlib modules run with an
-- environment made here: a copy of the safe parts of the standard library
-- and a `require` that only finds moonfeast's stdlib/ modules. Not present:
-- io, os.execute and the rest of os but time/clock/date, load, loadstring,
-- loadfile, dofile, getfenv/setfenv, debug, package, ffi, jit, collectgarbage.
-- The module returns a local table and sets no globals.

local M = {}

local pairs, type, error, setfenv, loadstring, tostring =
    pairs, type, error, setfenv, loadstring, tostring
local sort, concat = table.sort, table.concat

local function copy(t)
    local c = {}
    for k, v in pairs(t) do c[k] = v end
    return c
end

local SAFE = { "assert", "error", "ipairs", "next", "pairs", "pcall",
    "rawequal", "rawget", "rawset", "select", "setmetatable",
    "getmetatable", "tonumber", "tostring", "type", "unpack", "xpcall" }

-- stdlib: module name -> source text; extra: globals added to every env
-- (the DSL's constructors, print). Returns a function making a new env.
function M.new(stdlib, extra)
    local loaded = {}
    local make

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
        local chunk, err = loadstring(src, "@stdlib/" .. name:gsub("%.", "/") .. ".lua")
        if not chunk then error(err, 2) end
        setfenv(chunk, make())
        v = chunk(name)
        if v == nil then v = true end
        loaded[name] = v
        return v
    end

    make = function()
        local env = {}
        for _, k in pairs(SAFE) do env[k] = _G[k] end
        env.string, env.table, env.math = copy(string), copy(table), copy(math)
        env.bit = copy(bit)
        env.os = { time = os.time, clock = os.clock, date = os.date,
                   difftime = os.difftime }
        env.require = require
        env._VERSION = _VERSION
        for k, v in pairs(extra or {}) do env[k] = v end
        env._G = env
        return env
    end
    return make
end

return M
