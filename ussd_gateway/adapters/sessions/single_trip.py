"""One Redis round trip for a hop whose session this process saved last (``sessions.single_trip``).

The two-trip hop (lock + read, then write + unlock) pays for not knowing the session. A process
that saved a session last usually still knows it: ``RecentSessions`` keeps, per session key, the
exact value it wrote. A hop on that session can then run the engine first (speculatively, see
``engine/speculation.py``) and send one script, ``SCRIPT``, that writes the result only if
nothing happened since: no lock held (no hop of it in progress anywhere), no stalled-hop memo
(a replay is due) and the stored value still the one written. Otherwise it answers FALLBACK
having written and counted nothing, and the hop takes the two-trip path on the real state: a
stale cache costs one extra trip, never a wrong answer.

The script also counts the guard's rate limits (as ``guard.state.ADMIT_SCRIPT`` does, once per
hop) and refuses a hop over a limit with nothing else written, like the two-trip path.

It touches the per-number counters and the resume copy, which live in other Redis Cluster slots
than the session: a Cluster client never gets this path.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

from ussd_gateway.domain.session import Session, SessionStatus

RECENT = 4096
"""Sessions a process remembers at most (least recently saved dropped first): ~2 KB each."""

# KEYS: lock, session, resume copy, counter..., [memo].
# ARGV: expected value, new value, session ttl ms, resume action (write/drop/keep), resume ttl ms,
#       counter count N, N windows ms, N limits.
# Returns {0} (FALLBACK: nothing written or counted), {2, count...} (LIMITED: only the counters
# moved) or {1, count...} (OK: saved).
SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
local n = tonumber(ARGV[6])
if #KEYS > 3 + n and redis.call('EXISTS', KEYS[4 + n]) == 1 then return {0} end
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return {0} end
local out = {1}
for i = 1, n do
  local c = redis.call('INCR', KEYS[3 + i])
  if c == 1 then redis.call('PEXPIRE', KEYS[3 + i], ARGV[6 + i]) end
  out[i + 1] = c
  if c > tonumber(ARGV[6 + n + i]) then out[1] = 2 end
end
if out[1] == 2 then return out end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
if ARGV[4] == 'write' then
  redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[5])
elseif ARGV[4] == 'drop' then
  redis.call('DEL', KEYS[3])
end
return out
"""


class Verdict(enum.IntEnum):
    FALLBACK = 0
    """Something changed or is in progress: take the two-trip path (nothing written)."""
    OK = 1
    """Saved (and counted)."""
    LIMITED = 2
    """Counted, over a limit: the hop is refused, the session untouched."""


class Limit(Protocol):
    """A guard counter as the script needs it (``guard.ratelimit.Counter``)."""

    @property
    def key(self) -> str: ...

    @property
    def window_ms(self) -> int: ...

    @property
    def limit(self) -> int: ...


def ended(session: Session) -> bool:
    """No further hop of this session can take the one-trip path: not worth remembering."""
    return session.status is not SessionStatus.ACTIVE or bool(session.end_reason)


class RecentSessions:
    """The value this process last wrote per session key, and the session it encodes.

    Bounded (``size``, least recently saved dropped first); an ended session is dropped. A
    copy is kept, so a caller changing the session it saved cannot change what is remembered;
    the engine copies a session before changing it, so the copy stays as written.
    """

    __slots__ = ("_kept", "size")

    def __init__(self, size: int = RECENT) -> None:
        self.size = size
        self._kept: OrderedDict[str, tuple[str, Session]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, key: str) -> tuple[str, Session] | None:
        return self._kept.get(key)

    def saved(self, key: str, raw: str, session: Session) -> None:
        kept = self._kept
        if ended(session):
            kept.pop(key, None)
            return
        kept[key] = (raw, session.copy())
        kept.move_to_end(key)
        if len(kept) > self.size:
            kept.popitem(last=False)

    def forget(self, key: str) -> None:
        self._kept.pop(key, None)

    def clear(self) -> None:
        self._kept.clear()


def script_call(
    keys: Sequence[str], args: Sequence[object], limits: Sequence[Limit], memo_key: str | None
) -> tuple[list[str], list[object]]:
    """``SCRIPT``'s keys and arguments: ``keys`` (lock, session, resume copy) and ``args``
    (expected, new, ttl ms, resume action, resume ttl ms) followed by the guard's part."""
    all_keys = [*keys, *(limit.key for limit in limits)]
    if memo_key is not None:
        all_keys.append(memo_key)
    all_args = [
        *args,
        len(limits),
        *(limit.window_ms for limit in limits),
        *(limit.limit for limit in limits),
    ]
    return all_keys, all_args
