-- Guarded sum (detectors/state/shared/guarded_sum.py): per-bucket counts in the hash KEY,
-- the event ids counted in KEY..':ids' (scored by event time) and a floor bucket.
do
  local floors = {}
  local function floor_of(key)
    local f = floors[key]
    if f == nil then
      f = tonumber(redis.call('HGET', key, 'floor') or '-1')
      floors[key] = f
    end
    return f
  end

  OPS['guarded_sum'] = function(op)
    local key, bucket, member, amount, ts_ms, ttl_ms = unpack(op, 2)
    if bucket < floor_of(key) then return end
    local ids = key .. ':ids'
    if redis.call('ZADD', ids, 'NX', num(ts_ms), member) == 1 then
      redis.call('HINCRBY', key, num(bucket), num(amount))
    end
    expire_once(key, ttl_ms)
    expire_once(ids, ttl_ms)
  end

  QUERIES['guarded_sum'] = function(q)
    local key, end_lo, end_hi, width, keep_from, bucket_ms = unpack(q, 2)
    if redis.call('EXISTS', key) == 0 then return 0 end
    local raise = keep_from > floor_of(key)
    if raise then
      redis.call('HSET', key, 'floor', num(keep_from))
      floors[key] = keep_from
      redis.call('ZREMRANGEBYSCORE', key .. ':ids', '-inf', '(' .. num(keep_from * bucket_ms))
    end
    local fields = redis.call('HGETALL', key)
    local sums = {}
    for j = 1, #fields, 2 do
      local bucket = tonumber(fields[j])
      if bucket == nil then
        -- the floor field
      elseif bucket < keep_from then
        if raise then redis.call('HDEL', key, fields[j]) end
      else
        sums[bucket] = tonumber(fields[j + 1])
      end
    end
    local best = 0
    for e = end_lo, end_hi do
      local total = 0
      for b = e - width + 1, e do total = total + (sums[b] or 0) end
      if total > best then best = total end
    end
    return best
  end
end
