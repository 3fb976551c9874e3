-- Tests of stdlib/ (run by `moonfeast lua-test` in the user sandbox).
-- Expected values are worked out independently of the code under test:
-- dates and distances with Python's datetime and math modules, hashes
-- from the FNV reference test vectors (or Python's reference loop, shown
-- in docs/definitions.md), buckets by counting. Modules are required
-- inside the cases, so a missing function fails its own case.
local m = require "mf.math"
local s = require "mf.strings"

local huge, nan = math.huge, 0 / 0

local function case(name, fn)
    local ok, err = pcall(fn)
    if ok then print("ok - " .. name) else print("not ok - " .. name .. "\n#   " .. tostring(err)) end
end
-- a and b are the same value: NaN is NaN, and 0 and -0 differ.
local function same(a, b)
    if type(a) == "number" and type(b) == "number" then
        if a ~= a then return b ~= b end
        if a == 0 and b == 0 then return 1 / a == 1 / b end
    end
    return a == b
end
local function show(v)
    if v == 0 and 1 / v < 0 then return "-0" end
    if type(v) == "string" then return string.format("%q", v) end
    return tostring(v)
end
local function eq(a, b, what)
    if not same(a, b) then error((what or "value") .. ": got " .. show(a) .. ", want " .. show(b), 2) end
end
-- a within `rel` (relative) of b.
local function near(a, b, rel, what)
    if type(a) ~= "number" or not (math.abs(a - b) <= rel * math.abs(b)) then
        error((what or "value") .. ": got " .. show(a) .. ", want " .. show(b) .. " (within " .. rel .. ")", 2)
    end
end
local function list_eq(got, want, what)
    if type(got) ~= "table" then error((what or "list") .. ": got " .. show(got), 2) end
    local n = 0
    for _ in pairs(got) do n = n + 1 end
    if n ~= #want then error((what or "list") .. ": " .. n .. " entries, want " .. #want, 2) end
    for i = 1, #want do
        if not same(got[i], want[i]) then
            error((what or "list") .. "[" .. i .. "]: got " .. show(got[i]) .. ", want " .. show(want[i]), 2)
        end
    end
end
-- fn raises an error whose message holds `text` and names this file's line
-- (the stdlib raises at level 2, the caller's line).
local function raises(fn, text)
    local ok, err = pcall(fn)
    if ok then error("no error; want one with: " .. text, 2) end
    err = tostring(err)
    if not err:find(text, 1, true) then error("error: " .. err .. "\n#   want: " .. text, 2) end
    if not err:find("^[^:]*test_stdlib%.lua:%d+: ") then
        error("error not at the caller's line: " .. err, 2)
    end
end

case("math.clamp", function()
    eq(m.clamp(5, 0, 3), 3); eq(m.clamp(-1, 0, 3), 0); eq(m.clamp(2, 0, 3), 2); eq(m.clamp(nil, 0, 1), nil)
    eq(pcall(m.clamp, 1, 3, 0), false, "lo > hi raises")
end)
case("math.round", function()
    eq(m.round(2.5), 3); eq(m.round(-2.5), -3); eq(m.round(1.2345, 2), 1.23); eq(m.round(nil), nil)
end)
case("math.safe_div", function()
    eq(m.safe_div(6, 3), 2); eq(m.safe_div(1, 0), nil); eq(m.safe_div(1, 0, -1), -1); eq(m.safe_div(nil, 2), nil)
end)
case("math.is_finite", function()
    eq(m.is_finite(1), true); eq(m.is_finite(0/0), false); eq(m.is_finite(math.huge), false); eq(m.is_finite(nil), false)
end)
case("math.mean", function()
    eq(m.mean({1, 2, 3}), 2); eq(m.mean({}), nil); eq(m.mean(nil), nil)
    -- nils skipped wherever they are (a batch column has holes: # may stop
    -- at the first), or up to n
    local h = { 10 }; h[3] = 30
    eq(m.mean(h), 20)
    local h2 = { 10 }; h2[3] = 30; h2[5] = 50
    eq(m.mean(h2), 30); eq(m.mean(h2, 3), 20); eq(m.mean(h2, 0), nil)
    raises(function() m.mean(h2, 1.5) end, "mf.math.mean: n must be a whole number, got 1.5")
    raises(function() m.mean(h2, math.huge) end, "mf.math.mean: n must be a whole number, got inf")
end)
case("strings.split", function()
    local p = s.split("a,b,,c", ",")
    eq(#p, 4); eq(p[1], "a"); eq(p[3], ""); eq(p[4], "c")
    eq(#s.split("a.b", "."), 2, "plain separator")
    eq(s.split(nil, ","), nil)
end)
case("strings.trim and affixes", function()
    eq(s.trim("  x y \n"), "x y"); eq(s.starts_with("feast", "fe"), true); eq(s.ends_with("feast", "st"), true)
    eq(s.ends_with("feast", "x"), false); eq(s.trim(nil), nil)
end)
---------------------------------------------------------------------------
-- mf.math: argument checks, clamp, round, log1p, zscore, bucketize
---------------------------------------------------------------------------

case("math: misuse raises at the caller's line", function()
    raises(function() m.clamp("5", 0, 1) end, "mf.math.clamp: x must be a number, got string")
    raises(function() m.clamp(1, 3, 0) end, "mf.math.clamp: lo (3) must not be greater than hi (0)")
    raises(function() m.clamp(1, nil, 2) end, "mf.math.clamp: lo must be a number, got nil")
    raises(function() m.clamp(1, 0, nan) end, "mf.math.clamp: hi must be a number, got nan")
    raises(function() m.clamp(nil, 3, 0) end, "mf.math.clamp: lo (3)")  -- whatever x is
    raises(function() m.round("1.5") end, "mf.math.round: x must be a number, got string")
    raises(function() m.round(1.5, 0.5) end, "mf.math.round: digits must be a whole number from -308 to 308, got 0.5")
    raises(function() m.round(1.5, 400) end, "mf.math.round: digits must be a whole number")
    raises(function() m.safe_div("6", 3) end, "mf.math.safe_div: a must be a number, got string")
    raises(function() m.safe_div(6, {}) end, "mf.math.safe_div: b must be a number, got table")
    raises(function() m.mean("1,2") end, "mf.math.mean: list must be a table, got string")
    raises(function() m.mean({ 1, "2" }) end, "mf.math.mean: list[2] must be a number, got string")
end)
case("math.clamp edges", function()
    eq(m.clamp(nan, 0, 1), nan, "NaN passes through")
    eq(m.clamp(huge, 0, 1), 1); eq(m.clamp(-huge, 0, 1), 0)
    eq(m.clamp(-0.0, 0, 1), -0.0, "-0 is inside [0, 1]")
    eq(m.clamp(5, -huge, huge), 5); eq(m.clamp(2, 2, 2), 2)
end)
case("math.safe_div and mean edges", function()
    eq(m.safe_div(1, -0.0), nil, "-0 is 0"); eq(m.safe_div(nan, 2), nan); eq(m.safe_div(1, huge), 0)
    eq(m.safe_div(-1, huge), -0.0); eq(m.safe_div(1, nan), nan); eq(m.safe_div(nil, 0, 7), 7)
    eq(m.mean({ nan, 1 }), nan); eq(m.mean({ huge, -huge }), nan); eq(m.mean({ huge, 1 }), huge)
end)
case("math.round edges", function()
    eq(m.round(0.49999999999999994), 0, "the largest double below 0.5")
    eq(m.round(-0.49999999999999994), -0.0)
    eq(m.round(0.5), 1); eq(m.round(-0.5), -1); eq(m.round(1.5), 2)
    eq(m.round(1e308, 2), 1e308, "x * 100 overflows")
    eq(m.round(2 ^ 53 - 1), 2 ^ 53 - 1); eq(m.round(-(2 ^ 52 + 1)), -(2 ^ 52 + 1))
    eq(m.round(1234.5678, -2), 1200); eq(m.round(-1250, -2), -1300)
    eq(m.round(5e-324, 2), 0)
    eq(m.round(nan), nan); eq(m.round(huge, 3), huge); eq(m.round(-huge), -huge)
    eq(m.round(-0.0), -0.0)
    eq(m.round(1.005, 2), 1, "1.005 * 100 is 100.49999999999999 as a double")
end)
case("math.log1p", function()
    -- want: Python's math.log1p
    near(m.log1p(1e-10), 9.999999999500001e-11, 4e-16)
    near(m.log1p(1), 0.6931471805599453, 4e-16)
    near(m.log1p(-0.5), -0.6931471805599453, 4e-16)
    near(m.log1p(0.5), 0.4054651081081644, 4e-16)
    near(m.log1p(-0.9999999999), -23.02585084720009, 4e-16)
    near(m.log1p(1e308), 709.1962086421661, 4e-16)
    near(m.log1p(1e15), 34.538776394910684, 4e-16)
    near(m.log1p(-1e-5), -1.0000050000333337e-05, 4e-16)
    eq(m.log1p(1e-300), 1e-300); eq(m.log1p(3e-17), 3e-17); eq(m.log1p(5e-324), 5e-324)
    eq(m.log1p(0), 0); eq(m.log1p(-0.0), -0.0, "log1p(-0) is -0")
    eq(m.log1p(-1), -huge); eq(m.log1p(-2), nan); eq(m.log1p(-huge), nan)
    eq(m.log1p(huge), huge); eq(m.log1p(nan), nan); eq(m.log1p(nil), nil)
    raises(function() m.log1p("1") end, "mf.math.log1p: x must be a number, got string")
end)
case("math.zscore", function()
    eq(m.zscore(10, 4, 2), 3); eq(m.zscore(4, 4, 2), 0); eq(m.zscore(-1, 1, 4), -0.5)
    eq(m.zscore(nil, 0, 1), nil); eq(m.zscore(1, nil, 1), nil); eq(m.zscore(1, 0, nil), nil)
    eq(m.zscore(nan, 0, 1), nan); eq(m.zscore(huge, 0, 1), huge); eq(m.zscore(-huge, 0, 1), -huge)
    raises(function() m.zscore(1, 0, 0) end, "mf.math.zscore: std must be a positive finite number, got 0")
    raises(function() m.zscore(nil, 0, -0.0) end, "mf.math.zscore: std must be a positive finite number, got -0")
    raises(function() m.zscore(1, 0, -2) end, "got -2")
    raises(function() m.zscore(1, 0, nan) end, "got nan")
    raises(function() m.zscore(1, 0, huge) end, "got inf")
    raises(function() m.zscore(1, nan, 1) end, "mf.math.zscore: mean must be a finite number, got nan")
    raises(function() m.zscore(1, -huge, 1) end, "mf.math.zscore: mean must be a finite number, got -inf")
    raises(function() m.zscore(1, "0", 1) end, "mf.math.zscore: mean must be a finite number, got string")
    raises(function() m.zscore("1", 0, 1) end, "mf.math.zscore: x must be a number, got string")
end)
case("math.bucketize", function()
    local b = { 0, 10, 100 }
    eq(m.bucketize(-5, b), 0); eq(m.bucketize(0, b), 1); eq(m.bucketize(5, b), 1)
    eq(m.bucketize(10, b), 2); eq(m.bucketize(99.9, b), 2); eq(m.bucketize(100, b), 3)
    eq(m.bucketize(1e9, b), 3); eq(m.bucketize(-huge, b), 0); eq(m.bucketize(huge, b), 3)
    eq(m.bucketize(-0.0, b), 1, "-0 is not below the boundary 0")
    eq(m.bucketize(nan, b), nil, "NaN has no bucket"); eq(m.bucketize(nil, b), nil)
    eq(m.bucketize(4, { 5 }), 0); eq(m.bucketize(5, { 5 }), 1)
    eq(m.bucketize(0, { -huge, huge }), 1); eq(m.bucketize(huge, { -huge, huge }), 2)
    -- every position of a long list, against a count of the boundaries <= x
    local long = {}
    for i = 1, 1000 do long[i] = i * 0.5 end
    for k = 0, 2002 do
        local x = k * 0.25
        local want = 0
        for i = 1, #long do if long[i] <= x then want = want + 1 end end
        eq(m.bucketize(x, long), want, "bucketize(" .. x .. ")")
    end
end)
case("math.bucketize misuse", function()
    raises(function() m.bucketize(1, { 1, 3, 2 }) end,
           "mf.math.bucketize: boundaries must be strictly increasing: boundaries[3] (2) after 3")
    raises(function() m.bucketize(1, { 1, 1 }) end, "boundaries[2] (1) after 1")
    raises(function() m.bucketize(nil, { 2, 1 }) end, "boundaries[2] (1) after 2")
    raises(function() m.bucketize(1, { 1, nan }) end, "mf.math.bucketize: boundaries[2] must be a number, got nan")
    raises(function() m.bucketize(1, { 1, "2" }) end, "boundaries[2] must be a number, got string")
    raises(function() m.bucketize(1, {}) end, "mf.math.bucketize: boundaries must be a non-empty list of numbers")
    raises(function() m.bucketize(1, nil) end, "mf.math.bucketize: boundaries must be a non-empty list of numbers, got nil")
    raises(function() m.bucketize("1", { 1 }) end, "mf.math.bucketize: x must be a number, got string")
end)

---------------------------------------------------------------------------
-- mf.strings: lower, normalize, hashing
---------------------------------------------------------------------------

case("strings: misuse raises at the caller's line", function()
    raises(function() s.trim(5) end, "mf.strings.trim: s must be a string, got number")
    raises(function() s.split("a,b", "") end, "mf.strings.split: sep must be a non-empty string")
    raises(function() s.split("a,b", nil) end, "mf.strings.split: sep must be a non-empty string, got nil")
    raises(function() s.split({}, ",") end, "mf.strings.split: s must be a string, got table")
    raises(function() s.starts_with("a", nil) end, "mf.strings.starts_with: prefix must be a string, got nil")
    raises(function() s.ends_with("a", 1) end, "mf.strings.ends_with: suffix must be a string, got number")
    raises(function() s.lower(1) end, "mf.strings.lower: s must be a string, got number")
    raises(function() s.normalize(true) end, "mf.strings.normalize: s must be a string, got boolean")
end)
case("strings.trim edges", function()
    eq(s.trim(""), ""); eq(s.trim(" \t\r\n\v\f"), ""); eq(s.trim("x"), "x")
    eq(s.trim("\tdéjà vu \n"), "déjà vu")
    eq(s.trim("\194\160x\194\160"), "\194\160x\194\160", "U+00A0 is not ASCII white space")
    eq(s.starts_with("x", ""), true); eq(s.starts_with("", "x"), false)
    eq(s.starts_with(nil, "x"), nil); eq(s.ends_with(nil, "x"), nil)
    eq(s.starts_with("été", "é"), true); eq(s.ends_with("été", "té"), true); eq(s.ends_with("", ""), true)
    local p = s.split("é,ü,", ",")
    eq(#p, 3); eq(p[1], "é"); eq(p[2], "ü"); eq(p[3], "")
    p = s.split("", ",")
    eq(#p, 1); eq(p[1], "")
    p = s.split("a--b", "--")
    eq(#p, 2); eq(p[2], "b")
end)
case("strings.lower", function()
    eq(s.lower("Hello WORLD 42"), "hello world 42"); eq(s.lower(""), ""); eq(s.lower(nil), nil)
    eq(s.lower("ÀÉÎ Straße ÉCOLE"), "ÀÉÎ straße École", "only ASCII letters change; UTF-8 stays valid")
    eq(s.lower("A\0B"), "a\0b")
end)
case("strings.normalize", function()
    eq(s.normalize("  Hello \t\n  World  "), "hello world")
    eq(s.normalize("ÉCOLE   Été"), "École Été")
    eq(s.normalize(""), ""); eq(s.normalize("   "), ""); eq(s.normalize(" A "), "a")
    eq(s.normalize("a\r\nb\v\fc"), "a b c"); eq(s.normalize("x"), "x")
    eq(s.normalize("a\194\160B"), "a\194\160b", "U+00A0 is not ASCII white space")
    eq(s.normalize(nil), nil)
    local long = "A" .. (" "):rep(100000) .. "B"
    eq(s.normalize(long), "a b")
end)
case("strings.fnv1a32 and hash_bucket", function()
    -- FNV-1a 32-bit reference vectors; the rest from Python's reference loop
    eq(s.fnv1a32(""), 0x811c9dc5); eq(s.fnv1a32("a"), 0xe40c292c); eq(s.fnv1a32("foobar"), 0xbf9cf968)
    eq(s.fnv1a32("héllo"), 1252296000); eq(s.fnv1a32("driver_1001"), 3179756318)
    eq(s.fnv1a32("\0"), 84696351); eq(s.fnv1a32(nil), nil)
    eq(s.hash_bucket("", 7), 2); eq(s.hash_bucket("a", 7), 5); eq(s.hash_bucket("foobar", 1000), 720)
    eq(s.hash_bucket("héllo", 7), 4); eq(s.hash_bucket("driver_1001", 1000), 318)
    eq(s.hash_bucket("\0", 7), 5); eq(s.hash_bucket("a", 1), 0)
    eq(s.hash_bucket("foobar", 2 ^ 32), 0xbf9cf968); eq(s.hash_bucket(nil, 10), nil)
    raises(function() s.hash_bucket("a", 0) end, "mf.strings.hash_bucket: n must be a whole number from 1 to 2^32, got 0")
    raises(function() s.hash_bucket("a", 2.5) end, "got 2.5")
    raises(function() s.hash_bucket("a", 2 ^ 32 + 1) end, "got 4294967297")
    raises(function() s.hash_bucket("a", nan) end, "got nan")
    raises(function() s.hash_bucket(nil, "10") end, 'mf.strings.hash_bucket: n must be a whole number from 1 to 2^32, got "10"')
    raises(function() s.hash_bucket(1001, 10) end, "mf.strings.hash_bucket: s must be a string, got number")
    raises(function() s.fnv1a32(1001) end, "mf.strings.fnv1a32: s must be a string, got number")
end)

---------------------------------------------------------------------------
-- mf.time
---------------------------------------------------------------------------

case("time durations", function()
    local t = require "mf.time"
    eq(t.seconds(5), 5); eq(t.minutes(1.5), 90); eq(t.hours(2), 7200); eq(t.days(1), 86400)
    eq(t.weeks(1), 604800); eq(t.days(-1), -86400); eq(t.hours(0.25), 900)
    eq(t.minutes(nil), nil); eq(t.days(nan), nan); eq(t.weeks(huge), huge)
    raises(function() t.days("1") end, "mf.time.days: n must be a number, got string")
    raises(function() t.seconds({}) end, "mf.time.seconds: n must be a number, got table")
end)
case("time.day_of_week and hour_of_day (UTC)", function()
    local t = require "mf.time"
    -- want: Python datetime (weekday(): Monday 0 .. Sunday 6)
    eq(t.day_of_week(1704067200), 0, "2024-01-01 Monday"); eq(t.hour_of_day(1704067200), 0)
    eq(t.day_of_week(1710078330), 6, "2024-03-10 Sunday"); eq(t.hour_of_day(1710078330), 13)
    eq(t.day_of_week(1710078330.75), 6); eq(t.hour_of_day(1710078330.75), 13)
    eq(t.day_of_week(0), 3, "1970-01-01 Thursday"); eq(t.hour_of_day(0), 0)
    eq(t.day_of_week(-0.0), 3); eq(t.hour_of_day(-0.0), 0, "hour of -0 is +0")
    eq(t.day_of_week(-3600), 2, "1969-12-31 Wednesday"); eq(t.hour_of_day(-3600), 23)
    eq(t.day_of_week(-0.5), 2); eq(t.hour_of_day(-0.5), 23)
    eq(t.hour_of_day(-1e-300), 23, "a hair before midnight")
    eq(t.day_of_week(86399.999), 3); eq(t.hour_of_day(86399.999), 23); eq(t.day_of_week(86400), 4)
    eq(t.day_of_week(253402300799), 4, "9999-12-31 Friday"); eq(t.hour_of_day(253402300799), 23)
    eq(t.day_of_week(-62135578800), 0, "0001-01-01 Monday"); eq(t.hour_of_day(-62135578800), 5)
    -- far out of calendar range the arithmetic stays exact (Python big ints)
    eq(t.hour_of_day(2 ^ 52), 3); eq(t.day_of_week(2 ^ 52), 5)
    eq(t.hour_of_day(2 ^ 52 - 1), 3); eq(t.day_of_week(-(2 ^ 52) + 1), 0)
    eq(t.hour_of_day(-(2 ^ 52)), 20); eq(t.day_of_week(-(2 ^ 52) - 2), 0)
    eq(t.hour_of_day(2 ^ 60), 13); eq(t.day_of_week(2 ^ 60), 2)
    eq(t.hour_of_day(1e300), 17); eq(t.day_of_week(1e300), 5)
    eq(t.hour_of_day(-1e300), 6); eq(t.day_of_week(-1e300), 0)
    eq(t.day_of_week(nil), nil); eq(t.hour_of_day(nil), nil)
    eq(t.day_of_week(nan), nil); eq(t.hour_of_day(huge), nil); eq(t.day_of_week(-huge), nil)
    raises(function() t.day_of_week("2024-01-01") end, "mf.time.day_of_week: ts must be a number of seconds since the epoch, got string")
    raises(function() t.hour_of_day(true) end, "mf.time.hour_of_day: ts must be a number of seconds since the epoch, got boolean")
end)
case("time.bucket", function()
    local t = require "mf.time"
    eq(t.bucket(1710078330, 3600), 1710075600, "2024-03-10T13:00:00Z")
    eq(t.bucket(1710078330, 86400), 1710028800, "2024-03-10T00:00:00Z")
    eq(t.bucket(1710078330, 604800, 345600), 1709510400, "week from Monday 2024-03-04")
    eq(t.bucket(1710078330.5, 1), 1710078330); eq(t.bucket(1710075600, 3600), 1710075600)
    eq(t.bucket(-1, 60), -60); eq(t.bucket(-60, 60), -60); eq(t.bucket(-0.0, 60), 0)
    eq(t.bucket(1.7, 0.5), 1.5); eq(t.bucket(7, 5, 1), 6); eq(t.bucket(0, 5, 1), -4)
    -- a bucket never starts after ts: 1.7 / 0.1 is 17, but 17 * 0.1 is
    -- 1.7000000000000002, after 1.7
    local b = t.bucket(1.7, 0.1)
    eq(b <= 1.7 and 1.7 < b + 0.1, true, "bucket(1.7, 0.1) = " .. show(b))
    eq(b, 1.6)
    eq(t.bucket(nil, 60), nil); eq(t.bucket(nan, 60), nan); eq(t.bucket(huge, 60), huge)
    eq(t.bucket(-huge, 60), -huge)
    -- a size far below ts's precision: ts itself, never after it (d / size
    -- overflowed: inf)
    eq(t.bucket(5, 1e-320), 5); eq(t.bucket(1e300, 1e-300), 1e300)
    eq(t.bucket(1.1e297, 1e-7) <= 1.1e297, true, "below the spacing of doubles near ts")
    raises(function() t.bucket(1, 0) end, "mf.time.bucket: size must be a positive finite number of seconds, got 0")
    raises(function() t.bucket(nil, -60) end, "got -60")
    raises(function() t.bucket(1, huge) end, "got inf"); raises(function() t.bucket(1, nan) end, "got nan")
    raises(function() t.bucket(1, "60") end, "got string"); raises(function() t.bucket(1) end, "got nil")
    raises(function() t.bucket(1, 60, nan) end, "mf.time.bucket: origin must be a finite number of seconds, got nan")
    raises(function() t.bucket("1", 60) end, "mf.time.bucket: ts must be a number of seconds since the epoch, got string")
end)
case("time.age, age_now and now", function()
    local t = require "mf.time"
    eq(t.age(100, 160), 60); eq(t.age(160, 100), -60); eq(t.age(1.25, 2), 0.75)
    eq(t.age(nil, 1), nil); eq(t.age(1, nil), nil); eq(t.age(nan, 1), nan); eq(t.age(0, huge), huge)
    local now = os.time()
    local a = t.age_now(now - 10)
    eq(a >= 10 and a <= 12, true, "age_now(now - 10) = " .. show(a))
    eq(t.age_now(nil), nil)
    local n = t.now()
    eq(n >= now and n <= now + 2, true, "now() = " .. show(n))
    raises(function() t.age("1", 2) end, "mf.time.age: ts must be a number of seconds since the epoch, got string")
    raises(function() t.age(1, "2") end, "mf.time.age: now must be a number of seconds since the epoch, got string")
    raises(function() t.age_now({}) end, "mf.time.age_now: ts must be a number of seconds since the epoch, got table")
end)

---------------------------------------------------------------------------
-- mf.geo
---------------------------------------------------------------------------

case("geo.haversine", function()
    local g = require "mf.geo"
    eq(g.EARTH_RADIUS_KM, 6371.0088)
    -- want: Python's math, the same formula
    near(g.haversine(0, 0, 0, 1), 111.1950802335329, 1e-14, "one degree on the equator")
    near(g.haversine(0, 0, 0, 180), 20015.114442035923, 1e-14, "antipodes")
    near(g.haversine(90, 0, -90, 0), 20015.114442035923, 1e-14, "pole to pole")
    near(g.haversine(51.5074, -0.1278, 48.8566, 2.3522), 343.55653488088313, 1e-13, "London-Paris")
    near(g.haversine(37.7749, -122.4194, 40.7128, -74.0060), 4129.091868394031, 1e-13, "SF-NYC")
    near(g.haversine(0, 179, 0, -179), 222.3901604670658, 1e-12, "across the antimeridian")
    eq(g.haversine(12.5, 45, 12.5, 45), 0); eq(g.haversine(-0.0, -0.0, 0, 0), 0)
    local pole = g.haversine(90, 10, 90, -170)
    eq(pole >= 0 and pole < 1e-9, true, "the pole at any longitude (cos 90 degrees is 6e-17, not 0): " .. show(pole))
    eq(g.haversine(nil, 0, 0, 0), nil); eq(g.haversine(0, 0, 0, nil), nil)
    eq(g.haversine(nan, 0, 0, 0), nan); eq(g.haversine(0, nan, 0, 0), nan); eq(g.haversine(0, huge, 0, 0), nan)
    raises(function() g.haversine(91, 0, 0, 0) end, "mf.geo.haversine: lat1 must be a latitude from -90 to 90, got 91")
    raises(function() g.haversine(0, 0, -huge, 0) end, "mf.geo.haversine: lat2 must be a latitude from -90 to 90, got -inf")
    raises(function() g.haversine(nil, 0, 100, 0) end, "lat2 must be a latitude")
    raises(function() g.haversine(0, "0", 0, 0) end, "mf.geo.haversine: lon1 must be a number, got string")
    raises(function() g.haversine(0, 0, 0, {}) end, "mf.geo.haversine: lon2 must be a number, got table")
end)

---------------------------------------------------------------------------
-- mf.encoding
---------------------------------------------------------------------------

case("encoding.one_hot", function()
    local e = require "mf.encoding"
    local v = { "red", "green", "blue" }
    list_eq(e.one_hot("green", v), { 0, 1, 0 }); list_eq(e.one_hot("red", v), { 1, 0, 0 })
    list_eq(e.one_hot("pink", v), { 0, 0, 0 }, "unknown"); eq(e.one_hot(nil, v), nil)
    list_eq(e.one_hot("", { "", "x" }), { 1, 0 }, "empty string")
    list_eq(e.one_hot("été", { "ete", "été" }), { 0, 1 }, "UTF-8 compared by bytes")
    list_eq(e.one_hot(2.0, { 1, 2, 3 }), { 0, 1, 0 }); list_eq(e.one_hot("2", { 1, 2, 3 }), { 0, 0, 0 }, "no conversion")
    list_eq(e.one_hot(-0.0, { 0, 1 }), { 1, 0 }); list_eq(e.one_hot(nan, { 0, 1 }), { 0, 0 }, "NaN is unknown")
    list_eq(e.one_hot(false, { true, false }), { 0, 1 })
    list_eq(e.one_hot("a", { "a", "b", "a" }), { 1, 0, 0 }, "the first of a repeated entry")
    local named = e.one_hot("blue", v, { "is_red", "is_green", "is_blue" })
    eq(named.is_red, 0); eq(named.is_green, 0); eq(named.is_blue, 1); eq(#named, 0)
    local none = e.one_hot("pink", v, { "is_red", "is_green", "is_blue" })
    eq(none.is_red + none.is_green + none.is_blue, 0)
    eq(e.one_hot(nil, v, { "a", "b", "c" }), nil)
end)
case("encoding.ordinal", function()
    local e = require "mf.encoding"
    local v = { "low", "mid", "high" }
    eq(e.ordinal("low", v), 1); eq(e.ordinal("high", v), 3); eq(e.ordinal("none", v), 0)
    eq(e.ordinal("none", v, -1), -1); eq(e.ordinal("mid", v, -1), 2); eq(e.ordinal(nil, v), nil)
    eq(e.ordinal("", { "x", "" }), 2); eq(e.ordinal("été", { "été" }), 1); eq(e.ordinal(nan, { 1 }), 0)
    eq(e.ordinal(3, { 1, 2, 3 }), 3); eq(e.ordinal("3", { 1, 2, 3 }), 0); eq(e.ordinal("a", { "a", "a" }), 1)
end)
case("encoding misuse", function()
    local e = require "mf.encoding"
    raises(function() e.one_hot("a", nil) end, "mf.encoding.one_hot: vocab must be a non-empty list, got nil")
    raises(function() e.one_hot(nil, {}) end, "mf.encoding.one_hot: vocab must be a non-empty list")
    raises(function() e.one_hot("a", { "a", nan }) end, "mf.encoding.one_hot: vocab[2] must be a string, number or boolean (not NaN), got nan")
    -- a hole in a list is named, not taken for its end (# may stop there)
    local holed = { "x" }; holed[3] = "z"
    raises(function() e.ordinal("z", holed) end, "mf.encoding.ordinal: vocab[2] must be a string, number or boolean (not NaN), got nil")
    raises(function() e.one_hot("z", holed) end, "mf.encoding.one_hot: vocab[2] must be")
    raises(function() e.one_hot("x", { "x", "y" }, { "a", nil, "c" }) end, "mf.encoding.one_hot: names must be a list as long as vocab (2), got 3 entries")
    local hb = { 1 }; hb[3] = 3
    raises(function() m.bucketize(2, hb) end, "mf.math.bucketize: boundaries[2] must be a number, got nil")
    raises(function() e.one_hot("a", { "a", {} }) end, "vocab[2] must be a string, number or boolean (not NaN), got table")
    raises(function() e.one_hot({}, { "a" }) end, "mf.encoding.one_hot: value must be a string, number or boolean, got table")
    raises(function() e.one_hot("a", { "a", "b" }, { "x" }) end, "mf.encoding.one_hot: names must be a list as long as vocab (2), got 1 entries")
    raises(function() e.one_hot("a", { "a", "b" }, "x") end, "mf.encoding.one_hot: names must be a list as long as vocab (2), got string")
    raises(function() e.one_hot("a", { "a", "b" }, { "x", 2 }) end, "mf.encoding.one_hot: names[2] must be a string, got number")
    raises(function() e.one_hot("a", { "a", "b" }, { "x", "x" }) end, "mf.encoding.one_hot: names[2] ('x') repeats names[1]")
    raises(function() e.one_hot(nil, { "a", "b" }, { "x", "x" }) end, "names[2] ('x') repeats names[1]")
    raises(function() e.ordinal("a", "abc") end, "mf.encoding.ordinal: vocab must be a non-empty list, got string")
    raises(function() e.ordinal("a", { "a", true, 1, {} }) end, "mf.encoding.ordinal: vocab[4] must be")
    raises(function() e.ordinal("a", { "a" }, "0") end, "mf.encoding.ordinal: unknown must be a number, got string")
    raises(function() e.ordinal({}, { "a" }) end, "mf.encoding.ordinal: value must be a string, number or boolean, got table")
end)
case("every module is listed by require", function()
    local ok, err = pcall(require, "mf.nope")
    eq(ok, false)
    eq(tostring(err):find("(mf.encoding, mf.geo, mf.math, mf.strings, mf.time)", 1, true) ~= nil, true, err)
end)

case("sandbox has no io, os.execute, loaders or ffi", function()
    for _, name in ipairs({ "io", "loadfile", "dofile", "loadstring", "load", "package", "debug",
                            "ffi", "jit", "coroutine", "collectgarbage", "getfenv", "setfenv" }) do
        eq(rawget(_G, name), nil, name)
        local ok, err = pcall(function() return _G[name] end)
        eq(ok, false, "reading " .. name .. " raises")
        eq(tostring(err):find("undefined global '" .. name .. "'", 1, true) ~= nil, true, err)
    end
    eq(os.execute, nil, "os.execute"); eq(string.dump, nil, "string.dump")
    eq(pcall(require, "ffi"), false, "require ffi"); eq(pcall(require, "os"), false, "require os")
end)
case("strict globals suggest close names", function()
    local ok, err = pcall(function() return requir end)
    eq(ok, false)
    eq(tostring(err):find("undefined global 'requir' (did you mean 'require'?)", 1, true) ~= nil, true, err)
end)
case("os.time and os.date refuse numbers out of range", function()
    eq(pcall(os.time, { year = 1e300, month = 1, day = 1 }), false, "year 1e300")
    eq(pcall(os.time, { year = 2020, month = 0 / 0, day = 1 }), false, "month NaN")
    eq(pcall(os.date, "%c", 1e300), false, "date of 1e300")
    eq(pcall(os.date, "%c", -1e300), false, "date of -1e300")
    eq(os.date("!%Y-%m-%d", 86400), "1970-01-02")
    eq(type(os.time({ year = 2020, month = 1, day = 1, hour = 0 })), "number")
end)
case("the string metatable is hidden", function()
    eq(getmetatable(""), false)
    eq(("abc"):upper(), "ABC")
    eq(("x").dump, nil, "no string.dump through methods")
    eq(pcall(setmetatable, _G, nil), false, "the env's metatable is protected")
end)
case("require caches modules", function()
    eq(require "mf.math", m)
end)

-- Last: before trim was linear, this case ran out of the instruction budget,
-- which no pcall catches and which ends the file.
case("strings.trim is linear in the length", function()
    local inner = "a" .. (" "):rep(100000) .. "b"
    eq(s.trim(inner), inner); eq(s.trim("  " .. inner .. "\t"), inner)
    eq(s.trim((" "):rep(100000)), "")
end)
