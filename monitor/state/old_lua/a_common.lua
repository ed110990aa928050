-- Helpers of the baseline families (detectors/baseline_state.py; a_history.lua,
-- a_cumulative.lua, a_profile.lua come after this file and use them).
-- Medians and MADs are returned ×100 as integers (Lua numbers in replies are truncated).
local function a_median(sorted)
  local n = #sorted
  local m = math.floor(n / 2)
  if n % 2 == 1 then return sorted[m + 1] end
  return (sorted[m] + sorted[m + 1]) / 2
end

local function a_robust(values)
  local n = #values
  if n == 0 then return 0, 0, 0 end
  table.sort(values)
  local md = a_median(values)
  local dev = {}
  for i = 1, n do dev[i] = math.abs(values[i] - md) end
  table.sort(dev)
  return n, math.floor(md * 100), math.floor(a_median(dev) * 100)
end
