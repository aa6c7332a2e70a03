"""A citizen's phone as each aggregator drives the webhook, in that aggregator's own format.

Every driver offers the same moves (dial, send, walk, retry, hang up) and reads every reply back
into a Screen, so one journey can be run through all of them.
"""

from __future__ import annotations

import abc
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar

from aiohttp.test_utils import TestClient

NUMBER = "+255712345678"


@dataclass(frozen=True)
class Screen:
    text: str
    end: bool


@dataclass
class Driver(abc.ABC):
    client: TestClient
    number: str = NUMBER
    code: str = "*152*00#"
    session_id: str = ""
    entries: list[str] = field(default_factory=list)
    screens: list[Screen] = field(default_factory=list)
    last: tuple[str, Any] | None = None
    name: ClassVar[str]

    @property
    def url(self) -> str:
        return f"/ussd/{self.name}"

    async def dial(self, code: str | None = None) -> Screen:
        if code is not None:
            self.code = code
        self.session_id = f"{self.name}-{uuid.uuid4().hex}"
        self.entries = []
        return await self._hop(self.first())

    async def send(self, entry: str) -> Screen:
        self.entries.append(entry)
        return await self._hop(self.next(entry))

    async def walk(self, *entries: str) -> Screen:
        screen = Screen("", False)
        for entry in entries:
            screen = await self.send(entry)
        return screen

    async def retry(self) -> Screen:
        """The aggregator sends the last request again, byte for byte."""
        assert self.last is not None
        return await self.post(*self.last)

    async def post(self, kind: str, body: Any) -> Screen:
        if kind == "form":
            response = await self.client.post(self.url, data=body)
        else:
            response = await self.client.post(self.url, json=body)
        text = await response.text()
        assert response.status == 200, text
        return self.read(text)

    async def _hop(self, request: tuple[str, Any]) -> Screen:
        self.last = request
        screen = await self.post(*request)
        self.screens.append(screen)
        return screen

    @abc.abstractmethod
    def first(self) -> tuple[str, Any]: ...

    @abc.abstractmethod
    def next(self, entry: str) -> tuple[str, Any]: ...

    @abc.abstractmethod
    def read(self, body: str) -> Screen: ...

    @abc.abstractmethod
    def hang_up(self, *, timeout: bool) -> tuple[str, Any]:
        """The aggregator's notice that the session ended (timed out, or ended by the citizen)."""

    async def end(self, *, dropped: bool = True) -> str:
        """Send the end notice: ``dropped`` for a timeout, else ended by the citizen."""
        request = self.hang_up(timeout=dropped)
        url = f"{self.url}/events" if self.name == "africastalking" else self.url
        if request[0] == "form":
            response = await self.client.post(url, data=request[1])
        else:
            response = await self.client.post(url, json=request[1])
        body = await response.text()
        assert response.status == 200, body
        return body


class AfricasTalking(Driver):
    name = "africastalking"

    def form(self) -> dict[str, str]:
        return {
            "sessionId": self.session_id,
            "serviceCode": self.code,
            "phoneNumber": self.number,
            "networkCode": "64004",
            "text": "*".join(self.entries),
        }

    def first(self) -> tuple[str, Any]:
        return "form", self.form()

    def next(self, entry: str) -> tuple[str, Any]:
        return "form", self.form()

    def read(self, body: str) -> Screen:
        assert body.startswith(("CON ", "END ")), body
        return Screen(body[4:], body.startswith("END "))

    def hang_up(self, *, timeout: bool) -> tuple[str, Any]:
        return "form", {
            "sessionId": self.session_id,
            "serviceCode": self.code,
            "phoneNumber": self.number,
            "networkCode": "64004",
            "date": "2026-11-23 10:00:00.000",
            "status": "Incomplete" if timeout else "Success",
            "cost": "TZS 0.0000",
            "durationInMillis": "31000",
            "hopsCount": str(len(self.entries) + 1),
            "input": "*".join(self.entries),
            "lastAppResponse": self.screens[-1].text if self.screens else "",
            "errorMessage": "",
        }


class Beem(Driver):
    """Beem sends the newest entry only and echoes the request id of our last reply."""

    name = "beem"
    request_id: int = 0
    reply_id: int = 0

    async def _hop(self, request: tuple[str, Any]) -> Screen:
        screen = await super()._hop(request)
        self.request_id = self.reply_id  # the hub echoes the id of the reply it acted on
        return screen

    def body(self, command: str, response: str) -> dict[str, Any]:
        return {
            "command": command,
            "msisdn": self.number.lstrip("+"),
            "operator": "vodacom",
            "session_id": self.session_id,
            "payload": {"request_id": self.request_id, "response": response},
        }

    def first(self) -> tuple[str, Any]:
        self.request_id = 0
        return "json", self.body("initiate", self.code if self.code != "*152*00#" else "0")

    def next(self, entry: str) -> tuple[str, Any]:
        return "json", self.body("continue", entry)

    def read(self, body: str) -> Screen:
        data = json.loads(body)
        assert data["session_id"] == self.session_id
        assert data["msisdn"] == self.number.lstrip("+") and data["operator"] == "vodacom"
        assert data["command"] in ("continue", "terminate")
        self.reply_id = data["payload"]["request_id"]
        return Screen(data["payload"]["request"], data["command"] == "terminate")

    def hang_up(self, *, timeout: bool) -> tuple[str, Any]:
        return "json", self.body("terminate", "")


class Hubtel(Driver):
    """Hubtel's first message is the dial string; then the newest entry, with a Sequence."""

    name = "hubtel"
    sequence: int = 0

    def body(self, kind: str, message: str) -> dict[str, Any]:
        self.sequence += 1
        return {
            "Mobile": self.number.lstrip("+"),
            "SessionId": self.session_id,
            "ServiceCode": self.code.strip("*#"),
            "Type": kind,
            "Message": message,
            "Operator": "vodafone",
            "Sequence": self.sequence,
            "ClientState": "",
        }

    def first(self) -> tuple[str, Any]:
        self.sequence = 0
        return "json", self.body("Initiation", self.code)

    def next(self, entry: str) -> tuple[str, Any]:
        return "json", self.body("Response", entry)

    def read(self, body: str) -> Screen:
        data = json.loads(body)
        assert data["SessionId"] == self.session_id
        assert data["Type"] in ("Response", "Release")
        return Screen(data["Message"], data["Type"] == "Release")

    def hang_up(self, *, timeout: bool) -> tuple[str, Any]:
        return "json", self.body("Timeout" if timeout else "Release", "")


@dataclass
class Generic(Driver):
    mode: str = "cumulative"
    name: ClassVar[str] = "generic"
    sequence: int = 0

    def body(self, event: str, text: str) -> dict[str, Any]:
        self.sequence += 1
        return {
            "session_id": self.session_id,
            "phone": self.number,
            "service_code": self.code,
            "text": text,
            "mode": self.mode,
            "event": event,
            "network": "64002",
            "sequence": self.sequence,
        }

    def first(self) -> tuple[str, Any]:
        self.sequence = 0
        return "json", self.body("start", "")

    def next(self, entry: str) -> tuple[str, Any]:
        text = "*".join(self.entries) if self.mode == "cumulative" else entry
        return "json", self.body("continue", text)

    def read(self, body: str) -> Screen:
        data = json.loads(body)
        assert data["session_id"] == self.session_id
        assert data["action"] in ("continue", "end")
        return Screen(data["text"], data["action"] == "end")

    def hang_up(self, *, timeout: bool) -> tuple[str, Any]:
        body = self.body("end", "")
        body["reason"] = "timeout" if timeout else "cancelled"
        return "json", body


DRIVERS: dict[str, type[Driver]] = {
    "africastalking": AfricasTalking,
    "beem": Beem,
    "hubtel": Hubtel,
    "generic": Generic,
}
