-- Feature definitions of the quickstart. `moonfeast apply` registers them.
-- Reference: docs/definitions.md

local driver = entity {
  name = "driver",
  join_keys = { "driver_id" },
  value_type = Int64,
  description = "A driver of the ride-hailing service",
}

local driver_stats_source = file_source {
  name = "driver_hourly_stats_source",
  path = "data/d.csv",
  timestamp_field = "event_timestamp",
  created_timestamp_column = "created",
}

local driver_stats = feature_view {
  name = "driver_hourly_stats",
  entities = { driver },
  ttl = days(1),
  schema = {
    field { name = "conv_rate", dtype = Float32 },
    field { name = "acc_rate", dtype = Float32 },
    field { name = "avg_daily_trips", dtype = Int64, description = "Average daily trips" },
  },
  source = driver_stats_source,
  online = true,
  tags = { team = "driver_performance" },
}

-- Fresh values can be pushed straight to the online store.
local driver_stats_push_source = push_source {
  name = "driver_stats_push_source",
  batch_source = driver_stats_source,
}

local driver_stats_fresh = feature_view {
  name = "driver_hourly_stats_fresh",
  entities = { driver },
  ttl = days(1),
  schema = {
    field { name = "conv_rate", dtype = Float32 },
    field { name = "acc_rate", dtype = Float32 },
    field { name = "avg_daily_trips", dtype = Int64 },
  },
  source = driver_stats_push_source,
  tags = { team = "driver_performance" },
}

-- Values supplied with each request.
local input_request = request_source {
  name = "vals_to_add",
  schema = {
    field { name = "val_to_add", dtype = Int64 },
    field { name = "val_to_add_2", dtype = Int64 },
  },
}

-- Computed at request time from stored and request values.
local transformed_conv_rate = on_demand_feature_view {
  name = "transformed_conv_rate",
  sources = { driver_stats, input_request },
  schema = {
    field { name = "conv_rate_plus_val1", dtype = Float64 },
    field { name = "conv_rate_plus_val2", dtype = Float64 },
  },
  transform = function(row)
    return {
      conv_rate_plus_val1 = row.conv_rate + row.val_to_add,
      conv_rate_plus_val2 = row.conv_rate + row.val_to_add_2,
    }
  end,
}

feature_service {
  name = "driver_activity_v1",
  features = { driver_stats:select { "conv_rate" }, transformed_conv_rate },
}

feature_service {
  name = "driver_activity_v2",
  features = { driver_stats },
}
