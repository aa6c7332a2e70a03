"""Shared fixtures: real Redis and real SQL databases, started by the tests themselves."""

pytest_plugins = [
    "tests.support.redis_server",
    "tests.support.databases",
]
