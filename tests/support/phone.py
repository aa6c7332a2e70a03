"""A citizen's phone as Africa's Talking drives the webhook: form posts, cumulative text."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from aiohttp.test_utils import TestClient

URL = "/ussd/africastalking"


@dataclass
class Phone:
    client: TestClient
    number: str = "+255712345678"
    code: str = "*152*00#"
    network: str = "64004"
    session_id: str = ""
    entries: list[str] = field(default_factory=list)
    screens: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "*".join(self.entries)

    def form(self, text: str | None = None) -> dict[str, str]:
        return {
            "sessionId": self.session_id,
            "serviceCode": self.code,
            "phoneNumber": self.number,
            "networkCode": self.network,
            "text": self.text if text is None else text,
        }

    async def post(self, text: str | None = None) -> str:
        response = await self.client.post(URL, data=self.form(text))
        body = await response.text()
        assert response.status == 200, body
        assert response.content_type == "text/plain"
        assert body.startswith(("CON ", "END ")), body
        return body

    async def dial(self, code: str | None = None) -> str:
        """A fresh session, as when the citizen dials the code again."""
        if code is not None:
            self.code = code
        self.session_id = f"ATUid_{uuid.uuid4().hex}"
        self.entries = []
        return await self._record(await self.post())

    async def send(self, entry: str) -> str:
        self.entries.append(entry)
        return await self._record(await self.post())

    async def walk(self, *entries: str) -> str:
        reply = ""
        for entry in entries:
            reply = await self.send(entry)
        return reply

    async def _record(self, reply: str) -> str:
        self.screens.append(reply)
        return reply
