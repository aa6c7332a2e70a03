"""Starting the real app with a guard configuration, from a chosen source address."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import TCPConnector
from aiohttp.test_utils import TestClient

from tests.conftest import project_settings
from ussd_gateway.http.app import create_app
from ussd_gateway.ports.clock import SYSTEM_CLOCK, Clock

URL = "/ussd/africastalking"
NUMBER = "+255712345678"


def form(session_id: str | None = None, text: str = "", number: str = NUMBER) -> dict[str, str]:
    return {
        "sessionId": session_id or f"ATUid_{uuid.uuid4().hex}",
        "serviceCode": "*152*00#",
        "phoneNumber": number,
        "networkCode": "64004",
        "text": text,
    }


async def start(
    aiohttp_client: Callable[..., Any],
    *,
    database_url: str,
    redis_url: str | None = None,
    sections: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    source: str = "127.0.0.1",
    app_hook: Callable[[Any], None] | None = None,
    clock: Clock = SYSTEM_CLOCK,
    **changes: Any,
) -> TestClient:
    """The real application with ``sections`` replacing parts of gateway.yaml."""
    settings = project_settings(
        sections=sections,
        env=env,
        database_url=database_url,
        redis_url=redis_url,
        **changes,
    )
    app = create_app(settings, clock=clock)
    if app_hook is not None:
        app_hook(app)
    return await aiohttp_client(app, connector=TCPConnector(local_addr=(source, 0)))
