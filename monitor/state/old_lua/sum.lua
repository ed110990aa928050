-- Bucketed sums guarded by event id (detectors/state.py: add_sum / sum_query), on the
-- guarded counters of the prelude (add_once, floor_of, raise_floor).
OPS['S'] = function(op)
  add_once(op[2], op[3], op[4], op[5], op[6], op[7])
end

QUERIES['S'] = function(q)
  local key, end_lo, end_hi, width, keep_from, bucket_ms = q[2], q[3], q[4], q[5], q[6], q[7]
  local raise = keep_from > floor_of(key) and redis.call('EXISTS', key) == 1
  if raise then raise_floor(key, keep_from, bucket_ms) end
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
