"""A feature phone in the browser, for testers and institution staff who have no terminal.

``GET /simulator`` serves plain HTML/CSS/JS (package data, no build step) that dials the real
``POST /ussd/africastalking`` endpoint with the same form posts as the terminal emulator. On
when ``simulator: {enabled: true}`` in config/gateway.yaml, and always off when ``ENV`` is
``production``: it lets anyone on the network set a number's language and try every menu.
"""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web

from ussd_gateway.adapters.sessions.base import StoreUnavailable
from ussd_gateway.config.settings import Settings
from ussd_gateway.domain.gsm import USSD_GSM7_LIMIT, USSD_UCS2_LIMIT
from ussd_gateway.http.bodies import read_json
from ussd_gateway.http.keys import DEFINITIONS, MENUS, SESSIONS

STATIC = Path(__file__).resolve().parent / "static"
PHONE = re.compile(r"^\+?[0-9]{6,15}$")


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def config(request: web.Request) -> web.Response:
    """Short codes the gateway answers, with each service's title and languages."""
    definitions = request.app[DEFINITIONS]
    codes = []
    for code, service in sorted(request.app[MENUS].codes.items()):
        definition = definitions[service]
        codes.append(
            {
                "code": code,
                "service": service,
                "title": definition.title.get(definition.default_language, service),
                "languages": list(definition.languages),
            }
        )
    return web.json_response(
        {
            "endpoint": "/ussd/africastalking",
            "codes": codes,
            "limits": {"gsm7": USSD_GSM7_LIMIT, "ucs2": USSD_UCS2_LIMIT},
        }
    )


async def language(request: web.Request) -> web.Response:
    """Remember a language for a number, as the service's own language menu would."""
    data = await read_json(request)
    phone = str(data.get("phone", "")) if isinstance(data, dict) else ""
    chosen = str(data.get("language", "")) if isinstance(data, dict) else ""
    if not PHONE.match(phone):
        return web.Response(status=400, text="bad request: phone must be 6-15 digits\n")
    known = {lang for d in request.app[DEFINITIONS].values() for lang in d.languages}
    if chosen not in known:
        return web.Response(status=400, text=f"bad request: unknown language {chosen!r}\n")
    try:
        await request.app[SESSIONS].remember_language(phone, chosen)
    except StoreUnavailable:
        return web.Response(status=503, text="session store unavailable\n")
    return web.json_response({"phone": phone, "language": chosen})


def setup_simulator(app: web.Application, settings: Settings) -> None:
    """Add the simulator's routes when enabled; without them every simulator path is a 404."""
    if not settings.simulator.enabled:
        return
    app.router.add_get("/simulator", page)
    app.router.add_get("/simulator/config", config)
    app.router.add_post("/simulator/language", language)
    app.router.add_static("/simulator/static", STATIC)
