local n = 0
while n < 100 do n = n + 1 end
local t = {}
for i = 1, 1000 do t[i] = tostring(i) .. ("y"):rep(i % 7) end
local s = table.concat(t, ","):gsub("%d+", function(d) return d * 2 end)
return s
