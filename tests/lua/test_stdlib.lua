-- Tests of stdlib/ (run by `moonfeast lua-test` in the user sandbox).
local m = require "mf.math"
local s = require "mf.strings"

local function case(name, fn)
    local ok, err = pcall(fn)
    if ok then print("ok - " .. name) else print("not ok - " .. name .. "\n#   " .. tostring(err)) end
end
local function eq(a, b, what)
    if a ~= b then error((what or "value") .. ": got " .. tostring(a) .. ", want " .. tostring(b), 2) end
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
case("the string metatable is hidden", function()
    eq(getmetatable(""), false)
    eq(("abc"):upper(), "ABC")
    eq(("x").dump, nil, "no string.dump through methods")
    eq(pcall(setmetatable, _G, nil), false, "the env's metatable is protected")
end)
case("require caches modules", function()
    eq(require "mf.math", m)
end)
