/**
 * The breaker's Lua scripts: each operation of MemoryBreakerStore (the reference semantics),
 * written once more to run atomically inside Redis. A key's state is one hash,
 * `<prefix>cb:<key>`: s (c closed, o open, h half-open), oa (opened at), cd (cooldown), f and r
 * (failures and requests in the window), v (version), pa (probe let through at), ev (the window's
 * outcomes, `at:1,at:0,...`). A sorted set `<prefix>cb:keys` (score: last write) indexes the keys
 * for GET /health. A state is answered as `[s, oa, cd, f, r, v]` (an absent field as '').
 *
 * A version is max(previous + 1, now * 1000): it grows with every change, and still grows after
 * Redis lost its data or after this instance ran on local state during an outage.
 */
import { lua } from './link.js';

const PRELUDE = `
local function fmt(x) return string.format('%.0f', x) end
local function nextv(v, now) return fmt(math.max((tonumber(v) or 0) + 1, now * 1000)) end
local function load(k)
  local h = redis.call('HMGET', k, 's', 'oa', 'cd', 'f', 'r', 'v', 'pa', 'ev')
  return { exists = h[1] ~= false, s = h[1] or 'c', oa = h[2] or nil, cd = h[3] or nil,
    f = tonumber(h[4]) or 0, r = tonumber(h[5]) or 0, v = h[6] or '0', pa = h[7] or nil, ev = h[8] or '' }
end
local function reply(st) return { st.s, st.oa or '', st.cd or '', st.f, st.r, st.v } end
local function write(k, key, st, ttl, idx, now, maxKeys)
  local set, del = { 's', st.s, 'f', st.f, 'r', st.r, 'v', st.v, 'ev', st.ev }, {}
  for _, name in ipairs({ 'oa', 'cd', 'pa' }) do
    if st[name] then set[#set + 1] = name; set[#set + 1] = st[name] else del[#del + 1] = name end
  end
  redis.call('HSET', k, unpack(set))
  if #del > 0 then redis.call('HDEL', k, unpack(del)) end
  redis.call('PEXPIRE', k, ttl)
  redis.call('ZADD', idx, now, key)
  local n = redis.call('ZCARD', idx)
  if n > maxKeys then redis.call('ZREMRANGEBYRANK', idx, 0, n - maxKeys - 1) end
end
`;

/**
 * acquire: KEYS = [hash, index]; ARGV = [key, cooldownMs, now, ttlMs, maxKeys].
 * Answers `[decision, ...state]`. A key without state is closed as of now.
 */
export const ACQUIRE = lua(
  'breaker-acquire',
  `${PRELUDE}
local now, cooldown = tonumber(ARGV[3]), tonumber(ARGV[2])
local st = load(KEYS[1])
if not st.exists then return { 'allow', 'c', '', '', 0, 0, fmt(now * 1000) } end
local function answer(d) local out = reply(st); table.insert(out, 1, d); return out end
if st.s == 'c' then return answer('allow') end
local cd = tonumber(st.cd) or cooldown
if (st.s == 'o' and (tonumber(st.oa) or 0) + cd <= now) or (st.s == 'h' and (tonumber(st.pa) or 0) + cd * 2 <= now) then
  st.s, st.pa, st.v = 'h', fmt(now), nextv(st.v, now)
  write(KEYS[1], ARGV[1], st, ARGV[4], KEYS[2], now, tonumber(ARGV[5]))
  return answer('probe')
end
return answer('open')
`,
);

/**
 * record, for many outcomes at once: KEYS = [index]; ARGV = [ttlMs, maxKeys, hash prefix, then
 * one string per outcome: `<failed 1/0><probe 1/0> <now> <windowMs> <failureThreshold>
 * <minimumRequests> <cooldownMs> <key>`]. Answers the state after each as one string
 * `s|oa|cd|f|r|v`, in order (fewer arguments and replies to encode than six fields each).
 */
export const RECORD = lua(
  'breaker-record',
  `${PRELUDE}
local function opened(st, now, cooldown)
  st.s, st.oa, st.cd, st.f, st.r, st.events, st.pa, st.v = 'o', fmt(now), cooldown, 0, 0, {}, nil, nextv(st.v, now)
end
local function lastOf(list, n)
  local out = {}
  for i = math.max(1, #list - n + 1), #list do out[#out + 1] = list[i] end
  return out
end
local out, states, dirty = {}, {}, {}
for i = 4, #ARGV do
  local f, p, n, w, t, m, cooldown, key = string.match(ARGV[i], '^(%d)(%d) (%S+) (%S+) (%S+) (%S+) (%S+) (.*)$')
  local failed, probe, now, window, threshold, minimum = f == '1', p == '1', tonumber(n), tonumber(w), tonumber(t), tonumber(m)
  local hk = ARGV[3] .. key
  -- A key's outcomes in one call are applied in order to one loaded state, written once at the end.
  local st = states[hk]
  if not st then
    st = load(hk)
    st.events = {}
    for at, bad in string.gmatch(st.ev, '(-?%d+):(%d)') do st.events[#st.events + 1] = { tonumber(at), bad == '1' } end
    states[hk] = st
  end
  local changed = true
  if probe or st.s == 'h' then
    if failed then opened(st, now, cooldown) else st.s, st.oa, st.cd, st.pa, st.f, st.r, st.events, st.v = 'c', nil, nil, nil, 0, 0, {}, nextv(st.v, now) end
  elseif st.s == 'o' then
    changed = false
  else
    local fails, oks = {}, {}
    local function add(e) if e[2] then fails[#fails + 1] = e else oks[#oks + 1] = e end end
    for _, e in ipairs(st.events) do
      if e[1] > now - window then add(e) end
    end
    add({ now, failed })
    fails, oks = lastOf(fails, math.max(threshold, minimum)), lastOf(oks, minimum)
    local all = {}
    for _, e in ipairs(fails) do all[#all + 1] = e end
    for _, e in ipairs(oks) do all[#all + 1] = e end
    for j = 2, #all do -- a stable insertion sort by time, as Array.prototype.sort
      local e, m = all[j], j - 1
      while m >= 1 and all[m][1] > e[1] do all[m + 1] = all[m]; m = m - 1 end
      all[m + 1] = e
    end
    if #all >= minimum and #fails >= threshold then
      opened(st, now, cooldown)
    else
      st.s, st.oa, st.cd, st.f, st.r, st.events, st.v = 'c', nil, nil, #fails, #all, all, nextv(st.v, now)
    end
  end
  if changed then
    if not dirty[hk] then dirty[#dirty + 1] = hk end
    dirty[hk] = { key, now }
  end
  out[#out + 1] = table.concat(reply(st), '|')
end
for _, k in ipairs(dirty) do
  local st = states[k]
  local ev = {}
  for j, e in ipairs(st.events) do ev[j] = fmt(e[1]) .. ':' .. (e[2] and '1' or '0') end
  st.ev = table.concat(ev, ',')
  write(k, dirty[k][1], st, ARGV[1], KEYS[1], dirty[k][2], tonumber(ARGV[2]))
end
return out
`,
);

/** getMany: KEYS = hashes. Answers 6 fields per key, in order; a key without state has s = ''. */
export const GET_MANY = lua(
  'breaker-get-many',
  `${PRELUDE}
local out = {}
for i = 1, #KEYS do
  local st = load(KEYS[i])
  if not st.exists then st.s = '' end
  for _, x in ipairs(reply(st)) do out[#out + 1] = x end
end
return out
`,
);

/**
 * snapshot: KEYS = [index]; ARGV = [hash prefix, most keys]. Answers 7 fields per key (the key,
 * then its state), least recently written first; keys whose hash expired leave the index.
 */
export const SNAPSHOT = lua(
  'breaker-snapshot',
  `${PRELUDE}
local out = {}
for _, key in ipairs(redis.call('ZRANGE', KEYS[1], -tonumber(ARGV[2]), -1)) do
  local st = load(ARGV[1] .. key)
  if st.exists then
    out[#out + 1] = key
    for _, x in ipairs(reply(st)) do out[#out + 1] = x end
  else
    redis.call('ZREM', KEYS[1], key)
  end
end
return out
`,
);
