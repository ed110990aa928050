-- Distinct members in HyperLogLogs (detectors/state.py: add_distinct / distinct_query).
-- One op per key and batch: its members go in with as few PFADDs as unpack allows.
OPS['D'] = function(op)
  local members = op[3]
  for i = 1, #members, 1000 do  -- unpack has a stack limit: at most 1000 at a time
    redis.call('PFADD', op[2], unpack(members, i, math.min(i + 999, #members)))
  end
  expire_once(op[2], op[4])
end

QUERIES['D'] = function(q)
  return redis.call('PFCOUNT', unpack(q[2]))
end
