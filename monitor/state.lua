-- blindar detector state: applies one batch's plan and answers its queries.
-- ARGV[1] is a JSON document {"o": ops, "q": queries} (see detectors/state.py).
-- Every write is idempotent: sums are guarded by the event id, distincts are HLLs.
local doc = cjson.decode(ARGV[1])

local function num(x) return string.format('%d', x) end

for _, op in ipairs(doc.o) do
  local kind = op[1]
  if kind == 'S' then
    local key, bucket, member, amount, ts, ttl = op[2], op[3], op[4], op[5], op[6], op[7]
    local ids = key .. ':ids'
    if redis.call('ZADD', ids, 'NX', num(ts), member) == 1 then
      redis.call('HINCRBY', key, num(bucket), num(amount))
      redis.call('PEXPIRE', key, num(ttl))
      redis.call('ZREMRANGEBYSCORE', ids, '-inf', '(' .. num(ts - ttl))
    end
    redis.call('PEXPIRE', ids, num(ttl))
  elseif kind == 'D' then
    redis.call('PFADD', op[2], op[3])
    redis.call('PEXPIRE', op[2], num(op[4]))
  end
end

local out = {}
for i, q in ipairs(doc.q) do
  if q[1] == 'S' then
    local fields = redis.call('HGETALL', q[2])
    local total = 0
    for j = 1, #fields, 2 do
      local bucket = tonumber(fields[j])
      if bucket >= q[3] and bucket <= q[4] then
        total = total + tonumber(fields[j + 1])
      elseif bucket < q[5] then
        redis.call('HDEL', q[2], fields[j])
      end
    end
    out[i] = total
  else
    out[i] = redis.call('PFCOUNT', unpack(q[2]))
  end
end
return out
