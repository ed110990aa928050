#!lua flags=allow-cross-slot-keys
-- blindar alert confirmation (monitor/service/state/store.py): alerts Kafka acknowledged stop
-- being pending; a new page is marked delivered. ARGV[1]: JSON list of ConfirmRow
-- (detectors/state/shared/protocol.py, as OWNER, ALERT and PAGE prepended here); KEYS
-- holds one owner key, to route the call. Confirming twice changes nothing.
local function without(list, field)
  local kept = {}
  for _, f in ipairs(cjson.decode(list)) do if f ~= field then kept[#kept + 1] = f end end
  return kept
end

for _, c in ipairs(cjson.decode(ARGV[1])) do
  local key, field, uid, kind, decided_ms = unpack(c)
  local raw = redis.call('HGET', key, field)
  local rec = raw and cjson.decode(raw)
  local page = rec and rec[ALERT.page]
  if page and rec[ALERT.uid] == uid and page[PAGE.at] == decided_ms then
    rec[ALERT.page] = nil
    if kind == 'new' then rec[ALERT.delivered] = 1 end
    if string.find(field, ASIDE, 1, true) then  -- a page set aside (write.lua's decide)
      redis.call('HDEL', key, field)
    else
      redis.call('HSET', key, field, cjson.encode(rec))
    end
    local list = redis.call('HGET', key, OWNER.pending)
    if list then
      local kept = without(list, field)
      if #kept == 0 then redis.call('HDEL', key, OWNER.pending) else
        redis.call('HSET', key, OWNER.pending, cjson.encode(kept))
      end
    end
  end
end
return 1
