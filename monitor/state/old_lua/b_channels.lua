-- Per-channel last seen and silence claims (detectors/context_state.py: BC), and the
-- per-channel, per-day bitmaps of minutes with traffic (BM).
do
  local DAY_MIN = 1440

  OPS['BM'] = function(op)
    local base, channel, minutes, ttl = op[2], op[3], op[4], op[5]
    for _, m in ipairs(minutes) do
      local key = base .. channel .. ':' .. num(math.floor(m / DAY_MIN))
      redis.call('SETBIT', key, m % DAY_MIN, 1)
      expire_once(key, ttl)
    end
  end

  local function any_traffic(base, channel, lo, hi)
    local lo_day, hi_day = math.floor(lo / DAY_MIN), math.floor(hi / DAY_MIN)
    for day = lo_day, hi_day do
      local from = (day == lo_day) and (lo % DAY_MIN) or 0
      local to = (day == hi_day) and (hi % DAY_MIN) or (DAY_MIN - 1)
      local key = base .. channel .. ':' .. num(day)
      if redis.call('BITCOUNT', key, from, to, 'BIT') > 0 then return true end
    end
    return false
  end

  -- On how many of the last `days` days with traffic the channel sent something in the
  -- same clock span as [now - silence, now]; returns busy, days, and whether it is usual.
  -- The same weekday a week before, with traffic but none in the span, vetoes.
  local function usual(base, channel, now, silence, rule)
    local days, min_days, share = rule[1], rule[2], rule[3]
    if share <= 0 then return 0, 0, true end
    local now_min = math.floor(now / 60000)
    local span = math.ceil(silence / 60000)
    local busy, seen, week_quiet = 0, 0, false
    for d = 1, days do
      local hi = now_min - d * DAY_MIN
      local lo = hi - span
      local key = base .. channel .. ':' .. num(math.floor(hi / DAY_MIN))
      if redis.call('EXISTS', key) == 1 then
        seen = seen + 1
        if any_traffic(base, channel, lo, hi) then
          busy = busy + 1
        elseif d == 7 then
          week_quiet = true
        end
      end
    end
    return busy, seen, seen < min_days or (busy >= share * seen and not week_quiet)
  end

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
    local base, rule, since = q[8], q[9], q[10]
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
      if last ~= nil and last < since then last = since end
      if last ~= nil and silence[channel] > 0 and now - last >= silence[channel]
          and redis.call('HGET', key, 'a:' .. channel) ~= num(last) then
        local busy, seen, is_usual = usual(base, channel, now, silence[channel], rule)
        if is_usual then
          redis.call('HSET', key, 'a:' .. channel, num(last))
          out[#out + 1] = channel
          out[#out + 1] = last
          out[#out + 1] = busy
          out[#out + 1] = seen
        end
      end
    end
    if #fields > 0 or #out > 0 then redis.call('PEXPIRE', key, num(ttl)) end
    return out
  end
end
