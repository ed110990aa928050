#!lua flags=no-writes,allow-cross-slot-keys
-- blindar state load (monitor/service/state/store.py): every field of each owner hash named in
-- ARGV (KEYS holds one of them, to route the call to its node).
local out = {}
for i, key in ipairs(ARGV) do out[i] = redis.call('HGETALL', key) end
return out
