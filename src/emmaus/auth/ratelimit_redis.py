"""The rate limiter shared by every instance through Redis.

Each key is two sorted sets (admitted requests; token records `"<n>:<id>"`), scored by the Redis
server's clock in milliseconds. One Lua script prunes, checks and records, so admission is atomic
across any number of instances. Both sets share a hash tag, so the script also runs on a cluster.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from emmaus.auth.ratelimit import (
    WINDOW_SECONDS,
    RateLimitDecision,
    RateLimiterUnavailable,
    decide,
    new_member,
)

# KEYS: requests zset, tokens zset. ARGV: window ms, rpm, tpm (0 = unlimited), member.
# Returns {admitted, count, used, reset_requests_ms, reset_tokens_ms, retry_ms, exceeded}.
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local rpm = tonumber(ARGV[2])
local tpm = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local records = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
local used = 0
for i = 1, #records, 2 do
  used = used + tonumber(string.match(records[i], '^(%d+):'))
end
local admitted, retry, exceeded = 1, 0, ''
if rpm > 0 and count >= rpm then
  admitted, exceeded = 0, 'requests'
  local freeing = redis.call('ZRANGE', KEYS[1], count - rpm, count - rpm, 'WITHSCORES')
  retry = tonumber(freeing[2]) + window - now
elseif tpm > 0 and used >= tpm then
  admitted, exceeded = 0, 'tokens'
  local freed = 0
  for i = 1, #records, 2 do
    freed = freed + tonumber(string.match(records[i], '^(%d+):'))
    if used - freed < tpm then
      retry = tonumber(records[i + 1]) + window - now
      break
    end
  end
else
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
  count = count + 1
end
local reset_requests, reset_tokens = 0, 0
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if #newest > 0 then reset_requests = tonumber(newest[2]) + window - now end
if #records > 0 then reset_tokens = tonumber(records[#records]) + window - now end
return {admitted, count, used, reset_requests, reset_tokens, retry, exceeded}
"""

# KEYS: tokens zset. ARGV: window ms, tokens, member.
RECORD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[2] .. ':' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1
"""


# KEYS: tokens zset. ARGV: window ms, tpm, tokens, member.
# Returns {admitted, used, reset_tokens_ms, retry_ms}.
RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local tpm = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local records = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local used = 0
for i = 1, #records, 2 do
  used = used + tonumber(string.match(records[i], '^(%d+):'))
end
if used >= tpm then
  local freed, retry = 0, window
  for i = 1, #records, 2 do
    freed = freed + tonumber(string.match(records[i], '^(%d+):'))
    if used - freed < tpm then
      retry = tonumber(records[i + 1]) + window - now
      break
    end
  end
  local reset = 0
  if #records > 0 then reset = tonumber(records[#records]) + window - now end
  return {0, used, reset, retry}
end
redis.call('ZADD', KEYS[1], now, ARGV[3] .. ':' .. ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {1, used + tonumber(ARGV[3]), window, 0}
"""

# KEYS: tokens zset. ARGV: window ms, reserved member ("<n>:<id>"), tokens, id.
SETTLE = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[2])
if score then
  redis.call('ZREM', KEYS[1], ARGV[2])
else
  local t = redis.call('TIME')
  score = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
if tonumber(ARGV[3]) > 0 then
  redis.call('ZADD', KEYS[1], score, ARGV[3] .. ':' .. ARGV[4])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
end
return 1
"""


class RedisRateLimiter:
    def __init__(
        self,
        url: str,
        *,
        prefix: str = "emmaus:",
        window: float = WINDOW_SECONDS,
        client: aioredis.Redis | None = None,
    ) -> None:
        self._redis = client or aioredis.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30
        )
        self._prefix = prefix
        self._window_ms = int(window * 1000)
        self._acquire = self._redis.register_script(ACQUIRE)
        self._record = self._redis.register_script(RECORD)
        self._reserve = self._redis.register_script(RESERVE)
        self._settle = self._redis.register_script(SETTLE)

    def _keys(self, key: str) -> tuple[str, str]:
        base = f"{self._prefix}rl:{{{key}}}"
        return f"{base}:req", f"{base}:tok"

    async def acquire(self, key: str, rpm: int | None, tpm: int | None = None) -> RateLimitDecision:
        try:
            result: list[Any] = await self._acquire(
                keys=self._keys(key), args=[self._window_ms, rpm or 0, tpm or 0, new_member()]
            )
        except (RedisError, OSError) as exc:
            raise RateLimiterUnavailable(str(exc)) from exc
        admitted, count, used, reset_req, reset_tok, retry, exceeded = result
        if isinstance(exceeded, bytes):
            exceeded = exceeded.decode()
        return decide(
            admitted=bool(admitted),
            rpm=rpm,
            tpm=tpm,
            count=int(count),
            used=int(used),
            reset_requests=int(reset_req) / 1000,
            reset_tokens=int(reset_tok) / 1000,
            retry_after=int(retry) / 1000,
            exceeded=exceeded or None,
        )

    async def record_tokens(self, key: str, tokens: int) -> None:
        if tokens <= 0:
            return
        try:
            await self._record(
                keys=[self._keys(key)[1]], args=[self._window_ms, int(tokens), new_member()]
            )
        except (RedisError, OSError) as exc:
            raise RateLimiterUnavailable(str(exc)) from exc

    async def reserve(self, key: str, tpm: int, tokens: int) -> RateLimitDecision:
        member = new_member()
        amount = max(0, int(tokens))
        try:
            result: list[Any] = await self._reserve(
                keys=[self._keys(key)[1]], args=[self._window_ms, tpm, amount, member]
            )
        except (RedisError, OSError) as exc:
            raise RateLimiterUnavailable(str(exc)) from exc
        admitted, used, reset_tok, retry = (int(v) for v in result)
        return decide(
            admitted=bool(admitted),
            rpm=None,
            tpm=tpm,
            count=0,
            used=used,
            reset_requests=0.0,
            reset_tokens=reset_tok / 1000,
            retry_after=retry / 1000,
            exceeded=None if admitted else "tokens",
            # The member encodes the amount: settling finds the record by it.
            reservation=f"{amount}:{member}" if admitted else None,
        )

    async def settle(self, key: str, reservation: str, tokens: int) -> None:
        _, _, member = reservation.partition(":")
        try:
            await self._settle(
                keys=[self._keys(key)[1]],
                args=[self._window_ms, reservation, max(0, int(tokens)), member],
            )
        except (RedisError, OSError) as exc:
            raise RateLimiterUnavailable(str(exc)) from exc

    async def aclose(self) -> None:
        await self._redis.aclose()
