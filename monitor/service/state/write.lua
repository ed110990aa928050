-- blindar state write (monitor/service/state/store.py): one call per batch and Redis node.
--
-- KEYS holds one key of the part (it routes the call to its node); the script touches
-- keys of several slots of that node (allow-cross-slot-keys). On a Redis Cluster, the
-- envelope lists every key it will touch and each is looked at before anything is
-- written: a key whose slot this node no longer serves (a slot on the move) fails the
-- call here, with nothing written, and the caller routes it again.
-- ARGV[1] is a JSON document; ARGV[2] a blob that log entries, snapshots and finding
-- payloads are sliced from (offset, length), so binary-safe values never pass through JSON.
-- Every list in it, and in the reply, is declared field by field in
-- detectors/state/shared/protocol.py (read here with `unpack` into locals of the same
-- names); its short keys (ENVELOPE, OWNER, ALERT, PAGE, the statuses) come from there
-- as constants prepended to this script.
--   the envelope: the batch's write token, decision time, suppression (ms), how long an
--   alert record outlives its last repeat (ms), the owners (OwnerRow, each with its
--   FindingRow list), shared-family ops and queries ([name, key, args...]), the state
--   marker key and its token (optional), every key of the call (Redis Cluster).
-- Returns a WriteResult: one status per owner (WRITTEN, REPLAYED: written before by this
-- very batch, CONFLICT: another writer moved the owner on, nothing done); every owner's
-- alerts that wait for Kafka (Pending); the answers; 1 if the state marker was lost;
-- the findings folded into an open alert without a page (RepeatRow).
-- Shared ops run after the owners; STATUS[owner key] tells them how each owner's write went.
local doc = cjson.decode(ARGV[1])
local blob = ARGV[2] or ''
local OPS, QUERIES, STATUS = {}, {}, {}

local function num(x) return string.format('%d', x) end

-- A key's TTL is refreshed once per call (only once the key exists).
local expired = {}
local function expire_once(key, ttl)
  if not expired[key] and redis.call('PEXPIRE', key, num(ttl)) == 1 then
    expired[key] = true
  end
end

-- A capped hash: once it holds more than `cap + over` fields, only the `cap` whose
-- `order(value)` is largest stay (ties: the larger field name stays).
local function keep_newest(key, cap, over, order)
  if redis.call('HLEN', key) <= cap + over then return end
  local all = redis.call('HGETALL', key)
  local rows = {}
  for i = 1, #all, 2 do rows[#rows + 1] = {all[i], order(all[i + 1])} end
  table.sort(rows, function(a, b)
    if a[2] ~= b[2] then return a[2] < b[2] end
    return a[1] < b[1]
  end)
  for i = 1, #rows - cap do redis.call('HDEL', key, rows[i][1]) end
end

-- The slack a capped family allows past its cap before trimming (a quarter, at least one).
local function slack(cap) return math.max(1, math.floor(cap / 4)) end

-- A field's value "<time>:<value>" (team_totals, team_rates) as two numbers, and its time
-- alone (what keep_newest orders such fields by).
local function pair(text)
  local t, v = string.match(text, '^(-?%d+):(%-?%d+)$')
  return tonumber(t), tonumber(v)
end
local function time_of(text) return (pair(text)) end

-- The median of a sorted array of numbers.
local function median(sorted)
  local n = #sorted
  local m = math.floor(n / 2)
  if n % 2 == 1 then return sorted[m + 1] end
  return (sorted[m] + sorted[m + 1]) / 2
end

local function slice(offset, length) return string.sub(blob, offset, offset + length - 1) end

local token, now = doc[ENVELOPE.token], doc[ENVELOPE.now]
local supp, attl = doc[ENVELOPE.suppression], doc[ENVELOPE.alert_ttl]

--@families

if doc[ENVELOPE.keys] then
  for _, key in ipairs(doc[ENVELOPE.keys]) do redis.call('EXISTS', key) end
end

-- A stored record (short keys, `keys`: ALERT or PAGE) with its fields by name, and back.
local function expand(short, keys)
  local rec = {}
  for name, k in pairs(keys) do rec[name] = short[k] end
  return rec
end

local function compact(rec, keys)
  local short = {}
  for name, k in pairs(keys) do short[k] = rec[name] end
  return short
end

local function read_alert(raw)
  if not raw then return nil end
  local rec = expand(cjson.decode(raw), ALERT)
  if rec.page then rec.page = expand(rec.page, PAGE) end
  return rec
end

local function alert_json(rec)
  local short = compact(rec, ALERT)
  if rec.page then short[ALERT.page] = compact(rec.page, PAGE) end
  return cjson.encode(short)
end

local function pending_set(raw)
  local set = {}
  if raw then for _, field in ipairs(cjson.decode(raw)) do set[field] = true end end
  return set
end

local function save_pending(key, set)
  local fields = {}
  for field, _ in pairs(set) do fields[#fields + 1] = field end
  table.sort(fields)
  if #fields == 0 then redis.call('HDEL', key, OWNER.pending) else
    redis.call('HSET', key, OWNER.pending, cjson.encode(fields))
  end
end

-- One page per (owner, detector, tenant) while it keeps repeating: a finding is a new
-- incident, and pages, only when its window and the alert's windows are a whole
-- suppression window of event time apart (its window starts that long after the
-- alert's last one ended, or ends that long before the alert's first one began: an older
-- incident read later), however fast the events are read (a catch-up). The record itself
-- expires on the wall clock. A decided alert stays pending until confirmed (Kafka
-- acknowledged it); one replaced by a newer incident's before that (two incidents in
-- one call) is set aside under `<field>#<uid>` (ASIDE), still pending, and removed once
-- confirmed. Returns the record when the finding was folded into it without a page (a
-- repeat). The in-process twin (monitor/service/state/memory_store.py) is checked against it by
-- tests/integration/test_decide_parity.py.
local function decide(key, f, pending)
  local field, uid, window_end_ms, observed, severity, payload_offset, payload_length, claim,
    episode, window_start_ms = unpack(f)
  if claim ~= '' then
    if redis.call('HGET', key, claim) == episode then return end  -- episode already paged
    redis.call('HSET', key, claim, episode)
  end
  local rec = read_alert(redis.call('HGET', key, field))
  if rec and now - rec.decided >= attl then rec = nil end
  local kind
  if not rec or window_start_ms - rec.last >= supp
      or (rec.window_start or rec.first) - window_end_ms >= supp then
    if rec and rec.page then  -- an earlier incident's page still waits for Kafka: keep it
      local aside = field .. ASIDE .. rec.uid
      redis.call('HSET', key, aside, alert_json(rec))
      pending[aside] = true
    end
    rec = {uid = uid, first = window_end_ms, last = window_end_ms, count = 1,
           observed = observed, severity = severity, decided = now, delivered = 0,
           window_start = window_start_ms}
    kind = 'new'
  elseif window_end_ms > rec.last or observed > rec.observed then
    rec.count = rec.count + 1
    if window_end_ms > rec.last then rec.last = window_end_ms end
    rec.decided = now
    if observed >= 2 * rec.observed or severity > rec.severity then
      rec.observed, rec.severity = observed, severity
      kind = (rec.delivered == 0) and 'new' or 'update'
    end
  else
    return
  end
  if kind then
    rec.page = {kind = kind, payload = slice(payload_offset, payload_length), at = now,
                count = rec.count, first = rec.first}
    pending[field] = true
  end
  redis.call('HSET', key, field, alert_json(rec))
  if not kind then return rec end
end

-- An owner that only decides alerts (a source address, a channel: no state of its own
-- here) lives at least as long as its newest alert record counts (attl after the last
-- decision); a longer TTL its own family gave it (a channel's traffic) is kept.
local function live_at_least(key, ttl)
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, num(ttl)) end  -- -1: none
end

local function write_state(key, state, version, entries)
  if state.snapshot == 1 then  -- a snapshot replaces the log
    local old = {}
    for k = 1, entries do old[k] = OWNER.entry .. num(k) end
    if entries > 0 then redis.call('HDEL', key, unpack(old)) end
    redis.call('HSET', key, OWNER.version, num(version + 1), OWNER.writer, token,
      OWNER.entries, '0', OWNER.snapshot, slice(state.offset, state.length))
  else
    redis.call('HSET', key, OWNER.version, num(version + 1), OWNER.writer, token,
      OWNER.entries, num(entries + 1), OWNER.entry .. num(entries + 1),
      slice(state.offset, state.length))
  end
end

-- Each alert of the owner `key` that waits for Kafka.
local function pending_rows(key, list, out)
  for _, field in ipairs(cjson.decode(list)) do
    local rec = read_alert(redis.call('HGET', key, field))
    if rec and rec.page then
      local p = rec.page
      local kind, uid, count, first_seen_ms, payload, decided_ms =
        p.kind, rec.uid, p.count, p.first, p.payload, p.at
      out[#out + 1] = {key, field, kind, uid, count, first_seen_ms, payload, decided_ms}
    end
  end
end

local statuses, pending, repeats = {}, {}, {}
for owner, w in ipairs(doc[ENVELOPE.owners]) do
  local key, expected, entry_offset, entry_length, snapshot, ttl_ms, findings = unpack(w)
  local cur = redis.call('HMGET', key, OWNER.version, OWNER.writer, OWNER.entries, OWNER.pending)
  local version = tonumber(cur[1] or '0')
  local status = WRITTEN
  if expected >= 0 and version ~= expected then
    status = (cur[2] == token and version == expected + 1) and REPLAYED or CONFLICT
  else
    if expected >= 0 and entry_length > 0 then
      local state = {offset = entry_offset, length = entry_length, snapshot = snapshot}
      write_state(key, state, version, tonumber(cur[3] or '0'))
    end
    if ttl_ms > 0 then redis.call('PEXPIRE', key, num(ttl_ms)) end
    if #findings > 0 then
      local waiting = pending_set(cur[4])
      for finding, f in ipairs(findings) do
        local rec = decide(key, f, waiting)
        if rec then
          local uid, count, first_seen_ms, last_seen_ms, severity =
            rec.uid, rec.count, rec.first, rec.last, rec.severity
          repeats[#repeats + 1] = {owner, finding, uid, count, first_seen_ms, last_seen_ms,
            severity}
        end
      end
      save_pending(key, waiting)
      cur[4] = redis.call('HGET', key, OWNER.pending)
      if expected < 0 then live_at_least(key, attl) end
    end
  end
  statuses[owner] = status
  STATUS[key] = status
  if status ~= CONFLICT and cur[4] then pending_rows(key, cur[4], pending) end
end

for _, op in ipairs(doc[ENVELOPE.ops]) do OPS[op[1]](op) end
local answers = {}
for i, q in ipairs(doc[ENVELOPE.queries]) do answers[i] = QUERIES[q[1]](q) end

-- The state marker: missing means Redis lost its data since the worker started.
local lost = 0
local marker = doc[ENVELOPE.marker]
if marker and redis.call('EXISTS', marker) == 0 then
  redis.call('SET', marker, doc[ENVELOPE.marker_token])
  lost = 1
end

statuses = table.concat(statuses)
return {statuses, pending, answers, lost, repeats}
