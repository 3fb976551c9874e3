-- provider.lua — a provider that logs and counts every call it sees.
--
-- moonfeast loads it once per store and calls its hooks one at a time, so
-- the counts are the process's. Every hook is optional; none of these
-- replaces the built-in work (materialize returns nothing), they only
-- watch. print() writes to standard error.

local calls = 0

local function log(...)
  calls = calls + 1
  print("provider[" .. calls .. "]", ...)
end

return {
  before_apply = function(project) log("before_apply", project) end,
  after_apply = function(project, version) log("after_apply", project, "version", version) end,
  before_teardown = function(project) log("before_teardown", project) end,
  after_teardown = function(project) log("after_teardown", project) end,
  -- return true here to do a view's materialization yourself: the built-in
  -- then skips the view (and still records its interval)
  materialize = function(project, view, start, finish)
    log("materialize", project, view)
  end,
  after_materialize = function(project, view, rows_read, rows_written)
    log("after_materialize", project, view, "read", rows_read, "written", rows_written)
  end,
  before_online_read = function(project, rows) log("before_online_read", project, "rows", rows) end,
  after_online_read = function(project, rows, columns)
    log("after_online_read", project, "rows", rows, "columns", columns)
  end,
}
