-- Assigned tenants and foreign-record accesses (detectors/context_state.py: BA, BX).
do
  local SEP = '\031'

  OPS['BA'] = function(op)
    local key, ts, tenants, ttl = op[2], op[3], op[4], op[5]
    local old = redis.call('GET', key)
    if not old or ts >= tonumber(string.match(old, '^([^\031]*)')) then
      redis.call('SET', key, num(ts) .. SEP .. tenants, 'PX', num(ttl))
    end
  end

  QUERIES['BX'] = function(q)
    local akey, vkey, window, ttl, known, candidates = q[2], q[3], q[4], q[5], q[6], q[7]
    local stored = redis.call('GET', akey)
    local violations = {}
    for _, v in ipairs(known) do violations[#violations + 1] = v end
    if stored then
      local assigned, n = {}, 0
      for part in string.gmatch(stored, '[^\031]+') do
        if n > 0 then assigned[part] = true end
        n = n + 1
      end
      for _, c in ipairs(candidates) do
        if not assigned[c[3]] then violations[#violations + 1] = {c[1], c[2]} end
      end
    end
    if #violations == 0 then return {0, 0, stored} end
    local stop = violations[1][2]
    for _, v in ipairs(violations) do
      redis.call('ZADD', vkey, 'NX', num(v[2]), v[1])
      if v[2] > stop then stop = v[2] end
    end
    redis.call('ZREMRANGEBYSCORE', vkey, '-inf', '(' .. num(stop - window))
    redis.call('PEXPIRE', vkey, num(ttl))
    return {redis.call('ZCOUNT', vkey, num(stop - window), num(stop)), stop, stored}
  end
end
