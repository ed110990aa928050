-- Per-channel last seen and silence claims (detectors/context_state.py: BC).
do
  OPS['BC'] = function(op)
    local key, channel, event_ts, now = op[2], op[3], op[4], op[5]
    local e = tonumber(redis.call('HGET', key, 'e:' .. channel) or '')
    if e == nil or event_ts > e then redis.call('HSET', key, 'e:' .. channel, num(event_ts)) end
    local p = tonumber(redis.call('HGET', key, 'p:' .. channel) or '')
    if p == nil or now > p then redis.call('HSET', key, 'p:' .. channel, num(now)) end
    redis.call('PEXPIRE', key, num(op[6]))
  end

  local function last_seen(key, channel, mode, now)
    local e = tonumber(redis.call('HGET', key, 'e:' .. channel) or '')
    if mode == 'e' then return e end
    local p = tonumber(redis.call('HGET', key, 'p:' .. channel) or '')
    if e == nil and p == nil then
      redis.call('HSETNX', key, 'w:' .. channel, num(now))
      return tonumber(redis.call('HGET', key, 'w:' .. channel))
    end
    if e == nil or (p ~= nil and p > e) then return p end
    return e
  end

  QUERIES['BC'] = function(q)
    local key, mode, now, default, items, ttl = q[2], q[3], q[4], q[5], q[6], q[7]
    local silence, names = {}, {}
    for _, item in ipairs(items) do
      if silence[item[1]] == nil then names[#names + 1] = item[1] end
      silence[item[1]] = item[2]
    end
    local fields = redis.call('HKEYS', key)
    for _, f in ipairs(fields) do
      local channel = string.match(f, '^e:(.*)$')
      if channel and silence[channel] == nil then
        silence[channel] = default
        names[#names + 1] = channel
      end
    end
    table.sort(names)
    local out = {}
    for _, channel in ipairs(names) do
      local last = last_seen(key, channel, mode, now)
      if last ~= nil and silence[channel] > 0 and now - last >= silence[channel] then
        if redis.call('HGET', key, 'a:' .. channel) ~= num(last) then
          redis.call('HSET', key, 'a:' .. channel, num(last))
          out[#out + 1] = channel
          out[#out + 1] = last
        end
      end
    end
    if #fields > 0 or #out > 0 then redis.call('PEXPIRE', key, num(ttl)) end
    return out
  end
end
