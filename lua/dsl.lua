-- dsl.lua — the feature definition language (module "moonfeast.dsl").
--
-- runtime/lua_host.c creates one definition session per load:
--   local S = dsl.session(project, files)   -- files: chunkname -> source text
--   env = S.env                              -- globals of every definition file
--   ... run each file with setfenv(chunk, env) ...
--   local objects = S.finish()               -- validated, references resolved
-- Each object is { kind = "entity"|..., spec = <table shaped like the
-- *Spec message of runtime/registry.proto>, file = ..., line = ... }.
--
-- Every validation failure raises a table { mf = true, message, file, line }
-- naming the definition at fault; lua_host.c turns it into an mf_error.
--
-- What user code gets back from a constructor (an entity, a view, a field,
-- a dtype, a projection) is an empty, read-only proxy table; what it stands
-- for lives in a record that only this module can reach (`data`). So a file
-- cannot edit an object after it was validated: what finish() returns is
-- exactly what was checked. Lists the user passes in are copied when the
-- constructor runs. The module returns a local table and sets no globals.

local M = {}

local type, pairs, ipairs, tostring, select, error, setmetatable, rawget =
    type, pairs, ipairs, tostring, select, error, setmetatable, rawget
-- the real metatable, whatever __metatable a user table declares
local getmetatable = debug.getmetatable
local sort, concat, insert = table.sort, table.concat, table.insert
local format, floor = string.format, math.floor
local getinfo = debug.getinfo
local getupvalue = debug.getupvalue

---------------------------------------------------------------------------
-- Value types (Feast's ValueType numbers, docs/concepts.md, "Reading source data")
---------------------------------------------------------------------------

local SCALARS = { Bytes = 1, String = 2, Int32 = 3, Int64 = 4, Float64 = 5,
                  Float32 = 6, Bool = 7, UnixTimestamp = 8 }

---------------------------------------------------------------------------
-- Proxies: what user code holds
---------------------------------------------------------------------------

-- proxy -> record. Records are this module's own tables; user code only
-- ever sees the proxies (empty tables whose metatable is hidden).
local data = setmetatable({}, { __mode = "k" })

local function record(v)
    if type(v) ~= "table" then return nil end
    return data[v]
end

-- A metatable for proxies of one sort: reading `name` (and the keys of
-- `methods`) works, any other key is an error naming the object, and
-- writing is an error.
local function proxy_mt(label, methods)
    local mt = {}
    mt.__index = function(p, k)
        local r = data[p]
        if methods and methods[k] then return methods[k] end
        if k == "name" then return r.name end
        error(string.format("%s '%s' has no field '%s' (objects expose their name%s)",
              label(r), tostring(r.name), tostring(k),
              methods and " and the methods select, with_name, with_join_key_map" or ""), 2)
    end
    mt.__newindex = function(p)
        local r = data[p]
        error(string.format("%s '%s' is read-only", label(r), tostring(r.name)), 2)
    end
    mt.__tostring = function(p)
        local r = data[p]
        return label(r) .. " " .. tostring(r.name)
    end
    mt.__metatable = false
    return mt
end

local function wrap(rec, mt)
    local p = setmetatable({}, mt)
    data[p] = rec
    return p
end

local DtypeMT = proxy_mt(function() return "dtype" end)

local function dtype(name, code)
    return wrap({ is_dtype = true, name = name, code = code }, DtypeMT)
end

local DTYPES = {}
for name, code in pairs(SCALARS) do DTYPES[name] = dtype(name, code) end

local fail, caller_loc -- defined below

local function Array(t)
    if type(t) == "string" then t = DTYPES[t] end
    local r = record(t)
    if not (r and r.is_dtype) or r.code > 8 then
        fail(caller_loc(), "Array() takes a scalar type (Int32, Int64, Float32, "
             .. "Float64, String, Bytes, Bool, UnixTimestamp)")
    end
    return dtype("Array(" .. r.name .. ")", r.code + 10)
end

---------------------------------------------------------------------------
-- Errors and locations
---------------------------------------------------------------------------

function fail(loc, fmt, ...)
    error({ mf = true, message = format(fmt, ...),
            file = loc and loc.file or "", line = loc and loc.line or 0 }, 0)
end

-- Location of the user code that called a DSL constructor: the first
-- stack frame outside this file.
function caller_loc()
    local me = getinfo(1, "S").source
    for level = 2, 30 do
        local info = getinfo(level, "Sl")
        if not info then break end
        if info.source ~= me and info.what ~= "C" then
            local src = info.source
            if src:sub(1, 1) == "@" then src = src:sub(2) end
            return { file = src, line = info.currentline }
        end
    end
    return { file = "", line = 0 }
end

local NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$"

local function check_name(loc, what, v)
    if type(v) ~= "string" then
        fail(loc, "%s needs a string 'name'", what)
    end
    if #v > 200 then
        fail(loc, "%s name '%s...' is too long (at most 200 characters)", what, v:sub(1, 20))
    end
    if not v:match(NAME_PATTERN) then
        fail(loc, "%s name '%s' is not valid (letters, digits and _; not "
             .. "starting with a digit)", what, v)
    end
end

-- Reject keys not in `allowed`; t is the argument table.
local function check_keys(loc, what, t, allowed)
    local set = {}
    for _, k in ipairs(allowed) do set[k] = true end
    local bad = {}
    for k in pairs(t) do
        if not set[k] then bad[#bad + 1] = tostring(k) end
    end
    if #bad > 0 then
        sort(bad)
        fail(loc, "%s: unknown field '%s' (allowed: %s)", what, bad[1],
             concat(allowed, ", "))
    end
end

local function check_arg(loc, what, t)
    if type(t) ~= "table" or getmetatable(t) ~= nil then
        fail(loc, "%s takes one table argument, e.g. %s { name = ... }",
             what, what)
    end
end

local function opt_string(loc, what, t, key)
    local v = t[key]
    if v ~= nil and type(v) ~= "string" then
        fail(loc, "%s: '%s' must be a string, got %s", what, key, type(v))
    end
    return v
end

local function req_string(loc, what, t, key)
    local v = opt_string(loc, what, t, key)
    if v == nil or v == "" then
        fail(loc, "%s: missing required field '%s'", what, key)
    end
    return v
end

local function opt_bool(loc, what, t, key, default)
    local v = t[key]
    if v == nil then return default end
    if type(v) ~= "boolean" then
        fail(loc, "%s: '%s' must be true or false, got %s", what, key, type(v))
    end
    return v
end

-- A list of strings (or a single string when single_ok).
local function string_list(loc, what, key, v, single_ok)
    if single_ok and type(v) == "string" then v = { v } end
    if type(v) ~= "table" then
        fail(loc, "%s: '%s' must be a list of strings", what, key)
    end
    local out = {}
    for i = 1, #v do
        if type(v[i]) ~= "string" then
            fail(loc, "%s: '%s' item %d must be a string", what, key, i)
        end
        out[i] = v[i]
    end
    for k in pairs(v) do
        if type(k) ~= "number" then
            fail(loc, "%s: '%s' must be a list, found key '%s'", what, key,
                 tostring(k))
        end
    end
    return out
end

-- tags = { k = "v" } -> sorted list of { key, value }
local function tags_of(loc, what, v)
    if v == nil then return {} end
    if type(v) ~= "table" then
        fail(loc, "%s: 'tags' must be a table of strings", what)
    end
    local out = {}
    for k, val in pairs(v) do
        if type(k) ~= "string" or type(val) ~= "string" then
            fail(loc, "%s: tags must map strings to strings (tag '%s')",
                 what, tostring(k))
        end
        out[#out + 1] = { key = k, value = val }
    end
    sort(out, function(a, b) return a.key < b.key end)
    return out
end

local function dtype_of(loc, what, v)
    if type(v) == "string" then
        local arr = v:match("^Array%((%w+)%)$")
        if arr and DTYPES[arr] then return record(DTYPES[arr]).code + 10 end
        if DTYPES[v] then return record(DTYPES[v]).code end
        fail(loc, "%s: unknown dtype '%s' (use Int32, Int64, Float32, Float64,"
             .. " String, Bytes, Bool, UnixTimestamp or Array(...))", what, v)
    end
    local r = record(v)
    if r and r.is_dtype then return r.code end
    if v == nil then fail(loc, "%s: missing required field 'dtype'", what) end
    fail(loc, "%s: unknown dtype %s", what, tostring(v))
end

-- The largest ttl whose microseconds fit in an int64 (about 292,000 years);
-- beyond it the conversion to the registry's int64 would be undefined.
local MAX_TTL = 9223372036854

local function duration(loc, what, v)
    if type(v) ~= "number" or v ~= v then
        fail(loc, "%s: 'ttl' must be a number of seconds (use seconds(), "
             .. "minutes(), hours(), days(), weeks())", what)
    end
    if v < 0 then fail(loc, "%s: ttl must not be negative (got %s)", what, v) end
    if v > MAX_TTL then
        fail(loc, "%s: ttl is too large (got %s; at most %.0f seconds)", what, v,
             MAX_TTL)
    end
    if v ~= floor(v) then
        fail(loc, "%s: ttl must be a whole number of seconds (got %s)", what, v)
    end
    return v
end

---------------------------------------------------------------------------
-- Objects
---------------------------------------------------------------------------

-- Records: entities, sources, services and views have is_obj (and kind),
-- projections is_proj, fields is_field, dtypes is_dtype.

local function label_of(r)
    if r.is_proj then return "projection of" end
    if r.is_field then return "field" end
    return (r.kind:gsub("_", " "):gsub("on demand", "on-demand"))
end

-- The record of an object of `kind` (any kind when nil), or nil.
local function is_obj(v, kind)
    local r = record(v)
    if r and r.is_obj and (kind == nil or r.kind == kind) then return r end
    return nil
end

local function projection_of(v)
    local r = record(v)
    if r and r.is_proj then return r end
    return { is_proj = true, view = v, name = r and r.name or v,
             features = nil, alias = nil, join_key_map = {} }
end

local function proj_copy(p)
    local c = { is_proj = true, view = p.view, name = p.name,
                features = p.features, alias = p.alias, loc = p.loc,
                join_key_map = {} }
    for k, v in pairs(p.join_key_map) do c.join_key_map[k] = v end
    return c
end

local ProjMT -- defined below, with the methods

-- view:select { "a", "b" } / view:with_name("alias") /
-- view:with_join_key_map { view_key = "entity_column" }
local function m_select(self, list)
    local loc = caller_loc()
    local p = proj_copy(projection_of(self))
    p.features = string_list(loc, "select", "features", list, true)
    if #p.features == 0 then fail(loc, "select needs at least one feature") end
    p.loc = loc
    return wrap(p, ProjMT)
end

local function m_with_name(self, alias)
    local loc = caller_loc()
    check_name(loc, "with_name: alias", alias)
    local p = proj_copy(projection_of(self))
    p.alias = alias
    p.loc = p.loc or loc
    return wrap(p, ProjMT)
end

local function m_with_join_key_map(self, map)
    local loc = caller_loc()
    if type(map) ~= "table" then
        fail(loc, "with_join_key_map takes a table { view_key = 'column' }")
    end
    local p = proj_copy(projection_of(self))
    for k, v in pairs(map) do
        if type(k) ~= "string" or type(v) ~= "string" then
            fail(loc, "with_join_key_map: keys and values must be strings")
        end
        p.join_key_map[k] = v
    end
    p.loc = p.loc or loc
    return wrap(p, ProjMT)
end

local METHODS = { select = m_select, with_name = m_with_name,
                  with_join_key_map = m_with_join_key_map }
local ObjMT = proxy_mt(label_of)            -- entities, sources, services
local ViewMT = proxy_mt(label_of, METHODS)  -- feature views, on-demand views
ProjMT = proxy_mt(label_of, METHODS)
local FieldMT = proxy_mt(label_of)

-- A copy of a list of references (objects or names) the user passed:
-- items 1..n up to the first nil, read raw.
local function ref_list(loc, what, key, v)
    if type(v) ~= "table" or getmetatable(v) ~= nil then
        fail(loc, "%s: '%s' must be a list", what, key)
    end
    local out, i = {}, 1
    while rawget(v, i) ~= nil do
        out[i] = rawget(v, i)
        i = i + 1
    end
    return out
end

---------------------------------------------------------------------------
-- The session
---------------------------------------------------------------------------

-- Source text of a transform function, cut from its file: from the first
-- "function" on its first line to the last "end" on its last line.
local function function_source(files, load_text, loc, what, fn)
    local info = getinfo(fn, "S")
    local src = info.source
    if src:sub(1, 1) ~= "@" or not files[src:sub(2)] then
        fail(loc, "%s: the transform must be defined in a definition file",
             what)
    end
    local name, value = getupvalue(fn, 1)
    if name then
        fail(loc, "%s: the transform uses '%s' from outside its body; a "
             .. "transform may use only its arguments, globals and require()",
             what, name)
    end
    local lines, n = {}, 0
    for line in (files[src:sub(2)] .. "\n"):gmatch("([^\n]*)\n") do
        n = n + 1
        if n >= info.linedefined and n <= info.lastlinedefined then
            lines[#lines + 1] = line
        end
    end
    -- LuaJIT gives lines, not columns: try each "function" on the first
    -- line (leftmost first) and each "end" on the last (rightmost first)
    -- and keep the first cut that compiles as an expression.
    local first, last = lines[1] or "", lines[#lines] or ""
    local starts, ends = {}, {}
    local pos = 1
    while #starts < 8 do
        local a = first:find("function", pos, true)
        if not a then break end
        starts[#starts + 1] = a
        pos = a + 1
    end
    pos = 1
    while true do
        local a, b = last:find("end", pos, true)
        if not a then break end
        table.insert(ends, 1, b)
        pos = a + 1
    end
    -- at most 8 x 8 tries: each compiles the whole text
    for i = #ends, 9, -1 do ends[i] = nil end
    for _, st in ipairs(starts) do
        for _, en in ipairs(ends) do
            local body = {}
            for i = 1, #lines do body[i] = lines[i] end
            if #body == 1 then
                body[1] = first:sub(st, en)
            else
                body[1] = first:sub(st)
                body[#body] = last:sub(1, en)
            end
            local text = concat(body, "\n")
            if (#body > 1 or en > st) and load_text("return " .. text, "=transform") then
                local _ = value
                return text, src:sub(2), info.linedefined
            end
        end
    end
    fail(loc, "%s: cannot find the transform's source text", what)
end

-- project: the project's name; files: chunk name -> source text of every
-- definition file; load_text(src, chunkname) -> fn | nil, err compiles
-- source text only (never bytecode).
function M.session(project, files, load_text)
    local S = {}
    local objects = {}        -- in definition order
    local by_kind = {}        -- kind -> name -> object
    local kinds = { "entity", "data_source", "feature_view",
                    "on_demand_feature_view", "feature_service" }
    for _, k in ipairs(kinds) do by_kind[k] = {} end

    -- Record obj (a record with kind, name, loc, spec) and hand back its
    -- proxy.
    local function register(kind, obj, label)
        local prev = by_kind[kind][obj.name]
        if prev then
            fail(obj.loc, "duplicate %s name '%s' (first defined at %s:%d)",
                 label, obj.name, prev.loc.file, prev.loc.line)
        end
        -- refs name views of either kind (as in Feast, one name space)
        local other = kind == "feature_view" and "on_demand_feature_view"
            or kind == "on_demand_feature_view" and "feature_view" or nil
        prev = other and by_kind[other][obj.name]
        if prev then
            fail(obj.loc, "duplicate view name '%s': %s at %s:%d has it already (feature views "
                 .. "and on-demand views share one name space)", obj.name,
                 other == "feature_view" and "a feature view" or "an on-demand view",
                 prev.loc.file, prev.loc.line)
        end
        obj.is_obj = true
        by_kind[kind][obj.name] = obj
        objects[#objects + 1] = obj
        local view = kind == "feature_view" or kind == "on_demand_feature_view"
        return wrap(obj, view and ViewMT or ObjMT)
    end

    local function field_list(loc, what, key, list)
        if list == nil then return nil end
        if type(list) ~= "table" then
            fail(loc, "%s: '%s' must be a list of field { ... }", what, key)
        end
        local out, seen = {}, {}
        for i, p in ipairs(ref_list(loc, what, key, list)) do
            local f = record(p)
            if not (f and f.is_field) then
                fail(loc, "%s: '%s' item %d is not a field { name = ..., "
                     .. "dtype = ... }", what, key, i)
            end
            if seen[f.name] then
                fail(f.loc, "%s: duplicate feature name '%s'", what, f.name)
            end
            seen[f.name] = true
            out[#out + 1] = { name = f.name, dtype = f.dtype,
                              description = f.description, tags = f.tags }
        end
        return out
    end

    local env = {}

    function env.field(t)
        local loc = caller_loc()
        check_arg(loc, "field", t)
        check_keys(loc, "field", t, { "name", "dtype", "description", "tags" })
        check_name(loc, "field", t.name)
        return wrap({ is_field = true,
            name = t.name, dtype = dtype_of(loc, "field '" .. t.name .. "'", t.dtype),
            description = opt_string(loc, "field", t, "description"),
            tags = tags_of(loc, "field", t.tags), loc = loc }, FieldMT)
    end

    function env.entity(t)
        local loc = caller_loc()
        check_arg(loc, "entity", t)
        check_keys(loc, "entity", t, { "name", "join_keys", "join_key",
            "value_type", "description", "tags", "owner" })
        check_name(loc, "entity", t.name)
        local what = "entity '" .. t.name .. "'"
        local keys = t.join_keys or t.join_key
        if keys == nil then
            fail(loc, "%s: missing required field 'join_keys'", what)
        end
        keys = string_list(loc, what, "join_keys", keys, true)
        if #keys == 0 then fail(loc, "%s: join_keys must not be empty", what) end
        local seen = {}
        for _, k in ipairs(keys) do
            if not k:match(NAME_PATTERN) then
                fail(loc, "%s: join key '%s' is not a valid column name", what, k)
            end
            if seen[k] then fail(loc, "%s: duplicate join key '%s'", what, k) end
            seen[k] = true
        end
        local vt = t.value_type ~= nil and dtype_of(loc, what, t.value_type) or 0
        return register("entity", {
            kind = "entity", name = t.name, loc = loc, join_keys = keys,
            spec = { name = t.name, join_keys = keys, value_type = vt,
                     description = opt_string(loc, what, t, "description"),
                     tags = tags_of(loc, what, t.tags),
                     owner = opt_string(loc, what, t, "owner") } }, "entity")
    end

    local function field_mapping(loc, what, m)
        if m == nil then return {} end
        if type(m) ~= "table" then
            fail(loc, "%s: field_mapping must be a table { source_col = 'name' }", what)
        end
        local out = {}
        for k, v in pairs(m) do
            if type(k) ~= "string" or type(v) ~= "string" then
                fail(loc, "%s: field_mapping must map strings to strings", what)
            end
            out[#out + 1] = { source_column = k, name = v }
        end
        sort(out, function(a, b) return a.source_column < b.source_column end)
        return out
    end

    local function source_common(loc, what, t, spec)
        spec.timestamp_field = req_string(loc, what, t, "timestamp_field")
        spec.created_timestamp_column =
            opt_string(loc, what, t, "created_timestamp_column")
        spec.field_mapping = field_mapping(loc, what, t.field_mapping)
        spec.description = opt_string(loc, what, t, "description")
        spec.tags = tags_of(loc, what, t.tags)
        spec.owner = opt_string(loc, what, t, "owner")
    end

    local function new_source(loc, spec, batch_ref)
        return register("data_source", {
            kind = "data_source", source_kind = spec.kind, name = spec.name,
            loc = loc, spec = spec, batch_ref = batch_ref }, "data source")
    end

    function env.file_source(t)
        local loc = caller_loc()
        check_arg(loc, "file_source", t)
        check_keys(loc, "file_source", t, { "name", "path", "timestamp_field",
            "created_timestamp_column", "field_mapping", "format", "delimiter",
            "description", "tags", "owner" })
        check_name(loc, "file_source", t.name)
        local what = "file_source '" .. t.name .. "'"
        local spec = { name = t.name, kind = "file",
                       path = req_string(loc, what, t, "path") }
        source_common(loc, what, t, spec)
        local fmt = opt_string(loc, what, t, "format")
            or ((spec.path:match("%.parquet/*$") and "parquet") or "csv")
        if fmt ~= "csv" and fmt ~= "parquet" then
            fail(loc, "%s: format '%s' is not supported (supported: csv, parquet)", what, fmt)
        end
        spec.format = fmt
        if fmt == "parquet" and t.delimiter ~= nil then
            fail(loc, "%s: delimiter applies to CSV files, not to parquet", what)
        end
        local d = opt_string(loc, what, t, "delimiter") or ","
        if #d ~= 1 or d == '"' or d == "\n" or d == "\r" then
            fail(loc, "%s: delimiter must be one character other than a quote "
                 .. "or a line break", what)
        end
        spec.delimiter = d
        return new_source(loc, spec)
    end

    function env.sqlite_source(t)
        local loc = caller_loc()
        check_arg(loc, "sqlite_source", t)
        check_keys(loc, "sqlite_source", t, { "name", "database", "table",
            "query", "timestamp_field", "created_timestamp_column",
            "field_mapping", "description", "tags", "owner" })
        check_name(loc, "sqlite_source", t.name)
        local what = "sqlite_source '" .. t.name .. "'"
        local spec = { name = t.name, kind = "sqlite",
                       database = req_string(loc, what, t, "database"),
                       table = opt_string(loc, what, t, "table"),
                       query = opt_string(loc, what, t, "query") }
        if (spec.table == nil) == (spec.query == nil) then
            fail(loc, "%s: give exactly one of 'table' and 'query'", what)
        end
        source_common(loc, what, t, spec)
        return new_source(loc, spec)
    end

    function env.lua_source(t)
        local loc = caller_loc()
        check_arg(loc, "lua_source", t)
        check_keys(loc, "lua_source", t, { "name", "module", "options", "timestamp_field",
            "created_timestamp_column", "field_mapping", "description", "tags", "owner" })
        check_name(loc, "lua_source", t.name)
        local what = "lua_source '" .. t.name .. "'"
        local spec = { name = t.name, kind = "lua",
                       module = opt_string(loc, what, t, "module") }
        if t.options ~= nil and type(t.options) ~= "table" then
            fail(loc, "%s: 'options' must be a table of strings", what)
        end
        spec.options = tags_of(loc, what, t.options)
        source_common(loc, what, t, spec)
        return new_source(loc, spec)
    end

    function env.push_source(t)
        local loc = caller_loc()
        check_arg(loc, "push_source", t)
        check_keys(loc, "push_source", t, { "name", "batch_source",
            "description", "tags", "owner" })
        check_name(loc, "push_source", t.name)
        local what = "push_source '" .. t.name .. "'"
        if t.batch_source == nil then
            fail(loc, "%s: missing required field 'batch_source'", what)
        end
        local spec = { name = t.name, kind = "push",
                       description = opt_string(loc, what, t, "description"),
                       tags = tags_of(loc, what, t.tags),
                       owner = opt_string(loc, what, t, "owner") }
        return new_source(loc, spec, t.batch_source)
    end

    function env.request_source(t)
        local loc = caller_loc()
        check_arg(loc, "request_source", t)
        check_keys(loc, "request_source", t, { "name", "schema", "description",
            "tags", "owner" })
        check_name(loc, "request_source", t.name)
        local what = "request_source '" .. t.name .. "'"
        if t.schema == nil then fail(loc, "%s: missing required field 'schema'", what) end
        local schema = field_list(loc, what, "schema", t.schema)
        if #schema == 0 then fail(loc, "%s: schema must not be empty", what) end
        return new_source(loc, { name = t.name, kind = "request",
            schema = schema,
            description = opt_string(loc, what, t, "description"),
            tags = tags_of(loc, what, t.tags),
            owner = opt_string(loc, what, t, "owner") })
    end

    function env.feature_view(t)
        local loc = caller_loc()
        check_arg(loc, "feature_view", t)
        check_keys(loc, "feature_view", t, { "name", "source", "entities",
            "schema", "ttl", "online", "description", "tags", "owner" })
        check_name(loc, "feature_view", t.name)
        local what = "feature_view '" .. t.name .. "'"
        if t.source == nil then fail(loc, "%s: missing required field 'source'", what) end
        local entities = t.entities or {}
        if type(entities) ~= "table" or getmetatable(entities) ~= nil then
            fail(loc, "%s: 'entities' must be a list of entities", what)
        end
        local obj = {
            kind = "feature_view", name = t.name, loc = loc,
            source_ref = t.source,
            entity_refs = ref_list(loc, what, "entities", entities),
            schema = field_list(loc, what, "schema", t.schema),
            spec = { name = t.name,
                     ttl_seconds = t.ttl ~= nil and duration(loc, what, t.ttl) or 0,
                     online = opt_bool(loc, what, t, "online", true),
                     description = opt_string(loc, what, t, "description"),
                     tags = tags_of(loc, what, t.tags),
                     owner = opt_string(loc, what, t, "owner") } }
        return register("feature_view", obj, "feature view")
    end

    function env.on_demand_feature_view(t)
        local loc = caller_loc()
        check_arg(loc, "on_demand_feature_view", t)
        check_keys(loc, "on_demand_feature_view", t, { "name", "sources",
            "schema", "transform", "mode", "write_to_online_store",
            "description", "tags", "owner" })
        check_name(loc, "on_demand_feature_view", t.name)
        local what = "on_demand_feature_view '" .. t.name .. "'"
        if type(t.sources) ~= "table" or #t.sources == 0 then
            fail(loc, "%s: 'sources' must list feature views and request sources", what)
        end
        if t.schema == nil then fail(loc, "%s: missing required field 'schema'", what) end
        local schema = field_list(loc, what, "schema", t.schema)
        if #schema == 0 then fail(loc, "%s: schema must not be empty", what) end
        local mode = opt_string(loc, what, t, "mode") or "row"
        if mode ~= "row" and mode ~= "batch" then
            fail(loc, "%s: mode must be \"row\" or \"batch\", got '%s'", what, mode)
        end
        local src, tfile, tline = nil, loc.file, loc.line
        if type(t.transform) == "function" then
            src, tfile, tline = function_source(files, load_text, loc, what, t.transform)
        elseif type(t.transform) == "string" then
            src = t.transform
            if not (src:match("^%s*function%W") and src:match("%Wend%s*$")) then
                fail(loc, "%s: a transform given as text must be a function "
                     .. "expression: \"function(row) ... end\"", what)
            end
        elseif t.transform == nil then
            fail(loc, "%s: missing required field 'transform'", what)
        else
            fail(loc, "%s: 'transform' must be a function", what)
        end
        local chunk, perr = load_text("return " .. src, "=transform")
        if not chunk then
            fail(loc, "%s: transform does not compile: %s", what, perr)
        end
        local obj = {
            kind = "on_demand_feature_view", name = t.name, loc = loc,
            source_refs = ref_list(loc, what, "sources", t.sources), schema = schema,
            spec = { name = t.name, features = schema, transform_source = src,
                     transform_file = tfile, transform_line = tline,
                     mode = mode,
                     write_to_online_store =
                         opt_bool(loc, what, t, "write_to_online_store", false),
                     description = opt_string(loc, what, t, "description"),
                     tags = tags_of(loc, what, t.tags),
                     owner = opt_string(loc, what, t, "owner") } }
        return register("on_demand_feature_view", obj, "on-demand feature view")
    end

    function env.feature_service(t)
        local loc = caller_loc()
        check_arg(loc, "feature_service", t)
        check_keys(loc, "feature_service", t, { "name", "features",
            "description", "tags", "owner" })
        check_name(loc, "feature_service", t.name)
        local what = "feature_service '" .. t.name .. "'"
        if type(t.features) ~= "table" or #t.features == 0 then
            fail(loc, "%s: 'features' must list feature views or projections", what)
        end
        return register("feature_service", {
            kind = "feature_service", name = t.name, loc = loc,
            feature_refs = ref_list(loc, what, "features", t.features),
            spec = { name = t.name,
                     description = opt_string(loc, what, t, "description"),
                     tags = tags_of(loc, what, t.tags),
                     owner = opt_string(loc, what, t, "owner") } },
            "feature service")
    end

    -- types and durations
    for name, d in pairs(DTYPES) do env[name] = d end
    env.Array = Array
    local function dur(mult, name)
        return function(n)
            if type(n) ~= "number" then
                fail(caller_loc(), "%s() takes a number, got %s", name, type(n))
            end
            return n * mult
        end
    end
    env.seconds, env.minutes, env.hours = dur(1, "seconds"), dur(60, "minutes"),
        dur(3600, "hours")
    env.days, env.weeks = dur(86400, "days"), dur(604800, "weeks")

    S.env = env

    -------------------------------------------------------------------------
    -- Resolution and cross-object validation
    -------------------------------------------------------------------------

    local function resolve(loc, what, kind, ref, label)
        if type(ref) == "string" then
            local o = by_kind[kind][ref]
            if not o then fail(loc, "%s refers to unknown %s '%s'", what, label, ref) end
            return o
        end
        local r = is_obj(ref, kind)
        if r then return r end
        r = record(ref)
        fail(loc, "%s: expected a %s or its name, got %s", what, label,
             r and (r.kind or label_of(r)) or type(ref) == "table" and "a table" or type(ref))
    end

    -- Feature names of a view (nil when its schema is inferred at apply).
    local function view_feature_names(v)
        if v.kind == "on_demand_feature_view" then
            local out = {}
            for i, f in ipairs(v.schema) do out[i] = f.name end
            return out
        end
        if not v.spec.features or v.spec.schema_inferred then return nil end
        local out = {}
        for i, f in ipairs(v.spec.features) do out[i] = f.name end
        return out
    end

    local function projection_spec(loc, what, ref, allow_odfv)
        local p = projection_of(ref)
        local v = p.view
        if type(v) == "string" then
            v = by_kind.feature_view[v] or
                (allow_odfv and by_kind.on_demand_feature_view[v])
            if not v then fail(loc, "%s refers to unknown feature view '%s'", what, p.view) end
        else
            v = is_obj(v, "feature_view") or
                (allow_odfv and is_obj(v, "on_demand_feature_view"))
            if not v then
                fail(loc, "%s: expected a feature view or a projection of one", what)
            end
        end
        local names = view_feature_names(v)
        local feats = p.features
        if feats and names then
            local have = {}
            for _, n in ipairs(names) do have[n] = true end
            for _, f in ipairs(feats) do
                if not have[f] then
                    fail(p.loc or loc, "%s refers to unknown feature '%s:%s'",
                         what, v.name, f)
                end
            end
        end
        local jkm = {}
        local keys = {}
        for _, e in ipairs(v.entity_refs or {}) do
            e = type(e) == "string" and by_kind.entity[e] or is_obj(e, "entity")
            if e then
                for _, k in ipairs(e.join_keys) do keys[k] = true end
            end
        end
        for k, c in pairs(p.join_key_map) do
            if v.kind == "feature_view" and not keys[k] then
                fail(p.loc or loc, "%s: with_join_key_map names '%s', which is not a join "
                     .. "key of feature view '%s'", what, k, v.name)
            end
            jkm[#jkm + 1] = { view_key = k, entity_column = c }
        end
        sort(jkm, function(a, b) return a.view_key < b.view_key end)
        return { view_name = v.name, alias = p.alias,
                 features = feats or names or {}, join_key_map = jkm }, v
    end

    function S.finish()
        local out = {}
        for _, o in ipairs(objects) do
            local what = o.kind:gsub("_", " "):gsub("on demand", "on-demand") .. " '" .. o.name .. "'"
            if o.kind == "data_source" and o.source_kind == "push" then
                local b = resolve(o.loc, what, "data_source", o.batch_ref, "data source")
                if b.source_kind ~= "file" and b.source_kind ~= "sqlite" then
                    fail(o.loc, "%s: batch_source must be a file_source or "
                         .. "sqlite_source, not a %s source", what, b.source_kind)
                end
                o.spec.batch_source = b.name
            elseif o.kind == "feature_view" then
                local src = resolve(o.loc, what, "data_source", o.source_ref, "data source")
                if src.source_kind == "request" then
                    fail(o.loc, "%s: a request source can only feed an "
                         .. "on_demand_feature_view", what)
                end
                o.spec.source = src.name
                local ents, cols, keyset = {}, {}, {}
                for i, e in ipairs(o.entity_refs) do
                    e = resolve(o.loc, what, "entity", e, "entity")
                    ents[i] = e.name
                    for _, k in ipairs(e.join_keys) do
                        if keyset[k] then
                            fail(o.loc, "%s: join key '%s' appears in two entities", what, k)
                        end
                        keyset[k] = true
                        cols[#cols + 1] = { name = k, dtype = e.spec.value_type }
                    end
                end
                o.spec.entities = ents
                local feats = {}
                if o.schema then
                    for _, f in ipairs(o.schema) do
                        if keyset[f.name] then
                            for _, c in ipairs(cols) do
                                if c.name == f.name then c.dtype = f.dtype end
                            end
                        else
                            feats[#feats + 1] = f
                        end
                    end
                    if #feats == 0 then
                        fail(o.loc, "%s: schema has no features besides join keys", what)
                    end
                    o.spec.features = feats
                else
                    o.spec.features = {}
                    o.spec.schema_inferred = true
                end
                o.spec.entity_columns = cols
            end
        end
        -- views and services need every view's features resolved first
        for _, o in ipairs(objects) do
            local what = o.kind:gsub("_", " "):gsub("on demand", "on-demand") .. " '" .. o.name .. "'"
            if o.kind == "on_demand_feature_view" then
                local views, reqs = {}, {}
                for i, s in ipairs(o.source_refs) do
                    local ds
                    if type(s) == "string" then
                        ds = not by_kind.feature_view[s] and by_kind.data_source[s]
                    else
                        ds = is_obj(s, "data_source")
                    end
                    if ds then
                        if ds.source_kind ~= "request" then
                            fail(o.loc, "%s: source %d must be a feature view or a "
                                 .. "request source, not a %s source", what, i,
                                 ds.source_kind)
                        end
                        reqs[#reqs + 1] = ds.name
                    else
                        views[#views + 1] = projection_spec(o.loc, what, s, false)
                    end
                end
                o.spec.source_views, o.spec.request_sources = views, reqs
                if o.spec.write_to_online_store then
                    if #views ~= 1 then
                        fail(o.loc, "%s: write_to_online_store needs exactly one feature view "
                             .. "among its sources (it has %d): its outputs are stored under "
                             .. "that view's entities", what, #views)
                    end
                    if by_kind.feature_view[o.name] then
                        fail(o.loc, "%s: write_to_online_store stores its outputs under its "
                             .. "name, which feature view '%s' has already", what, o.name)
                    end
                end
            elseif o.kind == "feature_service" then
                local projs, seen = {}, {}
                for _, f in ipairs(o.feature_refs) do
                    local p = projection_spec(o.loc, what, f, true)
                    local key = p.alias or p.view_name
                    if seen[key] then
                        fail(o.loc, "%s: view '%s' is listed twice; give one "
                             .. "projection an alias with with_name()", what, key)
                    end
                    seen[key] = true
                    projs[#projs + 1] = p
                end
                o.spec.features = projs
            end
            o.spec.project = project
            out[#out + 1] = { kind = o.kind, spec = o.spec, file = o.loc.file,
                              line = o.loc.line }
        end
        return out
    end

    return S
end

return M
