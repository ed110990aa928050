-- Orphan views (detectors/context_state.py: BI, BP, BO). Wrapped in do..end to keep
-- this fragment's locals out of the shared chunk.
do
  local SEP = '\031'

  OPS['BI'] = function(op)
    local key, customer, phase, ts, ttl = op[2], op[3], op[4], op[5], op[6]
    if phase == 's' then
      local first = tonumber(redis.call('HGET', key, 's:' .. customer) or '')
      if first == nil or ts < first then redis.call('HSET', key, 's:' .. customer, num(ts)) end
      local latest = tonumber(redis.call('HGET', key, 'l:' .. customer) or '')
      if latest == nil or ts > latest then redis.call('HSET', key, 'l:' .. customer, num(ts)) end
    else
      local ended = tonumber(redis.call('HGET', key, 'e:' .. customer) or '')
      if ended == nil or ts > ended then redis.call('HSET', key, 'e:' .. customer, num(ts)) end
    end
    expire_once(key, ttl)
  end

  OPS['BP'] = function(op)
    redis.call('ZADD', op[2], 'NX', num(op[4]), op[3])
    expire_once(op[2], op[5])
  end

  local function covered(ixkey, customer, ts, recent, skew)
    local first = tonumber(redis.call('HGET', ixkey, 's:' .. customer) or '')
    if first == nil or first > ts + skew then return false end
    local ended = tonumber(redis.call('HGET', ixkey, 'e:' .. customer) or '')
    if ended == nil then return true end
    local latest = tonumber(redis.call('HGET', ixkey, 'l:' .. customer))
    return latest > ended or ended >= ts - recent
  end

  QUERIES['BO'] = function(q)
    local ixkey, pendkey, orphkey, cutoff = q[2], q[3], q[4], q[5]
    local recent, skew, window, ttl = q[6], q[7], q[8], q[9]
    local due = redis.call('ZRANGEBYSCORE', pendkey, '-inf', num(cutoff), 'WITHSCORES')
    redis.call('ZREMRANGEBYSCORE', pendkey, '-inf', num(cutoff))
    local found = {}
    for i = 1, #due, 2 do
      local ts = tonumber(due[i + 1])
      local id, customer, record = string.match(due[i], '^([^\031]*)\031([^\031]*)\031(.*)$')
      if not covered(ixkey, customer, ts, recent, skew) then
        redis.call('ZADD', orphkey, 'NX', num(ts), id .. SEP .. record)
        found[#found + 1] = {ts, id .. SEP .. record}
      end
    end
    redis.call('ZREMRANGEBYSCORE', orphkey, '-inf', '(' .. num(cutoff - window))
    redis.call('PEXPIRE', orphkey, num(ttl))
    local best, best_end = 0, 0
    for _, f in ipairs(found) do
      for _, hi in ipairs({f[1], f[1] + window}) do
        local count = redis.call('ZCOUNT', orphkey, num(hi - window), num(hi))
        if count > best then best, best_end = count, hi end
      end
    end
    local out = {best, best_end}
    for i = 1, math.min(5, #found) do out[#out + 1] = found[i][2] end
    return out
  end
end
