/**
 * Lua scripts that add, take and complete many jobs per call on BullMQ's own keys, in the layout
 * BullMQ 6 reads and writes: a job added here is the job `Queue.add` would have stored, a job taken
 * here is active, locked and counted exactly as BullMQ's `moveToActive` leaves it, and a job
 * completed here is where BullMQ's `moveToFinished` would put it. So `Queue`,
 * Bull Board, BullMQ's stalled-job check and its `moveToFailed` / `moveToDelayed` keep working
 * on the same jobs. What they leave out is what the events queue never uses: rate limits,
 * priorities (a prioritized job is taken in its turn but ranked like any other), parent and child
 * jobs, deduplication keys and metrics.
 */

/** The queue's bound on its event stream (`maxEvents`), set to BullMQ's default when missing. */
const MAX_EVENTS = `local maxEvents = rcall("HGET", metaKey, "opts.maxLenEvents")
if not maxEvents then
  maxEvents = 10000
  rcall("HSET", metaKey, "opts.maxLenEvents", maxEvents)
end
`;

/**
 * Adds jobs as BullMQ's `Queue.add` does with a custom jobId and no delay, priority or parent: a
 * job whose id is already there is a duplicate and left as it is; a new one gets its hash, goes to
 * wait, and the marker wakes a consumer (unless the queue is paused or at its global concurrency).
 *
 * KEYS: wait, meta, events, marker, active
 * ARGV: job key prefix, timestamp (ms), the jobs' options as JSON up to the jobId that closes them
 * (`{...,"jobId":`), then id, name, data (JSON) per job
 * Returns one code per job: 1 added, 0 duplicate.
 */
export const ADD_JOBS = `
local waitKey, metaKey, eventsKey, markerKey, activeKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local prefix, timestamp, optsHead = ARGV[1], ARGV[2], ARGV[3]
local rcall = redis.call

${MAX_EVENTS}
local codes, added = {}, 0
for i = 4, #ARGV, 3 do
  local id, name = ARGV[i], ARGV[i + 1]
  local jobKey = prefix .. id
  if rcall("EXISTS", jobKey) == 1 then
    rcall("XADD", eventsKey, "MAXLEN", "~", maxEvents, "*", "event", "duplicated", "jobId", id)
    codes[#codes + 1] = 0
  else
    rcall("HMSET", jobKey, "name", name, "data", ARGV[i + 2], "opts", optsHead .. cjson.encode(id) .. "}", "timestamp", timestamp,
      "delay", 0, "priority", 0)
    rcall("XADD", eventsKey, "*", "event", "added", "jobId", id, "name", name)
    rcall("LPUSH", waitKey, id)
    rcall("XADD", eventsKey, "MAXLEN", "~", maxEvents, "*", "event", "waiting", "jobId", id)
    added = added + 1
    codes[#codes + 1] = 1
  end
end

if added > 0 then
  local meta = rcall("HMGET", metaKey, "paused", "concurrency")
  local maxed = meta[2] and rcall("LLEN", activeKey) >= tonumber(meta[2])
  if not meta[1] and not maxed then rcall("ZADD", markerKey, 0, "0") end
end
return codes
`;

/**
 * Takes up to ARGV[5] jobs from wait to active, first moving due delayed jobs to wait, and stops
 * early once the data taken reaches ARGV[6] bytes (always taking one). Takes nothing while the
 * queue is paused or at its global concurrency.
 *
 * KEYS: wait, active, prioritized, events, meta, delayed, marker
 * ARGV: job key prefix, now (ms), lock token, lock duration (ms), most jobs, most bytes
 * Returns { {id, data, attemptsMade, deferredFailure | false}..., nextDelayedAt (ms) | 0 } flattened as
 * { jobs, nextDelayedAt } with each job a 4-item array.
 */
export const TAKE_JOBS = `
local waitKey, activeKey, prioritizedKey, eventsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local metaKey, delayedKey, markerKey = KEYS[5], KEYS[6], KEYS[7]
local prefix, now, token, lockMs = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local most, budget = tonumber(ARGV[5]), tonumber(ARGV[6])
local rcall = redis.call

local meta = rcall("HMGET", metaKey, "paused", "concurrency")
local paused = meta[1] ~= false

-- Delayed jobs due by now go to wait (score = due time * 0x1000 + a counter).
local due = rcall("ZRANGEBYSCORE", delayedKey, 0, (now + 1) * 0x1000 - 1, "LIMIT", 0, 1000)
if #due > 0 then
  rcall("ZREM", delayedKey, unpack(due))
  for _, id in ipairs(due) do
    rcall("LPUSH", waitKey, id)
    rcall("XADD", eventsKey, "*", "event", "waiting", "jobId", id, "prev", "delayed")
    rcall("HSET", prefix .. id, "delay", 0)
  end
end

local function nextDelayedAt()
  local first = rcall("ZRANGE", delayedKey, 0, 0, "WITHSCORES")
  if first[2] then return math.floor(tonumber(first[2]) / 0x1000) end
  return 0
end

if paused then return { {}, nextDelayedAt() } end
if meta[2] then
  most = math.min(most, tonumber(meta[2]) - rcall("LLEN", activeKey))
end

local jobs, bytes = {}, 0
while #jobs < most and (#jobs == 0 or bytes < budget) do
  local id = rcall("RPOPLPUSH", waitKey, activeKey)
  if not id then
    local ranked = rcall("ZPOPMIN", prioritizedKey)
    if not ranked[1] then break end
    id = ranked[1]
    rcall("LPUSH", activeKey, id)
  end
  local jobKey = prefix .. id
  local fields = rcall("HMGET", jobKey, "data", "atm", "defa")
  if fields[1] then
    rcall("SET", jobKey .. ":lock", token, "PX", lockMs)
    rcall("HSET", jobKey, "processedOn", now)
    rcall("HINCRBY", jobKey, "ats", 1)
    rcall("XADD", eventsKey, "*", "event", "active", "jobId", id, "prev", "waiting")
    bytes = bytes + #fields[1]
    jobs[#jobs + 1] = { id, fields[1], fields[2] or "0", fields[3] or false }
  else
    -- Its hash was removed while it waited: nothing to run.
    rcall("LREM", activeKey, -1, id)
  end
end

-- Wake another consumer when jobs are left for it.
if rcall("LLEN", waitKey) > 0 or rcall("ZCARD", prioritizedKey) > 0 then
  rcall("ZADD", markerKey, 0, "0")
end
return { jobs, nextDelayedAt() }
`;

/**
 * Completes jobs whose lock this consumer still holds: each leaves active for the completed set
 * with its return value, and the completed set is then trimmed by age and count, deleting the
 * trimmed jobs' hashes. A job whose lock was lost (expired and taken back by the stalled check, or
 * now held by another consumer) is left as it is.
 *
 * KEYS: active, completed, events, meta, stalled, wait, prioritized
 * ARGV: job key prefix, now (ms), keep age (s), keep count, then id, token, return value per job
 * Returns one code per job: 0 done, -2 lock missing, -6 lock held by another, -3 not active.
 */
export const COMPLETE_JOBS = `
local activeKey, completedKey, eventsKey, metaKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local stalledKey, waitKey, prioritizedKey = KEYS[5], KEYS[6], KEYS[7]
local prefix, now, keepAge, keepCount = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local rcall = redis.call

-- Trim the event stream before adding to it, as BullMQ does.
${MAX_EVENTS}rcall("XTRIM", eventsKey, "MAXLEN", "~", maxEvents)

local codes = {}
for i = 5, #ARGV, 3 do
  local id, token, value = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local jobKey = prefix .. id
  local lockKey = jobKey .. ":lock"
  local holder = rcall("GET", lockKey)
  if holder ~= token then
    codes[#codes + 1] = holder and -6 or -2
  else
    rcall("DEL", lockKey)
    rcall("SREM", stalledKey, id)
    if rcall("LREM", activeKey, -1, id) == 0 then
      codes[#codes + 1] = -3
    else
      rcall("HINCRBY", jobKey, "atm", 1)
      rcall("ZADD", completedKey, now, id)
      rcall("HSET", jobKey, "returnvalue", value, "finishedOn", now)
      rcall("XADD", eventsKey, "*", "event", "completed", "jobId", id, "returnvalue", value, "prev", "active")
      codes[#codes + 1] = 0
    end
  end
end

local function removeJobs(ids)
  for _, id in ipairs(ids) do rcall("DEL", prefix .. id, prefix .. id .. ":logs") end
end
local old = rcall("ZREVRANGEBYSCORE", completedKey, now - keepAge * 1000, "-inf", "LIMIT", 0, 1000)
if #old > 0 then
  removeJobs(old)
  rcall("ZREM", completedKey, unpack(old))
end
local extra = rcall("ZREVRANGE", completedKey, keepCount, keepCount + 999)
if #extra > 0 then
  removeJobs(extra)
  rcall("ZREM", completedKey, unpack(extra))
end

if rcall("LLEN", waitKey) == 0 and rcall("LLEN", activeKey) == 0 and rcall("ZCARD", prioritizedKey) == 0 then
  rcall("XADD", eventsKey, "*", "event", "drained")
end
return codes
`;

/**
 * Fails a job that BullMQ cannot read back (a field it parses as JSON is not JSON: written by
 * something other than Inlet), without reading it: BullMQ's `moveToFailed` needs the job read
 * first, and Bull Board could list neither the active job nor, once failed, the failed set. So the
 * unreadable fields are set aside first: `data` becomes `{"unreadableData": "<the text>"}`, any
 * other field is kept as text under `<field>.unreadable` and left to BullMQ's default. Then the job
 * leaves active for the failed set, as an `UnrecoverableError` would put it there.
 *
 * KEYS: active, failed, events, stalled, meta
 * ARGV: job key prefix, id, lock token, now (ms), failed reason, then the unreadable fields
 * Returns 1 failed, -2 lock missing, -6 lock held by another, -3 not active.
 */
export const FAIL_UNREADABLE_JOB = `
local activeKey, failedKey, eventsKey, stalledKey, metaKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local prefix, id, token, now, reason = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local rcall = redis.call
local jobKey = prefix .. id
local lockKey = jobKey .. ":lock"
local holder = rcall("GET", lockKey)
if holder ~= token then return holder and -6 or -2 end
if rcall("LREM", activeKey, -1, id) == 0 then return -3 end
rcall("DEL", lockKey)
rcall("SREM", stalledKey, id)

for i = 6, #ARGV do
  local field = ARGV[i]
  local value = rcall("HGET", jobKey, field)
  if value then
    if field == "data" then
      rcall("HSET", jobKey, "data", cjson.encode({ unreadableData = value }))
    else
      rcall("HSET", jobKey, field .. ".unreadable", value)
      rcall("HDEL", jobKey, field)
    end
  end
end

rcall("HINCRBY", jobKey, "atm", 1)
rcall("HSET", jobKey, "failedReason", reason, "finishedOn", now)
rcall("ZADD", failedKey, now, id)
${MAX_EVENTS}rcall("XADD", eventsKey, "MAXLEN", "~", maxEvents, "*", "event", "failed", "jobId", id, "failedReason", reason, "prev", "active")
return 1
`;
