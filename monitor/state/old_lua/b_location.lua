-- The actor's last located point, newest wins (detectors/context_state.py: BL).
do
  QUERIES['BL'] = function(q)
    local key, ts, value, ttl = q[2], q[3], q[4], q[5]
    local old = redis.call('GET', key)
    if not old or ts >= tonumber(string.match(old, '^([^\031]*)')) then
      redis.call('SET', key, value, 'PX', num(ttl))
    end
    return old
  end
end
