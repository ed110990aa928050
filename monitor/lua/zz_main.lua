-- Main loop: every op in order, then every query in order. A query must not return
-- nil (it would cut the reply short): return 0 or false for "nothing".
for _, op in ipairs(doc.o) do
  OPS[op[1]](op)
end
local out = {}
for i, q in ipairs(doc.q) do
  out[i] = QUERIES[q[1]](q)
end
return out
