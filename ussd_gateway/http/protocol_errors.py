"""A malformed HTTP message from a client is one warning line, not an error with a traceback.

aiohttp answers a request line or header it cannot parse (a URL over 8 KiB, a broken header,
bad chunking) with a 400 itself, before any handler, and logs the parser's traceback at ERROR
for each: anyone could flood the logs with them. Those are the client's mistakes, so they
become one line; a server error (5xx) keeps its traceback.
"""

from __future__ import annotations

import logging

from aiohttp.http import HttpProcessingError

SERVER_LOGGER = "aiohttp.server"


class ClientProtocolErrors(logging.Filter):
    """Rewrites aiohttp's record of a 4xx protocol error to one warning line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError) and 400 <= error.code < 500:
            # the parser's message quotes the client's bytes: its class says enough
            record.msg = f"{record.getMessage()}: {error.code} {type(error).__name__}"
            record.args = ()
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def quiet_client_protocol_errors() -> None:
    """Install the filter once per process, whatever number of apps are created."""
    logger = logging.getLogger(SERVER_LOGGER)
    if not any(isinstance(f, ClientProtocolErrors) for f in logger.filters):
        logger.addFilter(ClientProtocolErrors())
