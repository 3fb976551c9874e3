-- memory.lua — an online store kept in memory, written in Lua.
--
-- moonfeast calls this chunk once per instance (one per thread that uses
-- the store) and keeps the table it returns. The data lives in the
-- instance: each thread, and each process, has its own. That makes it a
-- store for tests and for a program that reads and writes from one thread
-- (or that materializes and serves through one thread of `moonfeast
-- serve --threads 1`); it shows the contract every Lua store keeps.

local data = {} -- data[project][view][key] = { ts, created, value }

local function view_table(project, view)
  local p = data[project]
  if p == nil then p = {}; data[project] = p end
  local v = p[view]
  if v == nil then v = {}; p[view] = v end
  return v
end

local store = {}

-- keep, drop: lists of view names. Nothing to create; the dropped views
-- lose their rows.
function store.update(project, keep, drop)
  local p = data[project]
  if p == nil then return end
  for i = 1, #drop do p[drop[i]] = nil end
end

function store.teardown(project, views)
  local p = data[project]
  if p == nil then return end
  for i = 1, #views do p[views[i]] = nil end
end

-- rows.keys[i], rows.ts[i], rows.created[i], rows.values[i] for i = 1..rows.n.
-- Newer wins: a stored row with a later ts, or the same ts and a later
-- created time, stays.
function store.write(project, view, rows)
  local t = view_table(project, view)
  local keys, ts, created, values = rows.keys, rows.ts, rows.created, rows.values
  for i = 1, rows.n do
    local k, old = keys[i], t[keys[i]]
    if old == nil or ts[i] > old[1] or (ts[i] == old[1] and created[i] >= old[2]) then
      t[k] = { ts[i], created[i], values[i] }
    end
  end
end

-- Two lists as long as keys: the stored time and value of each key, nil
-- where there is none.
function store.read(project, view, keys)
  local t = view_table(project, view)
  local ts, values = {}, {}
  for i = 1, #keys do
    local row = t[keys[i]]
    if row ~= nil then
      ts[i], values[i] = row[1], row[3]
    end
  end
  return ts, values
end

return store
