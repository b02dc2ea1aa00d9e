package redisstore

import "github.com/redis/go-redis/v9"

// Each record is one hash, written only by these scripts, so every read and
// write of a record is one atomic step on the server that owns its key:
//
//	s  state: "0" processing, "1" completed, "2" failed
//	f  request fingerprint
//	t  owner token of the claim
//	l  lease end, Unix milliseconds by the server's clock (processing only)
//	c  when the record was claimed, Unix milliseconds
//	p  payload (finished only; absent while processing)
//
// The key itself expires by PEXPIREAT at the record's expiry, so Redis
// deletes it; a script never sees an expired record. Times come from the
// server's TIME, never the caller's clock. Durations arrive as integer
// milliseconds; their sums stay far below 2^53, so Lua's doubles hold them
// exactly.

// clock is the prelude of every script that reads the clock: millis is
// the server's time in Unix milliseconds, and int formats a whole number of
// milliseconds without an exponent, which Redis's own conversion of Lua
// numbers does not promise for every version.
const clock = `
local function millis()
	local t = redis.call('TIME')
	return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function int(x) return string.format('%.0f', x) end
`

// claimScript: KEYS[1] record; ARGV fingerprint, token, lease ms, ttl ms.
// Returns 1 when the caller owns the key (a new record, or its own claim
// seen again when a retry of this script follows a lost reply: its lease
// starts again from now, as the caller believes), 2 when it took over a
// lapsed claim of the same request, else {state, fingerprint, payload,
// milliseconds left before expiry (PTTL; 0 while processing)} of the
// record in the way, having written nothing.
var claimScript = redis.NewScript(clock + `
local r = redis.call('HMGET', KEYS[1], 's', 'f', 't', 'l', 'p')
local now
if r[1] and not (r[1] == '0' and r[3] == ARGV[2]) then
	-- Only a processing record of the same request, whose lease lapsed,
	-- is taken over; a replay returns here without reading the clock.
	if r[1] ~= '0' or r[2] ~= ARGV[1] then
		return {r[1], r[2], r[5], redis.call('PTTL', KEYS[1])}
	end
	now = millis()
	if tonumber(r[4]) > now then
		return {r[1], r[2], r[5], 0}
	end
end
local took = now and 2 or 1
now = now or millis()
local lease = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 's', '0', 'f', ARGV[1], 't', ARGV[2], 'l', int(now + lease), 'c', int(now))
redis.call('PEXPIREAT', KEYS[1], int(now + lease + tonumber(ARGV[4])))
return took
`)

// renewScript: KEYS[1] record; ARGV token, lease ms, ttl ms. Returns 1 when
// the token still holds the processing record and its lease was extended.
var renewScript = redis.NewScript(clock + `
local r = redis.call('HMGET', KEYS[1], 's', 't')
if r[1] ~= '0' or r[2] ~= ARGV[1] then
	return 0
end
local now = millis()
local lease = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'l', int(now + lease))
redis.call('PEXPIREAT', KEYS[1], int(now + lease + tonumber(ARGV[3])))
return 1
`)

// completeScript: KEYS[1] record; ARGV token, state, payload, ttl ms.
// Returns 1 when the outcome is recorded: written now, or written before by
// the same token with the same state (a retry after a lost reply). Returns
// 0, changing nothing, when the token does not hold the record.
var completeScript = redis.NewScript(clock + `
local r = redis.call('HMGET', KEYS[1], 's', 't')
if r[2] ~= ARGV[1] then
	return 0
end
if r[1] == ARGV[2] then
	-- A retry after a lost reply: rewrite a field with its own value, so
	-- that a WAIT after it waits for the replicas to hold the outcome.
	redis.call('HSET', KEYS[1], 't', ARGV[1])
	return 1
end
if r[1] ~= '0' then
	return 0
end
local now = millis()
redis.call('HSET', KEYS[1], 's', ARGV[2], 'p', ARGV[3], 'l', int(now))
redis.call('PEXPIREAT', KEYS[1], int(now + tonumber(ARGV[4])))
return 1
`)

// releaseScript: KEYS[1] record; ARGV token. Deletes the record and returns
// 1 when the token holds it and it is still processing.
var releaseScript = redis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 's', 't')
if r[1] ~= '0' or r[2] ~= ARGV[1] then
	return 0
end
redis.call('DEL', KEYS[1])
return 1
`)
