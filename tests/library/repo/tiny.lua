-- Two users, one score each; a push source; a transform that needs the
-- stdlib (mf.math) and a request field.
local user = entity { name = "user", join_keys = { "user_id" }, value_type = Int64 }

local scores = file_source { name = "scores", path = "data/scores.csv", timestamp_field = "ts" }

push_source { name = "score_push", batch_source = scores }

local stats = feature_view {
  name = "user_stats", entities = { user }, source = "score_push",
  schema = { field { name = "score", dtype = Float64 }, field { name = "games", dtype = Int64 } },
}

local bonus = request_source { name = "bonus", schema = { field { name = "bonus", dtype = Float64 } } }

on_demand_feature_view {
  name = "boosted", sources = { stats, bonus },
  schema = { field { name = "total", dtype = Float64 } },
  transform = function(row)
    local m = require "mf.math"
    if row.score == nil then return { total = null } end
    return { total = m.round(row.score + row.bonus, 2) }
  end,
}

feature_service { name = "ranking", features = { stats, "boosted" } }
