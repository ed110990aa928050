-- Timed members and view-then-exit sequences (detectors/context_state.py: BE).
do
  OPS['BE'] = function(op)
    redis.call('ZADD', op[2], 'NX', num(op[4]), op[3])
    expire_once(op[2], op[5])
  end

  QUERIES['BE'] = function(q)
    local viewkey, exitkey, lo, hi, window, keep = q[2], q[3], q[4], q[5], q[6], q[7]
    redis.call('ZREMRANGEBYSCORE', viewkey, '-inf', '(' .. num(keep))
    redis.call('ZREMRANGEBYSCORE', exitkey, '-inf', '(' .. num(keep))
    local exits = redis.call('ZRANGEBYSCORE', exitkey, num(lo), num(hi), 'WITHSCORES')
    local best = {0}
    for i = 1, #exits, 2 do
      local ts = tonumber(exits[i + 1])
      local before = redis.call('ZRANGEBYSCORE', viewkey, num(ts - window), num(ts))
      if #before > best[1] then
        best = {#before, ts, exits[i]}
        for j = math.max(1, #before - 4), #before do best[#best + 1] = before[j] end
      end
    end
    return best
  end
end
