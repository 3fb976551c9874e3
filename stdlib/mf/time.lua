-- mf.time — timestamps and durations for on-demand transforms.
--   local t = require "mf.time"
--
-- Units: a timestamp is a number of seconds since the Unix epoch (UTC), as
-- transforms see UnixTimestamp features; a fraction is allowed (sub-second
-- times). A duration is a number of seconds. Calendar functions are UTC.
-- Rules as in every stdlib module (docs/definitions.md, "Standard
-- library"): a nil timestamp (a null feature) gives nil; misuse raises
-- "mf.time.FN: ARG must be ..." at the caller's line, settings (size,
-- origin) checked before the data; arithmetic on NaN and infinities follows
-- IEEE, and the calendar functions give nil for them (no day, no hour).
-- Calendar positions are exact for any finite timestamp (see `into`).
-- No function has a loop (transforms without loops run JIT-compiled).
-- The module returns a local table and sets no globals.

local M = {}

local type, tostring, error = type, tostring, error
local floor, fmod, huge = math.floor, math.fmod, math.huge
local clock_now = os.time

local DAY, WEEK = 86400, 604800

-- A misused argument: raise `text` at the line that called M[fn].
local function misuse(fn, text)
    error("mf.time." .. fn .. ": " .. text, 3)
end

-- A value for an error message: numbers as text, else the type.
local function got(v)
    if type(v) == "number" then return tostring(v) end
    return type(v)
end

local TS = "ts must be a number of seconds since the epoch, got "

---------------------------------------------------------------------------
-- Durations
---------------------------------------------------------------------------

-- The function n -> n * unit seconds, named `name` in errors. Made once,
-- when the module loads.
local function duration(name, unit)
    return function(n)
        if n == nil then return nil end
        if type(n) ~= "number" then misuse(name, "n must be a number, got " .. got(n)) end
        return n * unit
    end
end

M.seconds = duration("seconds", 1)
M.minutes = duration("minutes", 60)
M.hours = duration("hours", 3600)
M.days = duration("days", DAY)
M.weeks = duration("weeks", WEEK)

---------------------------------------------------------------------------
-- Now and ages
---------------------------------------------------------------------------

-- now(): the current time, whole seconds (os.time()).
function M.now()
    return clock_now()
end

-- age(ts, now): now - ts, seconds from ts to now (negative when ts is later).
-- Both may be features: nil gives nil.
function M.age(ts, now)
    if ts ~= nil and type(ts) ~= "number" then misuse("age", TS .. got(ts)) end
    if now ~= nil and type(now) ~= "number" then
        misuse("age", "now must be a number of seconds since the epoch, got " .. got(now))
    end
    if ts == nil or now == nil then return nil end
    return now - ts
end

-- age_now(ts): age(ts, now()), against the wall clock.
function M.age_now(ts)
    if ts == nil then return nil end
    if type(ts) ~= "number" then misuse("age_now", TS .. got(ts)) end
    return clock_now() - ts
end

---------------------------------------------------------------------------
-- Buckets and calendar positions
---------------------------------------------------------------------------

-- bucket(ts, size, origin): the start of ts's bucket, the greatest
-- origin + k * size (k whole) that is <= ts. size: positive and finite;
-- origin: finite, default 0 (the epoch). The division can round up to the
-- next whole k for fractional sizes; the check below keeps the start <= ts.
function M.bucket(ts, size, origin)
    if type(size) ~= "number" or not (size > 0 and size < huge) then
        misuse("bucket", "size must be a positive finite number of seconds, got " .. got(size))
    end
    if origin == nil then
        origin = 0
    elseif type(origin) ~= "number" or origin - origin ~= 0 then
        misuse("bucket", "origin must be a finite number of seconds, got " .. got(origin))
    end
    if ts == nil then return nil end
    if type(ts) ~= "number" then misuse("bucket", TS .. got(ts)) end
    local d = ts - origin
    local q = d / size
    -- a size far below ts's precision (d / size past the doubles, or ts not
    -- finite): the bucket starts at ts itself (the start is never after ts)
    if q - q ~= 0 then return ts end
    local b = floor(q) * size
    if b > d then b = b - size end
    -- (a size below the spacing of doubles near d: b - size is b)
    if b > d then return ts end
    return b + origin
end

-- Seconds from the start of ts's period (DAY or WEEK, periods counted from
-- the epoch) to ts's whole second: 0 .. period-1, exact for every finite ts.
-- Below 2^52, s % period (s - floor(s / period) * period) is exact and
-- compiles; beyond, fmod (exact for any double, but not compiled).
local function into(ts, period)
    local s = floor(ts)
    if s > -4503599627370496 and s < 4503599627370496 then return s % period end
    local r = fmod(s, period)
    if r < 0 then r = r + period end
    return r
end

-- day_of_week(ts): 0 = Monday .. 6 = Sunday (UTC), as Python's weekday()
-- and pandas' dayofweek. The epoch was a Thursday (3).
function M.day_of_week(ts)
    if ts == nil then return nil end
    if type(ts) ~= "number" then misuse("day_of_week", TS .. got(ts)) end
    if ts - ts ~= 0 then return nil end -- NaN, infinities
    return (floor(into(ts, WEEK) / DAY) + 3) % 7
end

-- hour_of_day(ts): 0 .. 23 (UTC).
function M.hour_of_day(ts)
    if ts == nil then return nil end
    if type(ts) ~= "number" then misuse("hour_of_day", TS .. got(ts)) end
    if ts - ts ~= 0 then return nil end -- NaN, infinities
    return floor(into(ts, DAY) / 3600)
end

return M
