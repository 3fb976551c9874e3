-- mf.strings — text helpers for on-demand transforms.
--   local s = require "mf.strings"
-- Functions return nil for a nil argument (a null feature).

local M = {}

local find, sub, gsub = string.find, string.sub, string.gsub

-- split(s, sep): list of the pieces of s between plain-text separators.
function M.split(s, sep)
    if s == nil then return nil end
    if sep == nil or sep == "" then error("split: empty separator", 2) end
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

-- trim(s): s without leading and trailing white space.
function M.trim(s)
    if s == nil then return nil end
    return (gsub(gsub(s, "^%s+", ""), "%s+$", ""))
end

function M.starts_with(s, prefix)
    if s == nil then return nil end
    return sub(s, 1, #prefix) == prefix
end

function M.ends_with(s, suffix)
    if s == nil then return nil end
    return suffix == "" or sub(s, -#suffix) == suffix
end

return M
