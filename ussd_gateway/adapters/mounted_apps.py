"""Forwards hops to institutions' own USSD applications over HTTP (Africa's Talking's format)."""

from __future__ import annotations

import asyncio
import logging

import aiohttp

from ussd_gateway.domain.mounted_apps import AppHop, AppScreen, AppUnavailable

log = logging.getLogger(__name__)

MAX_REPLY_BYTES = 4096
"""A USSD screen is 182 characters; anything far longer is not a screen."""

DEADLINE_SHARE = 0.8
"""Of the hop deadline, the most a mounted app may take: the rest is the gateway's own work
(session load and save) so the citizen still gets a screen in time."""


class HttpMountedApps:
    """One reused client session for every mounted app; each call bounded by its timeout and
    by the hop deadline."""

    def __init__(self, *, hop_deadline: float = 0.0) -> None:
        self.hop_deadline = hop_deadline
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=100, ttl_dns_cache=300)
            )
        return self._session

    def timeout(self, requested: float) -> float:
        if self.hop_deadline > 0:
            return max(0.05, min(requested, self.hop_deadline * DEADLINE_SHARE))
        return requested

    async def hop(self, hop: AppHop) -> AppScreen:
        form = {
            "sessionId": hop.session_id,
            "phoneNumber": hop.phone,
            "serviceCode": hop.service_code,
            "text": hop.text,
        }
        try:
            async with asyncio.timeout(self.timeout(hop.timeout)):
                async with self._client().post(hop.url, data=form) as response:
                    body = await response.content.read(MAX_REPLY_BYTES + 1)
                    status = response.status
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            log.warning("mounted app at %s: %s", _host(hop.url), type(exc).__name__)
            raise AppUnavailable(type(exc).__name__) from exc
        if status != 200 or len(body) > MAX_REPLY_BYTES:
            log.warning("mounted app at %s answered %s", _host(hop.url), status)
            raise AppUnavailable(f"status {status}")
        text = body.decode("utf-8", errors="replace").strip()
        for prefix, end in (("CON ", False), ("END ", True)):
            if text.startswith(prefix) or text == prefix.strip():
                return AppScreen(text[len(prefix) :].strip(), end)
        log.warning("mounted app at %s: a reply that is neither CON nor END", _host(hop.url))
        raise AppUnavailable("not a USSD reply")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def _host(url: str) -> str:
    """Where a URL points, without its path or query (which may carry a key)."""
    return url.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
