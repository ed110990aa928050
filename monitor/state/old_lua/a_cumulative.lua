-- AC: an actor's sum of per-day distinct counts (HyperLogLogs), kept in the team's
-- hash as "day:sum" per actor; returns the sum and the robust stats of fresh peers.
QUERIES['AC'] = function(q)
  local day_keys, team, actor, day, fresh, ttl = q[2], q[3], q[4], q[5], q[6], q[7]
  local total = 0
  for _, k in ipairs(day_keys) do total = total + redis.call('PFCOUNT', k) end
  local fields = redis.call('HGETALL', team)
  local peers = {}
  for j = 1, #fields, 2 do
    local d, v = string.match(fields[j + 1], '^(-?%d+):(%d+)$')
    if tonumber(d) < day - fresh then
      redis.call('HDEL', team, fields[j])
    elseif fields[j] ~= actor then
      peers[#peers + 1] = tonumber(v)
    end
  end
  redis.call('HSET', team, actor, num(day) .. ':' .. num(total))
  redis.call('PEXPIRE', team, num(ttl))
  local n, m, d = a_robust(peers)
  return {total, n, m, d}
end

