-- engine.lua — a batch engine that hands each materialization task to an
-- outside job runner and does the work itself for the tasks the runner
-- declines.
--
-- The runner is reached through the operator's `submit` command
-- (batch_engine.commands in feature_store.yaml; host.run can start nothing
-- else). It is called as `submit PROJECT VIEW START END` (START empty when
-- every row up to END is asked for) and answers with its exit code:
--   0  the runner took the job (its standard output: a job id); the task
--      is reported done, so moonfeast records its interval
--   3  not a view the runner owns: host.materialize does the task here,
--      with moonfeast's built-in materialization
--   anything else: the task failed, with the runner's output as message
-- print() writes to standard error.

local options, host = ...

local function trim(s) return (s:gsub("%s+$", "")) end

return {
  run = function(tasks)
    local results = {}
    for i, task in ipairs(tasks) do
      local code, out = host.run("submit", task.project, task.view, task.start_ts or "", task.end_ts)
      if code == 0 then
        print("engine: " .. task.view .. ": submitted as " .. trim(out))
        results[i] = true
      elseif code == 3 then
        local ok, err = host.materialize(task)
        print("engine: " .. task.view .. ": " .. trim(out) .. ", materialized here: " ..
              (ok and "done" or err))
        results[i] = ok or err
      else
        -- code is nil when the command was killed (out says why)
        results[i] = "submit: " .. (code and ("exit " .. code .. ": " .. trim(out)) or out)
      end
    end
    return results
  end,
}
