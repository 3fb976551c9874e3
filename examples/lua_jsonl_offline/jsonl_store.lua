-- jsonl_store.lua — an offline store that reads JSON Lines files, and can
-- do its own point-in-time join.
--
-- Configured in feature_store.yaml:
--
--   offline_store:
--     type: lua
--     module: modules/jsonl_store.lua
--     join: lua          # optional: answer historical retrieval here
--
-- It reads every lua_source that names no module of its own; each such
-- source gives the file and its columns as options:
--
--   lua_source { name = "stats", options = { path = "data/driver_stats.jsonl",
--                columns = "driver_id,event_timestamp,created,conv_rate" },
--                timestamp_field = "event_timestamp", created_timestamp_column = "created" }
--
-- read(request) gets the source and hints (request.start and request["end"]:
-- the event times that matter, epoch seconds, nil when unbounded) and
-- returns the column names and the rows; rows outside the hinted range are
-- left out here, and moonfeast filters again. Without `join: lua`,
-- moonfeast's point-in-time join runs over those rows. With it,
-- get_historical_features(request) answers instead: it gets the entity
-- rows and the features and returns one column of values per feature.

local options, host = ...

local function columns_of(source)
  local cols = {}
  for name in string.gmatch(source.options.columns or "", "[^,]+") do cols[#cols + 1] = name end
  if #cols == 0 then error("source '" .. source.name .. "': give options.columns") end
  return cols
end

-- The file's column that a name of the view's (after the source's
-- field_mapping) comes from.
local function raw(source, name)
  for column, mapped in pairs(source.field_mapping) do
    if mapped == name then return column end
  end
  return name
end

-- The objects of a source's file whose event time is in [lo, hi] (nil:
-- unbounded), each with its event and created times (__t, __c) in seconds.
local function objects(source, lo, hi)
  local path = source.options.path
  if path == nil then error("source '" .. source.name .. "': give options.path") end
  local tcol = raw(source, source.timestamp_field)
  local ccol = source.created_timestamp_column and raw(source, source.created_timestamp_column)
  local lines, out = host.lines(path), {}
  for i = 1, #lines do
    if string.find(lines[i], "%S") then
      local ok, obj = pcall(host.json, lines[i])
      if not ok then error(path .. ":" .. i .. ": " .. tostring(obj)) end
      if type(obj) ~= "table" then error(path .. ":" .. i .. ": not a JSON object") end
      local t = obj[tcol]
      t = type(t) == "string" and host.timestamp(t) or t
      if type(t) ~= "number" then error(path .. ":" .. i .. ": no timestamp in '" .. tcol .. "'") end
      if (lo == nil or t >= lo) and (hi == nil or t <= hi) then
        local c = ccol and obj[ccol]
        obj.__t, obj.__c = t, type(c) == "string" and host.timestamp(c) or c or 0
        out[#out + 1] = obj
      end
    end
  end
  return out
end

local store = {}

function store.read(request)
  local cols = columns_of(request.source)
  local rows = {}
  for _, obj in ipairs(objects(request.source, request.start, request["end"])) do
    local row = {}
    for c = 1, #cols do row[c] = obj[cols[c]] end
    rows[#rows + 1] = row
  end
  return cols, rows
end

-- The text a key is compared by, for its dtype: integer and float keys as
-- numbers (so 7, "7" and "007" are one key, and -0, 0.0 and 0 another, as
-- SQL joins them; every NaN is one key), others as their text; nil for a
-- null key, which matches nothing.
local function key_text(v, dtype)
  if v == nil then return nil end
  if string.find(dtype, "^Int") then
    local n = tonumber(v)
    if n == nil then return nil end
    return string.format("%.0f", n)
  end
  if string.find(dtype, "^Float") then
    local n = tonumber(v)
    if n == nil then return nil end
    if n ~= n then return "nan" end
    if n == 0 then return "0" end
    return string.format("%.17g", n)
  end
  return tostring(v)
end

-- The key of an object or entity row: its join key values' texts, or nil.
local function key_of(get, names, dtypes)
  local parts = {}
  for k, name in ipairs(names) do
    parts[k] = key_text(get(name), dtypes[k])
    if parts[k] == nil then return nil end
  end
  return table.concat(parts, "\0")
end

if options.join == "lua" then
  function store.get_historical_features(request)
    local ents, times = request.entities, request.entities.event_times
    local at = {}
    for i, name in ipairs(ents.columns) do at[name] = i end
    local by_source = {} -- source name -> key text -> objects
    local out = {}
    for f, feat in ipairs(request.features) do
      local groups = by_source[feat.source.name]
      if groups == nil then
        groups = {}
        for _, obj in ipairs(objects(feat.source)) do
          local key = key_of(function(name) return obj[raw(feat.source, name)] end,
                             feat.join_keys, feat.join_key_types)
          if key ~= nil then
            local g = groups[key]
            if g == nil then g = {}; groups[key] = g end
            g[#g + 1] = obj
          end
        end
        by_source[feat.source.name] = groups
      end
      local col, column = {}, raw(feat.source, feat.name)
      for i, row in ipairs(ents.rows) do
        local key = key_of(function(name) return row[at[name]] end,
                           feat.entity_columns, feat.join_key_types)
        local T, best = times[i], nil
        for _, obj in ipairs(key and groups[key] or {}) do
          if obj.__t <= T and (feat.ttl == 0 or obj.__t >= T - feat.ttl) then
            -- the latest event wins; on a tie, the latest created; then the later row
            if best == nil or obj.__t > best.__t or (obj.__t == best.__t and obj.__c >= best.__c) then
              best = obj
            end
          end
        end
        col[i] = best and best[column]
      end
      out[f] = col
    end
    return out
  end
end

return store
