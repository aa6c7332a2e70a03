"""Log configuration shared by every command, and what every log line goes through.

Every record is masked when it is created (phone numbers in its message and arguments become
``+2557****678``) and carries the request id of the hop that logged it, so handlers, test
captures and JSON output all see the same safe line. ``LOG_FORMAT=json`` (or ``logging: {format:
json}`` in gateway.yaml) prints one JSON object per line for log collectors.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
from typing import Any

from ussd_gateway.domain.privacy import mask_phone

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
"""The id of the hop being handled; set by the request-id middleware, copied into tasks."""

PHONE_IN_TEXT = re.compile(r"(?<![\w+])\+?\d{9,15}(?![\w])")
"""A phone number as aggregators send them: optional ``+`` and 9 to 15 digits, standing alone."""


def mask_text(text: str) -> str:
    """Every phone number in ``text`` masked; everything else unchanged."""
    return PHONE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), text)


def _masked(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: leave it to logging's own error report
        return
    masked = mask_text(message)
    if masked != message:
        record.msg, record.args = masked, None


def install_record_factory() -> None:
    """Mask and tag every record at creation; idempotent (safe to call from every app)."""
    current = logging.getLogRecordFactory()
    if getattr(current, "ussd_gateway", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        _masked(record)
        record.request_id = REQUEST_ID.get()
        return record

    factory.ussd_gateway = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


class TextFormatter(logging.Formatter):
    """The classic one-line format, with the request id when there is one; tracebacks masked."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(rid)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None)
        record.rid = f" [{rid}]" if rid else ""
        return mask_text(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_text(record.getMessage()),
        }
        rid = getattr(record, "request_id", None)
        if rid:
            line["request_id"] = rid
        if record.exc_info:
            line["exception"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: str, fmt: str = "text") -> None:
    """Root handler on stderr in ``fmt`` (``text`` or ``json``: ``settings.logging.format``),
    masking on."""
    install_record_factory()
    handler = logging.StreamHandler()
    formatter = JsonFormatter() if fmt == "json" else TextFormatter()
    handler.setFormatter(formatter)
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), handlers=[handler])
