"""Metrics that add up across ``serve --workers N``: a shared directory when none is configured.

prometheus-client keeps counters per process; a scrape reaches one child only, so without
``PROMETHEUS_MULTIPROC_DIR`` each scrape would show one child's share, a different one each
time. When the operator set none, the parent makes a private directory for this run before
forking and removes it when the children are gone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import values

from ussd_gateway.adapters.observe.metrics import MULTIPROC_ENV


@contextmanager
def shared_metrics(workers: int) -> Iterator[str | None]:
    """The multi-process metrics directory of this run (None: one process, nothing to share)."""
    configured = os.environ.get(MULTIPROC_ENV)
    if workers <= 1 or configured:
        yield configured or None
        return
    directory = tempfile.mkdtemp(prefix="ussd-metrics-")
    os.environ[MULTIPROC_ENV] = directory
    # Metric values are made when a labelled child is first used (in the children, after the
    # fork); from now on they are the file-backed multi-process kind.
    values.ValueClass = values.get_value_class()
    try:
        yield directory
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        values.ValueClass = values.get_value_class()
        shutil.rmtree(directory, ignore_errors=True)
