-- mf.math — numeric helpers for on-demand transforms.
--   local m = require "mf.math"
-- Every function returns nil when an argument is nil (a null feature), so
-- transforms propagate nulls without special cases.

local M = {}

local floor, huge = math.floor, math.huge

-- clamp(x, lo, hi): x limited to [lo, hi].
function M.clamp(x, lo, hi)
    if x == nil then return nil end
    if lo > hi then error("clamp: lo > hi", 2) end
    if x < lo then return lo end
    if x > hi then return hi end
    return x
end

-- round(x, digits): half away from zero, to `digits` decimals (default 0).
function M.round(x, digits)
    if x == nil then return nil end
    local m = 10 ^ (digits or 0)
    if x >= 0 then return floor(x * m + 0.5) / m end
    return -floor(-x * m + 0.5) / m
end

-- safe_div(a, b, default): a / b, or `default` (nil) when b is 0 or nil.
function M.safe_div(a, b, default)
    if a == nil or b == nil or b == 0 then return default end
    return a / b
end

-- is_finite(x): false for nil, NaN and infinities.
function M.is_finite(x)
    return type(x) == "number" and x == x and x ~= huge and x ~= -huge
end

-- mean(list): arithmetic mean of the non-nil numbers of a list; nil if none.
function M.mean(list)
    if list == nil then return nil end
    local s, n = 0, 0
    for i = 1, #list do
        local v = list[i]
        if v ~= nil then s, n = s + v, n + 1 end
    end
    if n == 0 then return nil end
    return s / n
end

return M
