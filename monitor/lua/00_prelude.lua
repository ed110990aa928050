-- blindar detector state: applies one batch's plan and answers its queries.
-- This file is assembled by monitor/state.py: this prelude, then every op family of
-- monitor/lua/*.lua (each registers handlers in OPS and QUERIES), then the main loop.
-- ARGV[1] is a JSON document {"o": ops, "q": queries}; op[1] / query[1] is its kind.
-- Every write is idempotent (guarded by the event id, or idempotent by nature).
local doc = cjson.decode(ARGV[1])
local OPS, QUERIES = {}, {}

local function num(x) return string.format('%d', x) end
