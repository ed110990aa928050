-- Team devices (detectors/state/shared/team_devices.py): a hash of device -> last used (ms).
do
  OPS['team_devices'] = function(op)
    local key, device, ts, cap, ttl = op[2], op[3], op[4], op[5], op[6]
    local last = tonumber(redis.call('HGET', key, device) or '-1')
    if ts > last then redis.call('HSET', key, device, num(ts)) end
    keep_newest(key, cap, slack(cap), tonumber)
    expire_once(key, ttl)
  end

  QUERIES['team_devices'] = function(q)
    local all = redis.call('HGETALL', q[2])
    local out = {}
    for i = 1, #all, 2 do
      if tonumber(all[i + 1]) >= q[3] then out[#out + 1] = all[i] end
    end
    table.sort(out)
    return out
  end
end
