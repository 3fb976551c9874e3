-- mf.math — numeric helpers for on-demand transforms.
--   local m = require "mf.math"
--
-- The rules every stdlib module keeps (docs/definitions.md, "Standard
-- library"):
--   * a nil data argument (a null feature) gives nil, so transforms pass
--     nulls along without special cases;
--   * misuse (a wrong type, a zero std, unsorted boundaries) raises an error
--     "mf.math.FN: ARG must be ..., got VALUE" at the caller's line. Settings
--     (lo/hi, digits, boundaries) are checked before the data, so a mistake
--     shows on the first call even when the data is null;
--   * numbers follow IEEE arithmetic: NaN in, NaN out, infinities as usual;
--     a function that returns an index gives nil for NaN (NaN has no place).
-- Speed: transforms run JIT-compiled when they have no loops, so the
-- per-value functions have none; the library functions are locals, no
-- function makes a closure or joins strings except on its error path.
-- The module returns a local table and sets no globals.

local M = {}

local type, tostring, error = type, tostring, error
local floor, log, huge = math.floor, math.log, math.huge
-- the last index of a list that may have holes (# is any border there)
local maxn = table.maxn

-- A misused argument: raise `text` at the line that called M[fn].
local function misuse(fn, text)
    error("mf.math." .. fn .. ": " .. text, 3)
end

-- A value for an error message: numbers as text, else the type.
local function got(v)
    if type(v) == "number" then return tostring(v) end
    return type(v)
end

---------------------------------------------------------------------------
-- Per-value functions (loop-free)
---------------------------------------------------------------------------

-- clamp(x, lo, hi): x limited to [lo, hi] (lo <= hi; NaN passes through).
function M.clamp(x, lo, hi)
    if type(lo) ~= "number" or lo ~= lo then misuse("clamp", "lo must be a number, got " .. got(lo)) end
    if type(hi) ~= "number" or hi ~= hi then misuse("clamp", "hi must be a number, got " .. got(hi)) end
    if lo > hi then
        misuse("clamp", "lo (" .. got(lo) .. ") must not be greater than hi (" .. got(hi) .. ")")
    end
    if x == nil then return nil end
    if type(x) ~= "number" then misuse("clamp", "x must be a number, got " .. got(x)) end
    if x < lo then return lo end
    if x > hi then return hi end
    return x
end

-- round(x, digits): x * 10^digits rounded half away from zero, divided back
-- (digits: a whole number from -308 to 308, default 0). It rounds the
-- double x * 10^digits: 1.005 * 100 is 100.49999999999999, so
-- round(1.005, 2) is 1. When |x * 10^digits| >= 2^52 there is no
-- fraction left to round and x comes back as it is.
function M.round(x, digits)
    local p, neg = 1, false
    if digits ~= nil then
        if type(digits) ~= "number" or digits ~= floor(digits) or digits < -308 or digits > 308 then
            misuse("round", "digits must be a whole number from -308 to 308, got " .. got(digits))
        end
        if digits >= 0 then p = 10 ^ digits else p, neg = 10 ^ -digits, true end
    end
    if x == nil then return nil end
    if type(x) ~= "number" then misuse("round", "x must be a number, got " .. got(x)) end
    local y = neg and x / p or x * p
    if not (y > -4503599627370496 and y < 4503599627370496) then return x end -- 2^52, NaN, inf
    local a = y < 0 and -y or y
    local r = floor(a)
    if a - r >= 0.5 then r = r + 1 end
    if y < 0 then r = -r end
    return neg and r * p or r / p
end

-- safe_div(a, b, default): a / b, or `default` (nil when not given) when a or
-- b is nil or b is 0.
function M.safe_div(a, b, default)
    if a ~= nil and type(a) ~= "number" then misuse("safe_div", "a must be a number, got " .. got(a)) end
    if b ~= nil and type(b) ~= "number" then misuse("safe_div", "b must be a number, got " .. got(b)) end
    if a == nil or b == nil or b == 0 then return default end
    return a / b
end

-- is_finite(x): false for nil, non-numbers, NaN and infinities.
function M.is_finite(x)
    return type(x) == "number" and x == x and x ~= huge and x ~= -huge
end

-- log1p(x): log(1 + x), accurate for x near 0 (where 1 + x loses x's
-- digits). -1 gives -inf, below -1 NaN. The classic correction: with
-- u = 1 + x rounded, log(u) * x / (u - 1) cancels the rounding of u.
function M.log1p(x)
    if x == nil then return nil end
    if type(x) ~= "number" then misuse("log1p", "x must be a number, got " .. got(x)) end
    local u = 1 + x
    if u == 1 then return x end -- |x| below half an ulp of 1: log1p(x) is x (keeps -0)
    if u == huge then return log(u) end -- inf, and inf / inf below would be NaN
    return log(u) * (x / (u - 1))
end

-- zscore(x, mean, std): (x - mean) / std. mean and std may be features: nil
-- gives nil; a std that is not a positive finite number, or a mean that is
-- not finite, is an error.
function M.zscore(x, mean, std)
    if std ~= nil and (type(std) ~= "number" or not (std > 0 and std < huge)) then
        misuse("zscore", "std must be a positive finite number, got " .. got(std))
    end
    if mean ~= nil and (type(mean) ~= "number" or mean - mean ~= 0) then
        misuse("zscore", "mean must be a finite number, got " .. got(mean))
    end
    if x == nil then return nil end
    if type(x) ~= "number" then misuse("zscore", "x must be a number, got " .. got(x)) end
    if mean == nil or std == nil then return nil end
    return (x - mean) / std
end

---------------------------------------------------------------------------
-- Functions over lists (these loop)
---------------------------------------------------------------------------

-- mean(list [, n]): arithmetic mean of the non-nil numbers of list[1..n]
-- (n: by default the list's last index, holes for nils included, as a
-- batch column has them); nil if none.
function M.mean(list, len)
    if list == nil then return nil end
    if type(list) ~= "table" then misuse("mean", "list must be a table, got " .. got(list)) end
    if len ~= nil and (type(len) ~= "number" or len ~= floor(len) or len < 0 or len == huge) then
        misuse("mean", "n must be a whole number, got " .. got(len))
    end
    local s, n = 0, 0
    for i = 1, len or maxn(list) do
        local v = list[i]
        if v ~= nil then
            if type(v) ~= "number" then
                misuse("mean", "list[" .. i .. "] must be a number, got " .. got(v))
            end
            s, n = s + v, n + 1
        end
    end
    if n == 0 then return nil end
    return s / n
end

-- bucketize(x, boundaries): the number of boundaries <= x, 0 .. #boundaries
-- (TensorFlow's Bucketize, numpy.digitize). boundaries: a non-empty list
-- of strictly increasing numbers (infinities allowed), checked at every
-- call (one comparison each); the bucket is then found by binary search.
-- NaN has no bucket: nil.
function M.bucketize(x, boundaries)
    local n = type(boundaries) == "table" and maxn(boundaries) or 0
    if n == 0 then
        misuse("bucketize", "boundaries must be a non-empty list of numbers, got "
               .. (type(boundaries) == "table" and "an empty table" or got(boundaries)))
    end
    local prev = boundaries[1]
    if type(prev) ~= "number" or prev ~= prev then
        misuse("bucketize", "boundaries[1] must be a number, got " .. got(prev))
    end
    for i = 2, n do
        local b = boundaries[i]
        if type(b) ~= "number" or b ~= b then
            misuse("bucketize", "boundaries[" .. i .. "] must be a number, got " .. got(b))
        end
        if not (b > prev) then
            misuse("bucketize", "boundaries must be strictly increasing: boundaries[" .. i
                   .. "] (" .. got(b) .. ") after " .. got(prev))
        end
        prev = b
    end
    if x == nil then return nil end
    if type(x) ~= "number" then misuse("bucketize", "x must be a number, got " .. got(x)) end
    if x ~= x then return nil end
    -- boundaries[1..lo] <= x < boundaries[hi+1..n]
    local lo, hi = 0, n
    while lo < hi do
        local mid = floor((lo + hi + 1) * 0.5)
        if boundaries[mid] <= x then lo = mid else hi = mid - 1 end
    end
    return lo
end

return M
