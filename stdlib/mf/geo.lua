-- mf.geo — distances on the Earth for on-demand transforms.
--   local g = require "mf.geo"
--
-- The Earth is a sphere of radius 6371.0088 km (the IUGG mean radius,
-- EARTH_RADIUS_KM); coordinates are degrees. Rules as in every stdlib
-- module (docs/definitions.md, "Standard library"): a nil coordinate (a
-- null feature) gives nil; misuse raises "mf.geo.FN: ARG must be ..." at
-- the caller's line; NaN follows IEEE arithmetic (NaN in, NaN out).
-- No function has a loop (transforms without loops run JIT-compiled).
-- The module returns a local table and sets no globals.

local M = {}

local type, tostring, error = type, tostring, error
local sin, cos, asin, sqrt, pi = math.sin, math.cos, math.asin, math.sqrt, math.pi

local R = 6371.0088
local RAD = pi / 180

M.EARTH_RADIUS_KM = R

-- A misused argument: raise `text` at the line that called M[fn].
local function misuse(fn, text)
    error("mf.geo." .. fn .. ": " .. text, 3)
end

-- A value for an error message: numbers as text, else the type.
local function got(v)
    if type(v) == "number" then return tostring(v) end
    return type(v)
end

local LAT = " must be a latitude from -90 to 90, got "

-- haversine(lat1, lon1, lat2, lon2): the great-circle distance in km.
-- Latitudes outside [-90, 90] (infinities too) are errors; longitudes may
-- be any number (they wrap), an infinite one gives NaN. The haversine
-- term is capped at 1, which rounding can pass near antipodes.
function M.haversine(lat1, lon1, lat2, lon2)
    if lat1 ~= nil and (type(lat1) ~= "number" or lat1 < -90 or lat1 > 90) then
        misuse("haversine", "lat1" .. LAT .. got(lat1))
    end
    if lon1 ~= nil and type(lon1) ~= "number" then
        misuse("haversine", "lon1 must be a number, got " .. got(lon1))
    end
    if lat2 ~= nil and (type(lat2) ~= "number" or lat2 < -90 or lat2 > 90) then
        misuse("haversine", "lat2" .. LAT .. got(lat2))
    end
    if lon2 ~= nil and type(lon2) ~= "number" then
        misuse("haversine", "lon2 must be a number, got " .. got(lon2))
    end
    if lat1 == nil or lon1 == nil or lat2 == nil or lon2 == nil then return nil end
    local p1, p2 = lat1 * RAD, lat2 * RAD
    local sp = sin((p2 - p1) * 0.5)
    local sl = sin((lon2 - lon1) * RAD * 0.5)
    local a = sp * sp + cos(p1) * cos(p2) * sl * sl
    if a > 1 then a = 1 end
    return 2 * R * asin(sqrt(a))
end

return M
