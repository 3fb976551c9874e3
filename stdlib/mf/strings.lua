-- mf.strings — text helpers for on-demand transforms (the stdlib's text
-- module).
--   local s = require "mf.strings"
--
-- Rules as in every stdlib module (docs/definitions.md, "Standard
-- library"): a nil text (a null feature) gives nil; misuse raises
-- "mf.strings.FN: ARG must be ..." at the caller's line, settings (sep,
-- prefix, n) checked before the data.
-- Text is bytes: lower case and white space are ASCII's (LuaJIT's
-- string.lower and the %s class are locale-independent), so UTF-8 text
-- passes through unchanged but for its ASCII letters and spaces.
-- The hash is FNV-1a 32-bit over the bytes (the exact algorithm is in
-- docs/definitions.md), computed with `bit` in 32-bit arithmetic.
-- The module returns a local table and sets no globals.

local M = {}

local type, tostring, error = type, tostring, error
local find, match, sub, gsub, byte, lower, format =
    string.find, string.match, string.sub, string.gsub, string.byte, string.lower, string.format
local floor = math.floor
local bxor, lshift, tobit = bit.bxor, bit.lshift, bit.tobit

-- A misused argument: raise `text` at the line that called M[fn].
local function misuse(fn, text)
    error("mf.strings." .. fn .. ": " .. text, 3)
end

-- A value for an error message: numbers as text, strings quoted (cut at 40
-- bytes), else the type.
local function got(v)
    if type(v) == "number" then return tostring(v) end
    if type(v) == "string" then return #v > 40 and format("%q...", sub(v, 1, 40)) or format("%q", v) end
    return type(v)
end

---------------------------------------------------------------------------
-- Splitting and affixes
---------------------------------------------------------------------------

-- split(s, sep): list of the pieces of s between plain-text separators.
function M.split(s, sep)
    if type(sep) ~= "string" or sep == "" then
        misuse("split", "sep must be a non-empty string, got " .. got(sep))
    end
    if s == nil then return nil end
    if type(s) ~= "string" then misuse("split", "s must be a string, got " .. type(s)) end
    local out, pos = {}, 1
    while true do
        local a, b = find(s, sep, pos, true)
        if not a then
            out[#out + 1] = sub(s, pos)
            return out
        end
        out[#out + 1] = sub(s, pos, a - 1)
        pos = b + 1
    end
end

-- starts_with(s, prefix): true when s begins with prefix.
function M.starts_with(s, prefix)
    if type(prefix) ~= "string" then misuse("starts_with", "prefix must be a string, got " .. type(prefix)) end
    if s == nil then return nil end
    if type(s) ~= "string" then misuse("starts_with", "s must be a string, got " .. type(s)) end
    return sub(s, 1, #prefix) == prefix
end

-- ends_with(s, suffix): true when s ends with suffix (always for "").
function M.ends_with(s, suffix)
    if type(suffix) ~= "string" then misuse("ends_with", "suffix must be a string, got " .. type(suffix)) end
    if s == nil then return nil end
    if type(s) ~= "string" then misuse("ends_with", "s must be a string, got " .. type(s)) end
    return suffix == "" or sub(s, -#suffix) == suffix
end

---------------------------------------------------------------------------
-- Case and white space
---------------------------------------------------------------------------

-- trim(s): s without leading and trailing ASCII white space (space, \t, \n,
-- \v, \f, \r). Linear in #s: the first non-space by find, the last by the
-- greedy ".*%S" backing off from the end.
function M.trim(s)
    if s == nil then return nil end
    if type(s) ~= "string" then misuse("trim", "s must be a string, got " .. type(s)) end
    local a = find(s, "%S")
    if not a then return "" end
    return (match(s, "^.*%S", a))
end

-- lower(s): s with the ASCII letters A-Z in lower case; other bytes as they
-- are (so UTF-8 stays valid and "É" stays "É").
function M.lower(s)
    if s == nil then return nil end
    if type(s) ~= "string" then misuse("lower", "s must be a string, got " .. type(s)) end
    return lower(s)
end

-- normalize(s): lower(s) with every run of ASCII white space made one space,
-- and none at the ends: "  Hello \t World " -> "hello world".
function M.normalize(s)
    if s == nil then return nil end
    if type(s) ~= "string" then misuse("normalize", "s must be a string, got " .. type(s)) end
    local t = gsub(lower(s), "%s+", " ")
    if byte(t, 1) == 32 then t = sub(t, 2) end
    if byte(t, -1) == 32 then t = sub(t, 1, -2) end
    return t
end

---------------------------------------------------------------------------
-- Hashing
---------------------------------------------------------------------------

local FNV_OFFSET = tobit(0x811c9dc5) -- 2166136261, as a signed 32-bit number

-- FNV-1a 32-bit of the bytes of s, 0 .. 2^32-1. h * 16777619 mod 2^32 is
-- h * 403 + (h << 24) (16777619 = 2^24 + 403), which stays below 2^53, so
-- doubles hold it exactly and tobit wraps it to 32 bits.
local function fnv1a32(s)
    local h = FNV_OFFSET
    for i = 1, #s do
        h = bxor(h, byte(s, i))
        h = tobit(h * 403 + lshift(h, 24))
    end
    if h < 0 then h = h + 4294967296 end
    return h
end

-- fnv1a32(s): the FNV-1a 32-bit hash of s's bytes, 0 .. 4294967295.
function M.fnv1a32(s)
    if s == nil then return nil end
    if type(s) ~= "string" then misuse("fnv1a32", "s must be a string, got " .. type(s)) end
    return fnv1a32(s)
end

-- hash_bucket(s, n): fnv1a32(s) % n, a bucket 0 .. n-1 (n: 1 .. 2^32).
function M.hash_bucket(s, n)
    if type(n) ~= "number" or not (n >= 1 and n <= 4294967296) or floor(n) ~= n then
        misuse("hash_bucket", "n must be a whole number from 1 to 2^32, got " .. got(n))
    end
    if s == nil then return nil end
    if type(s) ~= "string" then misuse("hash_bucket", "s must be a string, got " .. type(s)) end
    return fnv1a32(s) % n
end

return M
