-- blindar detector state: applies one batch's plan and answers its queries.
-- ARGV[1] is a JSON document {"o": ops, "q": queries} (see detectors/state.py).
-- Every write is idempotent: sums are guarded by the event id, distincts are HLLs.
local doc = cjson.decode(ARGV[1])

local function num(x) return string.format('%d', x) end

-- Per counter, a floor bucket: buckets below it were dropped together with their
-- event ids, so an event that old is ignored rather than counted a second time.
local floors = {}
local function floor_of(key)
  local f = floors[key]
  if f == nil then
    f = tonumber(redis.call('HGET', key, 'floor') or '-1')
    floors[key] = f
  end
  return f
end

for _, op in ipairs(doc.o) do
  local kind = op[1]
  if kind == 'S' then
    local key, bucket, member, amount, ts, ttl = op[2], op[3], op[4], op[5], op[6], op[7]
    if bucket >= floor_of(key) then
      local ids = key .. ':ids'
      if redis.call('ZADD', ids, 'NX', num(ts), member) == 1 then
        redis.call('HINCRBY', key, num(bucket), num(amount))
      end
      redis.call('PEXPIRE', key, num(ttl))
      redis.call('PEXPIRE', ids, num(ttl))
    end
  elseif kind == 'D' then
    redis.call('PFADD', op[2], op[3])
    redis.call('PEXPIRE', op[2], num(op[4]))
  end
end

-- The state marker (doc.m): missing means Redis lost its data since the worker started.
local lost = 0
if doc.m and redis.call('EXISTS', doc.m) == 0 then
  redis.call('SET', doc.m, doc.t)
  lost = 1
end

local out = {}
for i, q in ipairs(doc.q) do
  if q[1] == 'S' then
    local key, end_lo, end_hi, width, keep_from, bucket_ms = q[2], q[3], q[4], q[5], q[6], q[7]
    local raise = keep_from > floor_of(key) and redis.call('EXISTS', key) == 1
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
    out[i] = best
  else
    out[i] = redis.call('PFCOUNT', unpack(q[2]))
  end
end
if doc.m then out[#out + 1] = lost end
return out
