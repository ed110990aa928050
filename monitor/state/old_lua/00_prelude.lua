-- blindar detector state: applies one batch's plan and answers its queries.
-- This file is assembled by monitor/state.py: this prelude, then every op family of
-- monitor/lua/*.lua (each registers handlers in OPS and QUERIES), then the main loop.
-- ARGV[1] is a JSON document {"o": ops, "q": queries}; op[1] / query[1] is its kind.
-- Every write is idempotent (guarded by the event id, or idempotent by nature).
local doc = cjson.decode(ARGV[1])
local OPS, QUERIES = {}, {}

local function num(x) return string.format('%d', x) end

-- A key's TTL is refreshed once per call, not once per event (only once the key exists).
local expired = {}
local function expire_once(key, ttl)
  if not expired[key] and redis.call('PEXPIRE', key, num(ttl)) == 1 then
    expired[key] = true
  end
end

-- Counters guarded by event id: a hash of per-bucket counts, the event ids counted in
-- key..':ids' (scored by event time), and a floor bucket: buckets below it were dropped
-- with their ids, so an event that old is ignored rather than counted a second time.
local floors = {}
local function floor_of(key)
  local f = floors[key]
  if f == nil then
    f = tonumber(redis.call('HGET', key, 'floor') or '-1')
    floors[key] = f
  end
  return f
end

-- Drops the ids of events older than the floor (bucket `floor` starts at floor·bucket_ms).
local function raise_floor(key, floor, bucket_ms)
  redis.call('HSET', key, 'floor', num(floor))
  floors[key] = floor
  redis.call('ZREMRANGEBYSCORE', key .. ':ids', '-inf', '(' .. num(floor * bucket_ms))
end

local function add_once(key, bucket, member, amount, ts, ttl)
  if bucket < floor_of(key) then return end
  local ids = key .. ':ids'
  if redis.call('ZADD', ids, 'NX', num(ts), member) == 1 then
    redis.call('HINCRBY', key, num(bucket), num(amount))
  end
  expire_once(key, ttl)
  expire_once(ids, ttl)
end
