"""A stand-in for Africa's Talking's SMS API, for demos, testers and tests.

``ussd-gateway at-sandbox`` (or ``python -m ussd_gateway.sms.standin``) listens on
127.0.0.1:8091 and prints every SMS the gateway sends; point the gateway at it with
``AT_API_BASE_URL=http://127.0.0.1:8091``. It answers like the real API (JSON, statusCode 101
per recipient, a message id and a cost) and, with ``--report-to URL``, posts a ``Success``
delivery report for each message there, as Africa's Talking would. ``GET /received`` lists
what it received. Tests script failures with ``script``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

PATH = "/version1/messaging"


@dataclass
class Scripted:
    """One scripted answer: an HTTP status and body (``None``: the normal acceptance)."""

    status: int = 200
    body: Any = None
    content_type: str = "application/json"


@dataclass
class Received:
    headers: dict[str, str]
    form: dict[str, str]
    message_id: str


@dataclass
class AtStandIn:
    script: list[Scripted] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    report_to: str | None = None
    echo: bool = False
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(PATH, self.messaging)
        app.router.add_get("/received", self.listing)
        return app

    def sent(self) -> list[dict[str, str]]:
        """Form fields of every request the gateway made, in order."""
        return [r.form for r in self.received]

    async def messaging(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        message_id = f"ATXid_standin_{next(self._ids)}"
        received = Received(dict(request.headers), form, message_id)
        self.received.append(received)
        if self.echo:
            print(
                f"SMS to {form.get('to')} from {form.get('from', '-')}"
                f"{' linkId ' + form['linkId'] if 'linkId' in form else ''}: {form.get('message')}",
                flush=True,
            )
        reply = self.script.pop(0) if self.script else Scripted()
        if reply.body is not None or reply.status >= 300:
            body = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
            return web.Response(status=reply.status, text=body, content_type=reply.content_type)
        if self.report_to:
            task = asyncio.create_task(self._report(message_id, form.get("to", "")))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return web.json_response(accepted(form.get("to", ""), message_id), status=201)

    async def listing(self, request: web.Request) -> web.Response:
        return web.json_response(
            [{"form": r.form, "messageId": r.message_id} for r in self.received]
        )

    async def _report(self, message_id: str, phone: str) -> None:
        await asyncio.sleep(0.2)
        report = {
            "id": message_id,
            "status": "Success",
            "phoneNumber": phone,
            "networkCode": "64004",
        }
        try:
            async with aiohttp.ClientSession() as client:
                async with client.post(str(self.report_to), data=report) as response:
                    print(f"delivery report {message_id} → {response.status}", flush=True)
        except aiohttp.ClientError as exc:
            print(f"delivery report {message_id} not delivered: {exc}", flush=True)


def accepted(to: str, message_id: str) -> dict[str, Any]:
    """The real API's reply for one accepted recipient."""
    return {
        "SMSMessageData": {
            "Message": "Sent to 1/1 Total Cost: TZS 20.0000",
            "Recipients": [
                {
                    "statusCode": 101,
                    "number": to,
                    "cost": "TZS 20.0000",
                    "status": "Success",
                    "messageId": message_id,
                }
            ],
        }
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--report-to", help="post a Success delivery report here for each SMS")


def run(args: argparse.Namespace) -> int:
    stand_in = AtStandIn(report_to=args.report_to, echo=True)
    print(f"Africa's Talking SMS stand-in on http://{args.host}:{args.port}{PATH}", flush=True)
    web.run_app(stand_in.app(), host=args.host, port=args.port, print=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
