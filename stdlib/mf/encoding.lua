-- mf.encoding — categorical values as numbers, for on-demand transforms.
--   local e = require "mf.encoding"
--
-- A vocabulary is a non-empty list of strings, numbers or booleans (not
-- NaN); a value matches an entry when value == entry (no conversion: 1 and
-- "1" differ; 1 and 1.0 match), and a value listed twice counts at its
-- first position. A value not in the vocabulary (NaN included) is unknown.
-- Rules as in every stdlib module (docs/definitions.md, "Standard
-- library"): a nil value (a null feature) gives nil; misuse raises
-- "mf.encoding.FN: ARG must be ..." at the caller's line, the vocabulary
-- and names checked at every call, before the value.
-- These functions loop over the vocabulary (n comparisons a call).
-- The module returns a local table and sets no globals.

local M = {}

local type, tostring, error = type, tostring, error
-- the last index of a list that may have holes (# is any border there)
local maxn = table.maxn

-- A misused argument: raise `text` at `level` (3: the line that called the
-- function calling misuse).
local function misuse(fn, text, level)
    error("mf.encoding." .. fn .. ": " .. text, level)
end

-- A value for an error message: numbers as text, else the type.
local function got(v)
    if type(v) == "number" then return tostring(v) end
    return type(v)
end

-- #vocab, after checking it is a non-empty list of valid entries; errors
-- name M[fn] and its caller's line.
local function vocab_len(fn, vocab)
    local n = type(vocab) == "table" and maxn(vocab) or 0
    if n == 0 then
        misuse(fn, "vocab must be a non-empty list, got "
               .. (type(vocab) == "table" and "an empty table" or got(vocab)), 4)
    end
    for i = 1, n do
        local v = vocab[i]
        local t = type(v)
        if not (t == "string" or t == "boolean" or (t == "number" and v == v)) then
            misuse(fn, "vocab[" .. i .. "] must be a string, number or boolean (not NaN), got " .. got(v), 4)
        end
    end
    return n
end

-- Checks a value (not nil) that is compared with the vocabulary.
local function check_value(fn, value)
    local t = type(value)
    if not (t == "string" or t == "number" or t == "boolean") then
        misuse(fn, "value must be a string, number or boolean, got " .. got(value), 4)
    end
end

-- one_hot(value, vocab, names): without names, a list as long as vocab with
-- 1 at the value's position and 0 elsewhere (all 0 for an unknown value).
-- With names (a list of distinct output names, one per vocab entry), a
-- table { [names[i]] = 0 or 1 } instead, to return from a transform or add
-- outputs to. A new table each call.
function M.one_hot(value, vocab, names)
    local n = vocab_len("one_hot", vocab)
    local out
    if names ~= nil then
        if type(names) ~= "table" or maxn(names) ~= n then
            misuse("one_hot", "names must be a list as long as vocab (" .. n .. "), got "
                   .. (type(names) == "table" and maxn(names) .. " entries" or got(names)), 3)
        end
        out = {}
        for i = 1, n do
            local k = names[i]
            if type(k) ~= "string" then
                misuse("one_hot", "names[" .. i .. "] must be a string, got " .. type(k), 3)
            end
            if out[k] ~= nil then
                local first = 1
                while names[first] ~= k do first = first + 1 end
                misuse("one_hot", "names[" .. i .. "] ('" .. k .. "') repeats names[" .. first .. "]", 3)
            end
            out[k] = 0
        end
    end
    if value == nil then return nil end
    check_value("one_hot", value)
    local at = 0
    for i = 1, n do
        if vocab[i] == value then
            at = i
            break
        end
    end
    if names ~= nil then
        if at > 0 then out[names[at]] = 1 end
        return out
    end
    out = {}
    for i = 1, n do out[i] = 0 end
    if at > 0 then out[at] = 1 end
    return out
end

-- ordinal(value, vocab, unknown): the value's position in vocab, 1 .. n;
-- `unknown` (a number, default 0) when it is not there.
function M.ordinal(value, vocab, unknown)
    local n = vocab_len("ordinal", vocab)
    if unknown == nil then
        unknown = 0
    elseif type(unknown) ~= "number" then
        misuse("ordinal", "unknown must be a number, got " .. got(unknown), 3)
    end
    if value == nil then return nil end
    check_value("ordinal", value)
    for i = 1, n do
        if vocab[i] == value then return i end
    end
    return unknown
end

return M
