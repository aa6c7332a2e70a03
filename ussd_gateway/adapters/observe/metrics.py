"""Every Prometheus metric of the gateway, defined once, and the ``GET /metrics`` exposition.

Labels name services, providers, screens, kinds and reasons: never a phone number nor a session
id (personal data, and unbounded cardinality). With ``--workers`` > 1, set
``PROMETHEUS_MULTIPROC_DIR`` to an empty directory shared by the processes (wiped at each
deployment), or leave it unset and ``serve`` makes a private one for the run
(``observe/multiproc.py``): prometheus-client then writes each process's samples there and
``/metrics`` adds them up, whichever process answers the scrape.

Counters and histograms live in this module because prometheus-client keeps them per process
(that is what makes the multi-process mode work); figures read from the database at scrape time
(submissions, outbox, timed-out sessions) are per application: see ``observe.database``.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

disable_created_metrics()  # ``*_created`` series double the output and no dashboard uses them

HOP_BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
)
"""Seconds: a hop must answer well under one second, so resolution sits below it."""

DELIVERY_BUCKETS: tuple[float, ...] = (1, 5, 15, 30, 60, 300, 900, 3600, 6 * 3600, 86400)
"""Seconds from a submission being stored to its backend accepting it."""

HOPS = Counter(
    "ussd_hops",
    "Hops answered, by CON (session goes on) or END (session over).",
    ["service", "provider", "kind"],
)
HOP_SECONDS = Histogram(
    "ussd_hop_duration_seconds",
    "Time from a hop's request to its reply, inside the gateway.",
    ["service", "provider"],
    buckets=HOP_BUCKETS,
)
SESSIONS_STARTED = Counter(
    "ussd_sessions_started",
    "Sessions started (first hop), and services entered from a directory.",
    ["service", "provider"],
)
SESSIONS_ENDED = Counter(
    "ussd_sessions_ended",
    "Sessions ended, by reason: completed (an end screen), cancelled (the network or the "
    "citizen hung up, per the aggregator's notice), error (the gateway could not go on), "
    "to_directory (a service left for the directory it was entered from).",
    ["service", "provider", "reason"],
)
DIRECTORY_ENTRIES = Counter(
    "ussd_directory_entries",
    "Services entered from a directory: chosen on its list or dialled by an extended code.",
    ["directory", "service"],
)
SCREENS = Counter(
    "ussd_screens_reached",
    "Screens shown to citizens, by service and screen.",
    ["service", "screen"],
)
DEPENDENCY_ERRORS = Counter(
    "ussd_dependency_errors",
    "Failures talking to a dependency: sessions (Redis) or database.",
    ["dependency"],
)
EVENTS_DROPPED = Counter(
    "ussd_session_events_dropped",
    "Session events not stored: the queue was full or the database refused the batch.",
    ["cause"],
)
DELIVERIES_GIVEN_UP = Counter(
    "ussd_deliveries_given_up",
    "Submissions the gateway stopped trying to deliver: failed (the backend refused it) or "
    "dead (retried until the limit); each waits for an operator's retry.",
    ["backend", "status"],
)
UNKNOWN_CODES = Counter(
    "ussd_unknown_code_hops", "Hops for a short code no service answers.", ["provider"]
)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def exposition(extra: CollectorRegistry | None = None) -> bytes:
    """The text the scrape gets: this process's (or all processes') metrics plus ``extra``."""
    directory = multiprocess_dir()
    if directory:
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry, path=directory)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    if extra is not None:
        body += generate_latest(extra)
    return body


CONTENT_TYPE = CONTENT_TYPE_LATEST
