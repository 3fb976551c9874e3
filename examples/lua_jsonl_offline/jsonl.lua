-- jsonl.lua — a source that reads JSON Lines: one JSON object per line.
--
-- Used by a lua_source in the definitions:
--
--   lua_source { name = "stats_jsonl", module = "jsonl.lua",
--                options = { path = "data/driver_stats.jsonl",
--                            columns = "driver_id,event_timestamp,created,conv_rate,acc_rate,avg_daily_trips" },
--                timestamp_field = "event_timestamp", created_timestamp_column = "created" }
--
-- moonfeast calls the chunk with the source's options and a host table of
-- read-only helpers (lines(path) and json(text), confined to the repo) and
-- calls read(), which returns the column names and the rows. The point-in-
-- time join, materialization and type inference then read those rows as
-- they read a CSV file's: values are given as they are (strings, numbers,
-- booleans), a missing key is null.

local options, host = ...

local columns = {}
for name in string.gmatch(options.columns or "", "[^,]+") do
  columns[#columns + 1] = name
end

local source = {}

function source.read()
  if options.path == nil then error("jsonl: give options.path") end
  if #columns == 0 then error("jsonl: give options.columns, the column names in order") end
  local rows = {}
  local lines = host.lines(options.path)
  for i = 1, #lines do
    local line = lines[i]
    if string.find(line, "%S") then
      local ok, obj = pcall(host.json, line)
      if not ok then error(options.path .. ":" .. i .. ": " .. tostring(obj)) end
      if type(obj) ~= "table" then error(options.path .. ":" .. i .. ": not a JSON object") end
      local row = {}
      for c = 1, #columns do row[c] = obj[columns[c]] end
      rows[#rows + 1] = row
    end
  end
  return columns, rows
end

return source
