-- blindar alert suppression: one page per (detector, tenant, actor) while it keeps repeating;
-- a new page only after a whole suppression window without a repeat.
-- ARGV[1] is a JSON list of findings: [key, uid, window_end_ms, observed, severity,
-- suppression_ms, ttl_ms, now_ms]. Returns, per finding, {decision, uid, count, first_seen_ms}
-- where decision is "new" (page), "update" (publish, no page) or "dup" (nothing new).
-- A record stays undelivered until the caller confirms the alert reached Kafka, so a
-- crash in between re-publishes the same uid instead of losing or doubling it.
local findings = cjson.decode(ARGV[1])
local out = {}
local function num(x) return string.format('%d', x) end

for i, f in ipairs(findings) do
  local key, uid, wend, observed, sev, supp, ttl, now = f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]
  local rec = redis.call('HMGET', key, 'uid', 'first', 'last', 'count', 'reported', 'delivered',
    'severity', 'seen')
  -- A new page only once the open alert has been quiet for a whole suppression window, in
  -- event time and in processing time: a backlog read from several partitions at once can
  -- jump ahead in event time while the leak it shows never stopped.
  if not rec[1] or (wend - tonumber(rec[3]) >= supp and now - tonumber(rec[8]) >= supp) then
    redis.call('DEL', key)
    redis.call('HSET', key, 'uid', uid, 'first', num(wend), 'last', num(wend), 'count', 1,
      'reported', tostring(observed), 'delivered', 0, 'severity', sev, 'seen', num(now))
    redis.call('PEXPIRE', key, num(ttl))
    out[i] = {'new', uid, 1, num(wend)}
  elseif rec[6] == '0' then
    out[i] = {'new', rec[1], tonumber(rec[4]), rec[2]}
  elseif wend > tonumber(rec[3]) or observed > tonumber(rec[5]) then
    local count = redis.call('HINCRBY', key, 'count', 1)
    redis.call('HSET', key, 'last', num(math.max(wend, tonumber(rec[3]))), 'seen', num(now))
    redis.call('PEXPIRE', key, num(ttl))
    local grew = observed >= 2 * tonumber(rec[5]) or sev > tonumber(rec[7])
    if grew then
      redis.call('HSET', key, 'reported', tostring(observed), 'severity', sev)
      out[i] = {'update', rec[1], count, rec[2]}
    else
      out[i] = {'dup', rec[1], count, rec[2]}
    end
  else
    out[i] = {'dup', rec[1], tonumber(rec[4]), rec[2]}
  end
end
return out
