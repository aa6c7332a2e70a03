"""The ``Fetcher`` the engine calls: the right backend, its circuit, its deadline, a cache.

The cache is in each process's memory (answers to ``cache:`` screens, keyed on backend and
rendered request): several web processes each keep their own, which only costs a few more
questions to the backend. Only ``found`` and ``not found`` are kept; ``unavailable`` never is.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import replace

import aiohttp

from ussd_gateway.adapters.connectors import govesb
from ussd_gateway.adapters.connectors.http import read_config
from ussd_gateway.adapters.fetch.breaker import Breaker
from ussd_gateway.adapters.fetch.govesb import GovesbQuestion
from ussd_gateway.adapters.fetch.http import HttpQuestion
from ussd_gateway.config.backends import BackendConfig
from ussd_gateway.config.fetch import FetchSettings
from ussd_gateway.config.loader import ConfigError
from ussd_gateway.domain.fetch import Answer, FetchRequest, FetchResult

log = logging.getLogger(__name__)

CacheKey = tuple[str, tuple[tuple[str, str], ...]]


class BackendFetcher:
    def __init__(
        self,
        backends: Mapping[str, BackendConfig],
        settings: FetchSettings,
        *,
        clock: Callable[[], float],
        client: aiohttp.ClientSession | None = None,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._client = client
        self._own_client = client is None
        self.questions: dict[str, HttpQuestion | GovesbQuestion] = {}
        self.problems: dict[str, str] = {}
        """Backends that cannot be asked, and why (logged once, answered ``unavailable``)."""
        for name, backend in backends.items():
            try:
                question = self._question(backend, settings)
            except ConfigError as exc:
                self.problems[name] = str(exc).splitlines()[0]
                continue
            if isinstance(question, str):
                self.problems[name] = question
                continue
            self.questions[name] = question
        self.breakers: dict[str, Breaker] = {}
        self._cache: OrderedDict[CacheKey, tuple[float, FetchResult]] = OrderedDict()

    @staticmethod
    def _question(
        backend: BackendConfig, settings: FetchSettings
    ) -> HttpQuestion | GovesbQuestion | str:
        """How to ask ``backend``, or why it cannot be asked."""
        if backend.type == "http":
            config, _payload = read_config(backend)
            return HttpQuestion(config, settings)
        if backend.type == "govesb":
            loaded = govesb.read_config(backend)
            if loaded.code_field != "apiCode":
                return "a fetch is a pull: set mode: pull (engine_url <engine>/request)"
            return GovesbQuestion(loaded, settings)
        return f"type {backend.type} cannot answer fetch screens"

    def breaker(self, backend: str) -> Breaker:
        found = self.breakers.get(backend)
        if found is None:
            found = self.breakers[backend] = Breaker(
                self.settings.breaker_failures, self.settings.breaker_cooldown, self._clock
            )
        return found

    async def fetch(self, request: FetchRequest) -> FetchResult:
        question = self.questions.get(request.backend)
        if question is None:
            reason = self.problems.get(request.backend, "no such backend in config backends:")
            return FetchResult(Answer.UNAVAILABLE, reason=f"{request.backend}: {reason}")
        key: CacheKey = (request.backend, tuple(sorted(request.fields.items())))
        if request.cache > 0 and (cached := self._cached(key)) is not None:
            return cached
        breaker = self.breaker(request.backend)
        if not breaker.allow():
            return FetchResult(Answer.UNAVAILABLE, reason="circuit open")
        limit = min(request.timeout, question.config.timeout)
        try:
            async with asyncio.timeout(limit):
                result, trouble = await question.ask(self._session(), request.fields, limit)
        except TimeoutError:
            breaker.failure()
            return FetchResult(Answer.UNAVAILABLE, reason=f"no answer in {limit:g}s")
        except aiohttp.ClientError as exc:
            breaker.failure()
            return FetchResult(Answer.UNAVAILABLE, reason=f"{type(exc).__name__}: {exc}")
        except asyncio.CancelledError:
            breaker.release()
            raise
        except Exception as exc:  # never the citizen's problem: unavailable, and logged
            breaker.failure()
            log.exception("fetch from %s failed", request.backend)
            return FetchResult(Answer.UNAVAILABLE, reason=f"{type(exc).__name__}: {exc}")
        if trouble:
            breaker.failure()
        else:
            breaker.success()
        if request.cache > 0 and result.answer is not Answer.UNAVAILABLE:
            self._store(key, request.cache, result)
        return result

    def _cached(self, key: CacheKey) -> FetchResult | None:
        entry = self._cache.get(key)
        if entry is None:
            return None
        expires, result = entry
        if self._clock() >= expires:
            del self._cache[key]
            return None
        return replace(result, cached=True)

    def _store(self, key: CacheKey, ttl: float, result: FetchResult) -> None:
        if self.settings.cache_entries <= 0:
            return
        self._cache[key] = (self._clock() + ttl, result)
        self._cache.move_to_end(key)
        while len(self._cache) > self.settings.cache_entries:
            self._cache.popitem(last=False)

    def _session(self) -> aiohttp.ClientSession:
        if self._client is None:
            self._client = aiohttp.ClientSession()
        return self._client

    async def close(self) -> None:
        if self._own_client and self._client is not None:
            await self._client.close()
            self._client = None
