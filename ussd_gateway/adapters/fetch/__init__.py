"""Questions to backends during a hop (``fetch`` screens): HTTP, a circuit breaker per
backend, and a small in-process cache."""

from ussd_gateway.adapters.fetch.fetcher import BackendFetcher

__all__ = ["BackendFetcher"]
