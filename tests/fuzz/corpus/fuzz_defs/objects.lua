local driver = entity { name = "driver", join_keys = { "driver_id" }, value_type = Int64 }
local src = file_source { name = "src", path = "data/d.csv", timestamp_field = "event_timestamp",
  created_timestamp_column = "created", field_mapping = { s = "label" }, tags = { t = "x" } }
local ps = push_source { name = "ps", batch_source = src }
local fv = feature_view { name = "fv", entities = { driver }, source = ps, ttl = hours(2),
  schema = { field { name = "a", dtype = Int64 }, field { name = "b", dtype = Float64 },
             field { name = "label", dtype = String } } }
local inferred = feature_view { name = "inferred", entities = { "driver" }, source = "src" }
local req = request_source { name = "req", schema = { field { name = "x", dtype = Array(Int32) } } }
local o = on_demand_feature_view { name = "o", sources = { fv, req }, mode = "row",
  schema = { field { name = "c", dtype = Float64 } },
  transform = function(r) return { c = r.a + r.b } end }
feature_service { name = "svc", features = { fv:select { "a" }:with_name("alias"),
  inferred:with_join_key_map { driver_id = "rider" }, o } }
