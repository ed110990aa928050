-- Main loop: every op in order, then every query in order. A query must not return
-- nil (it would cut the reply short): return 0 or false for "nothing".
for _, op in ipairs(doc.o) do
  OPS[op[1]](op)
end

-- The state marker (doc.m): missing means Redis lost its data since the worker started.
-- Its answer (1 lost, 0 kept) is appended after the queries' answers.
local lost = 0
if doc.m and redis.call('EXISTS', doc.m) == 0 then
  redis.call('SET', doc.m, doc.t)
  lost = 1
end

local out = {}
for i, q in ipairs(doc.q) do
  out[i] = QUERIES[q[1]](q)
end
if doc.m then out[#out + 1] = lost end
return out
