-- AH: per-actor counts per open tumbling window (guarded counters of the prelude); windows
-- below the floor are closed and their counts kept in a capped list (only windows with
-- activity exist, so idle windows are not in the history).
OPS['AH'] = function(op)
  add_once(op[2], op[3], op[4], op[5], op[6], op[7])
end

-- Closing windows below the new floor: their counts move, oldest first, from the open
-- hash to the actor's capped history list and the team's capped sample list.
local function ah_close(key, windows, floor, cap, team, team_cap, window_ms, ttl)
  local closing = {}
  for w, _ in pairs(windows) do
    if w < floor then closing[#closing + 1] = w end
  end
  table.sort(closing)
  if #closing > 0 then
    local hist = key .. ':h'
    for _, w in ipairs(closing) do
      redis.call('LPUSH', hist, num(windows[w]))
      if team ~= '' then redis.call('LPUSH', team, num(windows[w])) end
      redis.call('HDEL', key, num(w))
      windows[w] = nil
    end
    redis.call('LTRIM', hist, 0, cap - 1)
    redis.call('PEXPIRE', hist, num(ttl))
    if team ~= '' then
      redis.call('LTRIM', team, 0, team_cap - 1)
      redis.call('PEXPIRE', team, num(ttl))
    end
  end
  raise_floor(key, floor, window_ms)
end

local function a_list_stats(key)
  local vals = {}
  for i, v in ipairs(redis.call('LRANGE', key, 0, -1)) do vals[i] = tonumber(v) end
  return a_robust(vals)
end

QUERIES['AH'] = function(q)
  local key, lo, hi, floor, window_ms = q[2], q[3], q[4], q[5], q[6]
  local cap, judge_from, team, team_cap, ttl = q[7], q[8], q[9], q[10], q[11]
  if redis.call('EXISTS', key) == 0 then return {0, 0, 0, 0, 0, 0, 0, lo} end
  local fields = redis.call('HGETALL', key)
  local windows = {}
  for j = 1, #fields, 2 do
    local w = tonumber(fields[j])
    if w ~= nil then windows[w] = tonumber(fields[j + 1]) end
  end
  -- judged before closing: a batch spanning several windows judges every one it touched
  local current, at = 0, lo
  for w = lo, hi do
    local c = windows[w] or 0
    if c > current then current, at = c, w end
  end
  if floor > floor_of(key) then
    ah_close(key, windows, floor, cap, team, team_cap, window_ms, ttl)
  end
  if current < judge_from then return {current, 0, 0, 0, 0, 0, 0, at} end
  local n, m, d = a_list_stats(key .. ':h')
  local tn, tm, td = 0, 0, 0
  if team ~= '' then tn, tm, td = a_list_stats(team) end
  return {current, n, m, d, tn, tm, td, at}
end

