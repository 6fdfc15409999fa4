/**
 * The trace store's Lua scripts. A trace is a string `<prefix>tr:<requestId>` (its JSON, with
 * the TTL), indexed by start time (score, epoch ms) in sorted sets of request ids:
 * `<prefix>tr:all`, and per filter value `tr:id:<traceId>`, `tr:cfg:<configId>`,
 * `tr:st:<status>` and `tr:pv:<provider>` (every provider attempted or that served). A listing
 * walks the most selective index of its filters, newest first, and checks the others by ZSCORE:
 * it never reads a trace that does not match.
 *
 * Index keys are made inside the scripts from the prefix: the stores need a standalone Redis (or
 * a primary with replicas), not Redis Cluster.
 */
import { lua } from './link.js';

/**
 * record, for many traces at once: KEYS = [all]; ARGV = [prefix, ttlSeconds, maxTraces, nowMs,
 * then per trace two: its fields, each as `<length>:<text>` (requestId, traceId, configId,
 * status, startMs, then each provider), and its JSON].
 * Then the bounds: traces older than the TTL leave the indexes, and past maxTraces the oldest go
 * (their JSON too); each index touched is trimmed to what `all` keeps and expires with the TTL.
 */
export const RECORD_TRACES = lua(
  'traces-record',
  `
local p, ttl, max, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local all, touched = KEYS[1], {}
local function index(k, score, rid)
  redis.call('ZADD', k, score, rid)
  touched[k] = true
end
local function fields(text)
  local out, at = {}, 1
  while at <= #text do
    local colon = string.find(text, ':', at, true)
    local n = tonumber(string.sub(text, at, colon - 1))
    out[#out + 1] = string.sub(text, colon + 1, colon + n)
    at = colon + n + 1
  end
  return out
end
for a = 5, #ARGV, 2 do
  local f = fields(ARGV[a])
  local rid, score = f[1], f[5]
  redis.call('SET', p .. 'tr:' .. rid, ARGV[a + 1], 'EX', ttl)
  redis.call('ZADD', all, score, rid)
  -- A trace id has an index of its own, mostly of one trace: trimmed only when it holds more.
  local byId = p .. 'tr:id:' .. f[2]
  redis.call('ZADD', byId, score, rid)
  redis.call('EXPIRE', byId, ttl)
  if redis.call('ZCARD', byId) > 1 then touched[byId] = true end
  index(p .. 'tr:cfg:' .. f[3], score, rid)
  index(p .. 'tr:st:' .. f[4], score, rid)
  for j = 6, #f do index(p .. 'tr:pv:' .. f[j], score, rid) end
end
redis.call('ZREMRANGEBYSCORE', all, '-inf', '(' .. string.format('%.0f', now - ttl * 1000))
local n = redis.call('ZCARD', all)
if n > max then
  local old = redis.call('ZRANGE', all, 0, n - max - 1)
  for i = 1, #old, 500 do
    local bodies = {}
    for j = i, math.min(i + 499, #old) do bodies[#bodies + 1] = p .. 'tr:' .. old[j] end
    redis.call('DEL', unpack(bodies))
  end
  redis.call('ZREMRANGEBYRANK', all, 0, n - max - 1)
end
redis.call('EXPIRE', all, ttl)
local low = redis.call('ZRANGE', all, 0, 0, 'WITHSCORES')[2]
for k in pairs(touched) do
  if low then redis.call('ZREMRANGEBYSCORE', k, '-inf', '(' .. low) end
  redis.call('EXPIRE', k, ttl)
end
return n
`,
);

/**
 * list: ARGV = [prefix, limit, max score (`+inf` or `(ms`), most index entries to examine,
 * traceId, configId, status, provider] (an unused filter is ''). Answers `[cut, json...]`,
 * newest first; `cut` is 1 when the examination bound was reached before `limit` traces matched.
 */
export const LIST_TRACES = lua(
  'traces-list',
  `
local p, limit, max, scanMax = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local idx = {}
for i, name in ipairs({ 'id:', 'cfg:', 'st:', 'pv:' }) do
  if ARGV[4 + i] ~= '' then idx[#idx + 1] = p .. 'tr:' .. name .. ARGV[4 + i] end
end
if #idx == 0 then idx[1] = p .. 'tr:all' end
local best, bestN = 1, nil
for i, k in ipairs(idx) do
  local n = redis.call('ZCARD', k)
  if n == 0 then return { 0 } end
  if bestN == nil or n < bestN then best, bestN = i, n end
end
local primary = table.remove(idx, best)
local out, scanned, offset, page = { 0 }, 0, 0, math.max(limit, 50)
while #out - 1 < limit and scanned < scanMax do
  local ids = redis.call('ZREVRANGEBYSCORE', primary, max, '-inf', 'LIMIT', offset, page)
  if #ids == 0 then break end
  offset = offset + #ids
  for _, rid in ipairs(ids) do
    scanned = scanned + 1
    local ok = true
    for _, k in ipairs(idx) do
      if not redis.call('ZSCORE', k, rid) then ok = false; break end
    end
    if ok then
      local body = redis.call('GET', p .. 'tr:' .. rid)
      if body then out[#out + 1] = body end
    end
    if #out - 1 >= limit or scanned >= scanMax then break end
  end
end
if #out - 1 < limit and scanned >= scanMax then out[1] = 1 end
return out
`,
);
