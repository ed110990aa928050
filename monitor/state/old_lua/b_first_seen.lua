-- First-seen sets with warm-up, cap and TTL (detectors/context_state.py: BN).
do
  QUERIES['BN'] = function(q)
    local setkey, firstkey, warmup, cap, ttl, items = q[2], q[3], q[4], q[5], q[6], q[7]
    local newest, oldest = items[1][2], items[1][2]
    for _, item in ipairs(items) do
      if item[2] > newest then newest = item[2] end
      if item[2] < oldest then oldest = item[2] end
    end
    local first = tonumber(redis.call('GET', firstkey) or '')
    if first == nil or oldest < first then
      first = oldest
      redis.call('SET', firstkey, num(first))
    end
    redis.call('ZREMRANGEBYSCORE', setkey, '-inf', '(' .. num(newest - ttl))
    local out = {}
    for i, item in ipairs(items) do
      if redis.call('ZSCORE', setkey, item[1]) then
        redis.call('ZADD', setkey, 'GT', num(item[2]), item[1])
        out[i] = 0
      else
        redis.call('ZADD', setkey, num(item[2]), item[1])
        out[i] = (item[2] - first >= warmup) and 2 or 1
      end
    end
    local extra = redis.call('ZCARD', setkey) - cap
    if extra > 0 then redis.call('ZREMRANGEBYRANK', setkey, 0, extra - 1) end
    redis.call('PEXPIRE', setkey, num(ttl))
    redis.call('PEXPIRE', firstkey, num(ttl))
    return out
  end
end
