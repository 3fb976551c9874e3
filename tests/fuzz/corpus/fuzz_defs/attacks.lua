local e = entity { name = "e", join_keys = { "k" } }
pcall(function() getmetatable("").__index.match = function() return "x" end end)
pcall(function() e.name = "bad name!" end)
rawset(e, "spec", { name = "x\n" })
print(pcall(function() return custmer end), getmetatable(_G), getmetatable(e))
local t = setmetatable({}, { __index = function() error("boom") end, __tostring = function() return "t" end })
pcall(feature_view, t)
pcall(feature_view, { name = "v", source = "nope", entities = t })
local ok = pcall(function() local s = string.rep("x", 1e8) end)
for i = 1, 10 do pcall(function() while true do end end) end
