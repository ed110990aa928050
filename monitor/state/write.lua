-- blindar state write (monitor/state/store.py): one call per batch and Redis node.
--
-- KEYS holds one key of the part (it routes the call to its node); the script touches
-- keys of several slots of that node (allow-cross-slot-keys). On a Redis Cluster, doc.k
-- lists every key it will touch and each is looked at before anything is written: a key
-- whose slot this node no longer serves (a slot on the move) fails the call here, with
-- nothing written, and the caller routes it again.
-- ARGV[1] is a JSON document; ARGV[2] a blob that log entries, snapshots and finding
-- payloads are sliced from (offset, length), so binary-safe values never pass through JSON.
--   t: write token of this batch   now: decision time (ms)   supp: suppression (ms)
--   attl: how long an alert record outlives its last repeat (ms)
--   w: owners, each {key, expected version (-1: no state of its own), entry offset,
--      entry length, 1 if the entry is a snapshot, ttl ms (0: leave it), findings}
--      finding: {field, uid, window end, observed, severity, payload offset,
--                payload length, claim field ('' if none), episode, window start}
--   s / q: shared-family ops and queries ({family, key, args...})
--   m / mt: the state marker key and its token (optional)
-- Returns {statuses, pending, answers, lost, repeats}: statuses has one character per owner
-- ('0' written, 'r' written before by this very batch, 'c' conflict: another writer
-- moved the owner on, nothing done); pending lists every owner's alerts that wait for
-- Kafka: {owner index, field, kind, uid, count, first seen, payload, decided at};
-- repeats lists the findings folded into an open alert without a page: {owner index,
-- finding index, uid, count, first seen, last seen, severity}.
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

-- The median of a sorted array of numbers.
local function median(sorted)
  local n = #sorted
  local m = math.floor(n / 2)
  if n % 2 == 1 then return sorted[m + 1] end
  return (sorted[m] + sorted[m + 1]) / 2
end

local function slice(offset, length) return string.sub(blob, offset, offset + length - 1) end

--@families

local token, now, supp, attl = doc.t, doc.now, doc.supp, doc.attl

if doc.k then
  for _, key in ipairs(doc.k) do redis.call('EXISTS', key) end
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
  if #fields == 0 then redis.call('HDEL', key, 'P') else
    redis.call('HSET', key, 'P', cjson.encode(fields))
  end
end

-- One page per (owner, detector, tenant) while it keeps repeating: a finding is a new
-- incident, and pages, only when its window and the alert's windows are a whole
-- suppression window of event time apart (its window starts that long after the
-- alert's last one ended, or ends that long before the alert's first one began: an older
-- incident read later), however fast the events are read (a catch-up). The record itself
-- expires on the wall clock. A decided alert stays pending until confirmed (Kafka
-- acknowledged it); one replaced by a newer incident's before that (two incidents in
-- one call) is set aside under `<field>#<uid>`, still pending, and removed once confirmed.
-- Returns the record when the finding was folded into it without a page (a repeat).
local function decide(key, f, pending)
  local field, wend, observed, sev, wstart = f[1], f[3], f[4], f[5], f[10]
  if f[8] ~= '' then
    if redis.call('HGET', key, f[8]) == f[9] then return end  -- episode already paged
    redis.call('HSET', key, f[8], f[9])
  end
  local raw = redis.call('HGET', key, field)
  local rec = raw and cjson.decode(raw) or nil
  if rec and now - rec.n >= attl then rec = nil end
  local kind
  if not rec or wstart - rec.l >= supp or (rec.w or rec.f) - wend >= supp then
    if rec and rec.p then  -- an earlier incident's page still waits for Kafka: keep it
      local aside = field .. '#' .. rec.u
      redis.call('HSET', key, aside, cjson.encode(rec))
      pending[aside] = true
    end
    rec = {u = f[2], f = wend, l = wend, c = 1, r = observed, s = sev, n = now, d = 0,
           w = wstart}
    kind = 'new'
  elseif wend > rec.l or observed > rec.r then
    rec.c = rec.c + 1
    if wend > rec.l then rec.l = wend end
    rec.n = now
    if observed >= 2 * rec.r or sev > rec.s then
      rec.r, rec.s = observed, sev
      kind = (rec.d == 0) and 'new' or 'update'
    end
  else
    return
  end
  if kind then
    rec.p = {k = kind, x = slice(f[6], f[7]), t = now, c = rec.c, f = rec.f}
    pending[field] = true
  end
  redis.call('HSET', key, field, cjson.encode(rec))
  if not kind then return rec end
end

-- An owner that only decides alerts (a source address, a channel: no state of its own
-- here) lives at least as long as its newest alert record counts (attl after the last
-- decision); a longer TTL its own family gave it (a channel's traffic) is kept.
local function live_at_least(key, ttl)
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, num(ttl)) end  -- -1: none
end

local function write_state(key, w, v, n)
  if w[5] == 1 then  -- a snapshot replaces the log
    local old = {}
    for k = 1, n do old[k] = 'e' .. num(k) end
    if n > 0 then redis.call('HDEL', key, unpack(old)) end
    redis.call('HSET', key, 'v', num(v + 1), 'w', token, 'n', '0', 's', slice(w[3], w[4]))
  else
    redis.call('HSET', key, 'v', num(v + 1), 'w', token, 'n', num(n + 1),
      'e' .. num(n + 1), slice(w[3], w[4]))
  end
end

local statuses, pending_out, repeats_out = {}, {}, {}
for i, w in ipairs(doc.w) do
  local key = w[1]
  local cur = redis.call('HMGET', key, 'v', 'w', 'n', 'P')
  local v = tonumber(cur[1] or '0')
  local status = '0'
  if w[2] >= 0 and v ~= w[2] then
    status = (cur[2] == token and v == w[2] + 1) and 'r' or 'c'
  else
    if w[2] >= 0 and w[4] > 0 then write_state(key, w, v, tonumber(cur[3] or '0')) end
    if w[6] > 0 then redis.call('PEXPIRE', key, num(w[6])) end
    if #w[7] > 0 then
      local pending = pending_set(cur[4])
      for j, f in ipairs(w[7]) do
        local rec = decide(key, f, pending)
        if rec then repeats_out[#repeats_out + 1] = {i, j, rec.u, rec.c, rec.f, rec.l, rec.s} end
      end
      save_pending(key, pending)
      cur[4] = redis.call('HGET', key, 'P')
      if w[2] < 0 then live_at_least(key, attl) end
    end
  end
  statuses[i] = status
  STATUS[key] = status
  if status ~= 'c' and cur[4] then
    for _, field in ipairs(cjson.decode(cur[4])) do
      local raw = redis.call('HGET', key, field)
      local rec = raw and cjson.decode(raw)
      if rec and rec.p then
        pending_out[#pending_out + 1] = {i, field, rec.p.k, rec.u, rec.p.c, rec.p.f, rec.p.x,
          rec.p.t}
      end
    end
  end
end

for _, op in ipairs(doc.s) do OPS[op[1]](op) end
local answers = {}
for i, q in ipairs(doc.q) do answers[i] = QUERIES[q[1]](q) end

-- The state marker: missing means Redis lost its data since the worker started.
local lost = 0
if doc.m and redis.call('EXISTS', doc.m) == 0 then
  redis.call('SET', doc.m, doc.mt)
  lost = 1
end

return {table.concat(statuses), pending_out, answers, lost, repeats_out}
