-- Team sample (detectors/state/shared/team_sample.py): a hash of "actor:window" -> count.
do
  local function window_of(field) return tonumber(string.match(field, ':(%-?%d+)$')) end

  -- fields newest window first (ties by field), from a flat HGETALL reply
  local function newest_first(flat)
    local rows = {}
    for i = 1, #flat, 2 do rows[#rows + 1] = {window_of(flat[i]), flat[i], flat[i + 1]} end
    table.sort(rows, function(a, b)
      if a[1] ~= b[1] then return a[1] > b[1] end
      return a[2] > b[2]
    end)
    return rows
  end

  OPS['team_sample'] = function(op)
    local key, field, count, cap, ttl_ms = unpack(op, 2)
    redis.call('HSET', key, field, num(count))
    if redis.call('HLEN', key) > cap + slack(cap) then
      local rows = newest_first(redis.call('HGETALL', key))
      for i = cap + 1, #rows do redis.call('HDEL', key, rows[i][2]) end
    end
    expire_once(key, ttl_ms)
  end

  QUERIES['team_sample'] = function(q)
    local key, cap = unpack(q, 2)
    local rows = newest_first(redis.call('HGETALL', key))
    local n = math.min(#rows, cap)
    if n == 0 then return {0, 0, 0} end
    local values = {}
    for i = 1, n do values[i] = tonumber(rows[i][3]) end
    table.sort(values)
    local mid = median(values)
    local dev = {}
    for i = 1, n do dev[i] = math.abs(values[i] - mid) end
    table.sort(dev)
    return {n, math.floor(mid * 100), math.floor(median(dev) * 100)}
  end
end
