-- The game server example: player profiles (materialized from a CSV file),
-- match results (pushed by the server after each match) and a win rate
-- computed at read time from the results and a request field.

local player = entity { name = "player", join_keys = { "player_id" }, value_type = Int64 }

local profile_source = file_source {
  name = "player_profile_source",
  path = "data/player_profile.csv",
  timestamp_field = "event_timestamp",
}

feature_view {
  name = "player_profile",
  entities = { player },
  source = profile_source,
  schema = {
    field { name = "rating", dtype = Float64 },
    field { name = "level", dtype = Int64 },
    field { name = "xp", dtype = Int64 },
    field { name = "kills", dtype = Int64 },
    field { name = "deaths", dtype = Int64 },
    field { name = "assists", dtype = Int64 },
    field { name = "playtime_hours", dtype = Float64 },
    field { name = "reports", dtype = Int64 },
  },
}

-- Match results: the history is data/match_results.csv; the server pushes
-- each new total online as matches end.
local results_push = push_source {
  name = "match_results_push",
  batch_source = file_source {
    name = "match_results_source",
    path = "data/match_results.csv",
    timestamp_field = "event_timestamp",
  },
}

local match_stats = feature_view {
  name = "player_match_stats",
  entities = { player },
  source = results_push,
  schema = {
    field { name = "wins", dtype = Int64 },
    field { name = "losses", dtype = Int64 },
  },
}

-- Sent by the server with each request: how many imaginary games at 50 %
-- to blend in, so that a new player's rate starts near one half.
local matchmaking = request_source {
  name = "matchmaking",
  schema = { field { name = "prior_games", dtype = Int64 } },
}

-- win_rate = (wins + prior_games / 2) / (wins + losses + prior_games),
-- for a whole lobby at once (batch mode: one call per read).
on_demand_feature_view {
  name = "player_win_rate",
  sources = { match_stats, matchmaking },
  mode = "batch",
  schema = { field { name = "win_rate", dtype = Float64 } },
  transform = function(cols, n)
    local m = require "mf.math"
    local wins, losses, prior, out = cols.wins, cols.losses, cols.prior_games, {}
    for i = 1, n do
      if wins[i] ~= nil and losses[i] ~= nil then
        local p = prior[i] or 0
        out[i] = m.round(m.safe_div(wins[i] + p / 2, wins[i] + losses[i] + p, 0.5), 4)
      end
    end
    return { win_rate = out }
  end,
}
