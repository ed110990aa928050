#!lua flags=no-writes,allow-cross-slot-keys
-- blindar state load (monitor/state/store.py): every field of each owner hash in KEYS.
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('HGETALL', key) end
return out
