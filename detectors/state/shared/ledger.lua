-- Ledger (detectors/state/shared/ledger.py): the assurance ledger. Counter hashes (HINCRBY,
-- or the larger value for maxima), minute bitmaps, a sorted set of dead-lettered message
-- positions (scored by receipt time), alert rows (a hash: uid -> summary, uid|count,
-- uid|last_ms, uid|severity) and configuration snapshots (strings). An actor's events
-- count as STATUS says its write went earlier in this call.
do
  local FIELDS_PER_ALERT = 4
  local expired_at = {}
  local function expire_at(key, at)
    if not expired_at[key] then
      redis.call('PEXPIREAT', key, num(at))
      expired_at[key] = true
    end
  end

  local function keep_max(key, field, value)
    local old = tonumber(redis.call('HGET', key, field) or '')
    if old == nil or value > old then redis.call('HSET', key, field, num(value)) end
  end

  local function counted(owner, strict)
    local status = STATUS[owner]
    return status == WRITTEN or (status == nil and strict == 0)
  end

  -- A guard: a sorted set of the newest `cap` members, kept `ttl` ms after its last use.
  -- True when `member` is new to it.
  local function first_time(guard, ttl, cap, score, member)
    local added = redis.call('ZADD', guard, 'NX', num(score), member) == 1
    if added and redis.call('ZCARD', guard) > cap + math.max(1, math.floor(cap / 4)) then
      redis.call('ZREMRANGEBYRANK', guard, 0, -(cap + 1))
    end
    redis.call('PEXPIRE', guard, num(ttl))
    return added
  end

  -- rows: {owner, strict, c, lag, c, lag, ...}, one pair per event; fields: {channel
  -- fields, total fields, lag sum field, lag max field, bucket fields, second fields,
  -- judged}: per channel index c, fields[6][c] (if not '') counts the event too, and
  -- fields[7][c] == 0 counts it in its channel fields only (an event not judged: no
  -- total, no lag). Once per store call: a retried call (same token) whose part here was
  -- applied counts nothing again.
  OPS['ledger_events'] = function(op)
    local key, calls, calls_ttl_ms, calls_cap, expire_at_ms, fields, bounds, rows = unpack(op, 2)
    if not first_time(calls, calls_ttl_ms, calls_cap, now, token .. '|' .. key) then return end
    local second, judged = fields[6] or {}, fields[7] or {}
    local per_channel, buckets, n, sum, top, any = {}, {}, 0, 0, nil, false
    local above = #bounds + 1
    for _, row in ipairs(rows) do
      if counted(row[1], row[2]) then
        for k = 3, #row, 2 do
          local c, lag = row[k], row[k + 1]
          per_channel[c] = (per_channel[c] or 0) + 1
          any = true
          if judged[c] ~= 0 then
            n, sum = n + 1, sum + lag
            if top == nil or lag > top then top = lag end
            local b = above
            for j = 1, #bounds do
              if lag <= bounds[j] then b = j; break end
            end
            buckets[b] = (buckets[b] or 0) + 1
          end
        end
      end
    end
    if not any then return end
    for c, k in pairs(per_channel) do
      redis.call('HINCRBY', key, fields[1][c], num(k))
      if second[c] and second[c] ~= '' then redis.call('HINCRBY', key, second[c], num(k)) end
    end
    if n > 0 then
      for _, name in ipairs(fields[2]) do redis.call('HINCRBY', key, name, num(n)) end
      redis.call('HINCRBY', key, fields[3], num(sum))
      keep_max(key, fields[4], top)
      for b, k in pairs(buckets) do redis.call('HINCRBY', key, fields[5][b], num(k)) end
    end
    expire_at(key, expire_at_ms)
  end

  OPS['ledger_minutes'] = function(op)
    local key, expire_at_ms, bits = unpack(op, 2)
    for _, b in ipairs(bits) do redis.call('SETBIT', key, b, 1) end
    if #bits > 0 then expire_at(key, expire_at_ms) end
  end

  OPS['ledger_dead'] = function(op)
    local key, guard, guard_ttl_ms, guard_cap, expire_at_ms, now_ms, letters = unpack(op, 2)
    local added = false
    for _, letter in ipairs(letters) do
      if first_time(guard, guard_ttl_ms, guard_cap, now_ms, letter[1]) then
        local s = letter[2]
        for i = 1, #s, 2 do redis.call('HINCRBY', key, s[i], num(s[i + 1])) end
        added = true
      end
    end
    if added then expire_at(key, expire_at_ms) end
  end

  OPS['ledger_alerts'] = function(op)
    local key, counters, expire_at_ms, max_rows, rows = unpack(op, 2)
    local pages = false
    for _, row in ipairs(rows) do
      local uid, summary = row[1], row[2]
      local listed = redis.call('HEXISTS', key, uid) == 1
      if not listed and summary ~= '' then
        if redis.call('HLEN', key) < FIELDS_PER_ALERT * max_rows then
          redis.call('HSET', key, uid, summary)
          listed = true
        end
        redis.call('HINCRBY', counters, row[6], 1)
        pages = true
      end
      if listed then
        keep_max(key, uid .. '|count', row[3])
        keep_max(key, uid .. '|last_ms', row[4])
        keep_max(key, uid .. '|severity', row[5])
        expire_at(key, expire_at_ms)
      end
    end
    if pages then expire_at(counters, expire_at_ms) end
  end

  OPS['ledger_snapshot'] = function(op)
    local key, value, expire_at_ms = unpack(op, 2)
    redis.call('SET', key, value, 'PXAT', num(expire_at_ms))
  end

  local function sorted_pairs(flat)
    local names, values = {}, {}
    for i = 1, #flat, 2 do
      names[#names + 1] = flat[i]
      values[flat[i]] = flat[i + 1]
    end
    table.sort(names)
    local out = {}
    for _, name in ipairs(names) do
      out[#out + 1] = name
      out[#out + 1] = values[name]
    end
    return out
  end

  QUERIES['ledger_day'] = function(q)
    local key, alert_rows = unpack(q, 2)
    return {sorted_pairs(redis.call('HGETALL', key)), sorted_pairs(redis.call('HGETALL', alert_rows))}
  end

  QUERIES['ledger_day_minutes'] = function(q)
    local key = unpack(q, 2)
    local bits = redis.call('GET', key)
    local out = {}
    if not bits then return out end
    for i = 1, #bits do
      local byte = string.byte(bits, i)
      if byte ~= 0 then
        for j = 0, 7 do
          if bit.band(byte, bit.rshift(128, j)) ~= 0 then out[#out + 1] = (i - 1) * 8 + j end
        end
      end
    end
    return out
  end

  QUERIES['ledger_config'] = function(q)
    local key = unpack(q, 2)
    return redis.call('GET', key)
  end
end
