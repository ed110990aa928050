-- Team sample (detectors/state/shared/team_sample.py): a hash of "actor:window" -> count.
do
  local function window_of(field) return tonumber(string.match(field, ':(%-?%d+)$')) end

  OPS['team_sample'] = function(op)
    local key, field, count, cap, ttl = op[2], op[3], op[4], op[5], op[6]
    redis.call('HSET', key, field, num(count))
    if redis.call('HLEN', key) > cap then
      local fields = redis.call('HKEYS', key)
      table.sort(fields, function(a, b)
        local wa, wb = window_of(a), window_of(b)
        if wa ~= wb then return wa < wb end
        return a < b
      end)
      for i = 1, #fields - cap do redis.call('HDEL', key, fields[i]) end
    end
    expire_once(key, ttl)
  end

  local function median(sorted)
    local n = #sorted
    local m = math.floor(n / 2)
    if n % 2 == 1 then return sorted[m + 1] end
    return (sorted[m] + sorted[m + 1]) / 2
  end

  QUERIES['team_sample'] = function(q)
    local raw = redis.call('HVALS', q[2])
    local n = #raw
    if n == 0 then return {0, 0, 0} end
    local values = {}
    for i = 1, n do values[i] = tonumber(raw[i]) end
    table.sort(values)
    local mid = median(values)
    local dev = {}
    for i = 1, n do dev[i] = math.abs(values[i] - mid) end
    table.sort(dev)
    return {n, math.floor(mid * 100), math.floor(median(dev) * 100)}
  end
end
