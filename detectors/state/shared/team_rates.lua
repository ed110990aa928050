-- Team rates (detectors/state/shared/team_rates.py): a hash of "actor:start" -> "end:rate".
do
  OPS['team_rates'] = function(op)
    local key, field, end_ms, value, cap, ttl_ms = unpack(op, 2)
    redis.call('HSET', key, field, num(end_ms) .. ':' .. num(value))
    keep_newest(key, cap, slack(cap), time_of)
    expire_once(key, ttl_ms)
  end

  QUERIES['team_rates'] = function(q)
    local key, since_ms = unpack(q, 2)
    local all = redis.call('HGETALL', key)
    local values, actors, count = {}, {}, 0
    for i = 1, #all, 2 do
      local stop, value = pair(all[i + 1])
      if stop >= since_ms then
        values[#values + 1] = value
        local who = string.match(all[i], '^(.*):%-?%d+$')
        if not actors[who] then actors[who] = true; count = count + 1 end
      end
    end
    local n = #values
    if n == 0 then return {0, 0, 0, 0} end
    table.sort(values)
    local mid = median(values)
    local dev = {}
    for i = 1, n do dev[i] = math.abs(values[i] - mid) end
    table.sort(dev)
    return {count, n, math.floor(mid), math.floor(median(dev))}
  end
end
