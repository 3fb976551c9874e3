-- The edge scoring example: what is known about each user (materialized
-- from data/user_stats.csv), what each request brings (the transaction's
-- amount and country) and a Lua transform that scores the two together.

local user = entity { name = "user", join_keys = { "user_id" }, value_type = Int64 }

local user_stats = feature_view {
  name = "user_stats",
  entities = { user },
  source = file_source {
    name = "user_stats_source",
    path = "data/user_stats.csv",
    timestamp_field = "event_timestamp",
  },
  schema = {
    field { name = "avg_amount_30d", dtype = Float64 },
    field { name = "txn_count_24h", dtype = Int64 },
    field { name = "home_country", dtype = String },
    field { name = "account_age_days", dtype = Int64 },
    field { name = "chargebacks_90d", dtype = Int64 },
  },
}

local transaction = request_source {
  name = "transaction",
  schema = {
    field { name = "amount", dtype = Float64 },
    field { name = "country", dtype = String },
  },
}

-- score in [0, 1]: an amount far above the user's average, many recent
-- transactions, a country other than home, past chargebacks and a young
-- account each add to it. decision: allow below 0.3, block from 0.6.
on_demand_feature_view {
  name = "fraud",
  sources = { user_stats, transaction },
  schema = {
    field { name = "score", dtype = Float64 },
    field { name = "decision", dtype = String },
  },
  transform = function(row)
    local m = require "mf.math"
    if row.avg_amount_30d == nil then          -- a user we know nothing of
      return { score = null, decision = "review" }
    end
    local ratio = m.safe_div(row.amount, row.avg_amount_30d, 10)
    local s = 0.35 * m.clamp(m.log1p(ratio) / m.log1p(10), 0, 1)
            + 0.20 * m.clamp(row.txn_count_24h / 20, 0, 1)
            + (row.country ~= row.home_country and 0.25 or 0)
            + 0.15 * m.clamp(row.chargebacks_90d / 3, 0, 1)
            + (row.account_age_days < 30 and 0.05 or 0)
    s = m.round(s, 3)
    local decision = "allow"
    if s >= 0.6 then decision = "block" elseif s >= 0.3 then decision = "review" end
    return { score = s, decision = decision }
  end,
}
