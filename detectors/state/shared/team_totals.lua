-- Team totals (detectors/state/shared/team_totals.py): a hash of actor -> "day:value".
do
  OPS['team_totals'] = function(op)
    local key, who, day, value, cap, ttl_ms = unpack(op, 2)
    local old = redis.call('HGET', key, who)
    if not old or time_of(old) <= day then
      redis.call('HSET', key, who, num(day) .. ':' .. num(value))
    end
    keep_newest(key, cap, 0, time_of)
    expire_once(key, ttl_ms)
  end

  QUERIES['team_totals'] = function(q)
    local key, since_day = unpack(q, 2)
    local all = redis.call('HGETALL', key)
    local rows = {}
    for i = 1, #all, 2 do
      local day, value = pair(all[i + 1])
      if day >= since_day then rows[#rows + 1] = {all[i], value} end
    end
    table.sort(rows, function(a, b) return a[1] < b[1] end)
    local out = {}
    for _, row in ipairs(rows) do
      out[#out + 1] = row[1]
      out[#out + 1] = row[2]
    end
    return out
  end
end
