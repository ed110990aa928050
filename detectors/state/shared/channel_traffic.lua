-- Channel traffic (detectors/state/shared/channel_traffic.py): the channel's owner hash
-- (e latest event, p latest processing time, w first watched, and the
-- episode the alert engine claimed in the field `claim`) and
-- per-day bitmaps of minutes with traffic, KEY..':m:'..day.
do
  local DAY_MIN = 1440

  OPS['channel_seen'] = function(op)
    local key, event_ms, now_ms, ttl_ms = unpack(op, 2)
    local e = tonumber(redis.call('HGET', key, 'e') or '')
    if e == nil or event_ms > e then redis.call('HSET', key, 'e', num(event_ms)) end
    local p = tonumber(redis.call('HGET', key, 'p') or '')
    if p == nil or now_ms > p then redis.call('HSET', key, 'p', num(now_ms)) end
    expire_once(key, ttl_ms)
  end

  OPS['channel_minutes'] = function(op)
    local key, minutes, ttl_ms = unpack(op, 2)
    for _, m in ipairs(minutes) do
      local day = key .. ':m:' .. num(math.floor(m / DAY_MIN))
      redis.call('SETBIT', day, m % DAY_MIN, 1)
      expire_once(day, ttl_ms)
    end
  end

  local function busy_minutes(key, lo, hi)
    local lo_day, hi_day = math.floor(lo / DAY_MIN), math.floor(hi / DAY_MIN)
    local busy = 0
    for day = lo_day, hi_day do
      local from = (day == lo_day) and (lo % DAY_MIN) or 0
      local to = (day == hi_day) and (hi % DAY_MIN) or (DAY_MIN - 1)
      busy = busy + redis.call('BITCOUNT', key .. ':m:' .. num(day), from, to, 'BIT')
    end
    return busy
  end

  -- A day with `busy` of the span's minutes carrying traffic: busy enough that a silence
  -- as long as the span would be a chance below e^-surprise there (each minute quiet with
  -- probability 1 - busy/span), and at least `enough` minutes.
  local function busy_day(busy, span, enough, surprise)
    if busy < enough then return false end
    if busy >= span then return true end
    return -span * math.log(1 - busy / span) >= surprise
  end

  -- On how many of the last `days` days with traffic the channel was busy (busy_day) in
  -- the same clock span as the silence [now - span, now]; the same weekday a week before,
  -- with traffic but none in the last `period` of the span, vetoes.
  local function usual(key, now, span_ms, period_ms, rule)
    local days, min_days, share, enough, surprise = rule[1], rule[2], rule[3], rule[4], rule[5]
    if share <= 0 then return 0, 0, true end
    local now_min = math.floor(now / 60000)
    local span, period = math.ceil(span_ms / 60000), math.ceil(period_ms / 60000)
    local busy, seen, week_quiet = 0, 0, false
    for d = 1, days do
      local hi = now_min - d * DAY_MIN
      if redis.call('EXISTS', key .. ':m:' .. num(math.floor(hi / DAY_MIN))) == 1 then
        seen = seen + 1
        if busy_day(busy_minutes(key, hi - span, hi), span + 1, enough, surprise) then
          busy = busy + 1
        end
        if d == 7 and busy_minutes(key, hi - period, hi) == 0 then week_quiet = true end
      end
    end
    return busy, seen, seen < min_days or (busy >= share * seen and not week_quiet)
  end

  QUERIES['channel_silence'] = function(q)
    local key, mode, now_ms, silence_ms, rule, since, claim, ttl_ms = unpack(q, 2)
    local now, silence = now_ms, silence_ms
    local fields = redis.call('HMGET', key, 'e', 'p', claim)
    local e, p = tonumber(fields[1] or ''), tonumber(fields[2] or '')
    local last
    if mode == 'e' then
      last = e
    elseif e == nil and p == nil then
      if redis.call('HSETNX', key, 'w', num(now)) == 1 then
        redis.call('PEXPIRE', key, num(ttl_ms))
      end
      last = tonumber(redis.call('HGET', key, 'w'))
    elseif e == nil or (p ~= nil and p > e) then
      last = p
    else
      last = e
    end
    if last == nil then return false end
    if last < since then last = since end
    if silence <= 0 or now - last < silence or fields[3] == num(last) then return false end
    local span = math.min(now - last, 86400000)  -- the whole silence, on earlier days
    local busy, seen, is_usual = usual(key, now, span, silence, rule)
    if not is_usual then return false end
    return {last, busy, seen}
  end
end
