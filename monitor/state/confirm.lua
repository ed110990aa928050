#!lua flags=allow-cross-slot-keys
-- blindar alert confirmation (monitor/state/store.py): alerts Kafka acknowledged stop
-- being pending; a new page is marked delivered. ARGV[1]: JSON list of
-- {owner key, field, uid, kind, decided at} (KEYS holds one owner key, to route the call).
-- Confirming twice changes nothing.
for _, c in ipairs(cjson.decode(ARGV[1])) do
  local key, field, uid, kind, at = c[1], c[2], c[3], c[4], c[5]
  local raw = redis.call('HGET', key, field)
  local rec = raw and cjson.decode(raw)
  if rec and rec.p and rec.u == uid and rec.p.t == at then
    rec.p = nil
    if kind == 'new' then rec.d = 1 end
    if string.find(field, '#', 1, true) then  -- a page set aside (write.lua's decide)
      redis.call('HDEL', key, field)
    else
      redis.call('HSET', key, field, cjson.encode(rec))
    end
    local list = redis.call('HGET', key, 'P')
    if list then
      local kept = {}
      for _, f in ipairs(cjson.decode(list)) do if f ~= field then kept[#kept + 1] = f end end
      if #kept == 0 then redis.call('HDEL', key, 'P') else
        redis.call('HSET', key, 'P', cjson.encode(kept))
      end
    end
  end
end
return 1
