-- AO: hour-of-week profile; per hour a count of days ('c') and the last day counted ('l'),
-- and 'f' the first day the actor was seen.
local function ao_mark(key, field, day)
  local last = tonumber(redis.call('HGET', key, 'l' .. field) or '-1')
  if day > last then
    redis.call('HINCRBY', key, 'c' .. field, 1)
    redis.call('HSET', key, 'l' .. field, num(day))
  end
end

OPS['AO'] = function(op)
  local key, hour, day, ttl = op[2], op[3], op[4], op[5]
  local first = redis.call('HGET', key, 'f')
  if not first or day < tonumber(first) then redis.call('HSET', key, 'f', num(day)) end
  ao_mark(key, num(hour), day)
  expire_once(key, ttl)
end

QUERIES['AO'] = function(q)
  local key, hours, day = q[2], q[3], q[4]
  local first = redis.call('HGET', key, 'f')
  local out = {first and (day - tonumber(first)) or 0}
  for _, h in ipairs(hours) do
    local v = redis.call('HMGET', key, 'c' .. num(h), 'l' .. num(h))
    local c = tonumber(v[1] or '0')
    if tonumber(v[2] or '-1') == day then c = c - 1 end
    out[#out + 1] = c
  end
  return out
end
