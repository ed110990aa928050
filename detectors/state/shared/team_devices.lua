-- Team devices (detectors/state/shared/team_devices.py): a hash of device -> last used (ms).
do
  OPS['team_devices'] = function(op)
    local key, device, ts_ms, cap, ttl_ms = unpack(op, 2)
    local last = tonumber(redis.call('HGET', key, device) or '-1')
    if ts_ms > last then redis.call('HSET', key, device, num(ts_ms)) end
    keep_newest(key, cap, slack(cap), tonumber)
    expire_once(key, ttl_ms)
  end

  QUERIES['team_devices'] = function(q)
    local key, since_ms = unpack(q, 2)
    local all = redis.call('HGETALL', key)
    local out = {}
    for i = 1, #all, 2 do
      if tonumber(all[i + 1]) >= since_ms then out[#out + 1] = all[i] end
    end
    table.sort(out)
    return out
  end
end
