-- Distinct members in HyperLogLogs (detectors/state.py: add_distinct / distinct_query).
OPS['D'] = function(op)
  redis.call('PFADD', op[2], op[3])
  expire_once(op[2], op[4])
end

QUERIES['D'] = function(q)
  return redis.call('PFCOUNT', unpack(q[2]))
end
