"""Each aggregator's fixtures, in one place per adapter: a citizen's phone as that aggregator
drives the webhook, and everything the shared tests (``test_every_adapter.py``) need to know
about its format.

A Driver says how the aggregator's requests look (a dial, an entry, a retry, each of its
end-of-session notices), how its replies look for a CON and an END screen and for a notice, which
malformed bodies it refuses and why, its field limits, and how to fuzz it. Every driver offers the
same moves (dial, send, walk, retry, end), so one test runs every behaviour through all of them;
an adapter registered in ``ADAPTERS`` without a driver here fails those tests.
"""

from __future__ import annotations

import abc
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlencode

from aiohttp.test_utils import TestClient
from hypothesis import strategies as st

from tests.providers.fuzzing import JSON_VALUES, WEIRD_TEXT, bodies, json_bodies
from ussd_gateway.domain.session import Session
from ussd_gateway.http.keys import SESSIONS
from ussd_gateway.http.providers import (
    africastalking,
    arkesel,
    beem,
    cross_switch,
    emergent,
    generic,
    hubtel,
    nalo,
    southpawsl,
)

NUMBER = "+255712345678"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
Request = tuple[str, Any]
"""``("form" | "json", body)``: what the aggregator posts, before it is encoded."""


@dataclass(frozen=True)
class Screen:
    text: str
    end: bool


@dataclass(frozen=True)
class Notice:
    """What one of the aggregator's end-of-session notices does to the session."""

    reason: str
    """The end reason the session records."""
    resumable: bool
    """Whether the citizen, dialling again, is offered to go on where they were."""


@dataclass(frozen=True)
class Refused:
    """A malformed request and the reason its 400 gives."""

    body: bytes | Mapping[str, Any]
    """Raw bytes, or a mapping encoded the adapter's own way (form or JSON)."""
    reason: str
    content_type: str | None = None
    """None: the adapter's own content type."""
    route: str = ""
    """Appended to the webhook's path (Africa's Talking's ``/events``)."""


def encode(request: Request) -> tuple[bytes, str]:
    """The bytes on the wire and their content type."""
    kind, body = request
    if kind == "form":
        return urlencode(body).encode(), FORM
    return json.dumps(body).encode(), JSON


async def post_json(client: TestClient, path: str, body: Any) -> Any:
    """``body`` posted as JSON; the JSON answer, which must come with a 200."""
    response = await client.post(path, json=body)
    assert response.status == 200, await response.text()
    return await response.json()


def with_field(body: Mapping[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``body`` with the field at ``path`` (``payload.response``) set to ``value``."""
    head, _, rest = path.partition(".")
    copy = dict(body)
    copy[head] = with_field(copy.get(head) or {}, rest, value) if rest else value
    return copy


@dataclass
class Driver(abc.ABC):
    client: TestClient | None = None
    """None to build and read requests only (the fuzz tests post them to a live gateway)."""
    number: str = NUMBER
    code: str = "*152*00#"
    token: str = ""
    """A secret path segment after the provider's name."""
    session_id: str = ""
    entries: list[str] = field(default_factory=list)
    screens: list[Screen] = field(default_factory=list)
    last: Request | None = None

    name: ClassVar[str]
    CONTENT_TYPE: ClassVar[str] = JSON
    VARIANTS: ClassVar[dict[str, dict[str, Any]]] = {"": {}}
    """Id suffix -> constructor options, for adapters with more than one way to be driven."""
    NOTICES: ClassVar[dict[str, Notice]] = {}
    """The aggregator's end-of-session notices by its own word for them (none for some)."""
    DROPPED: ClassVar[str] = ""
    """The notice for a session the network dropped."""
    CLOSING: ClassVar[str] = ""
    """The notice the aggregator sends after our END screen."""
    HOP_IDS: ClassVar[bool] = True
    """Whether its requests carry a hop id (or the whole input), so that a retried entry can
    be told from the same entry typed again."""
    REFUSED: ClassVar[list[Refused]]
    LIMITS: ClassVar[dict[str, tuple[str, int]]]
    """Field path in the dial request -> (its name in the 400 reason, longest length taken)."""
    FUZZ_KEYS: ClassVar[list[str]]
    FUZZ_VALUES: ClassVar[dict[str, st.SearchStrategy[Any]]] = {}
    FUZZ_CONTENT_TYPES: ClassVar[list[str]] = [JSON, "", "text/plain", FORM]
    PARSER_INPUT: ClassVar[st.SearchStrategy[Any]]

    @property
    def url(self) -> str:
        return f"/ussd/{self.name}" + (f"/{self.token}" if self.token else "")

    @property
    def notice_url(self) -> str:
        return self.url

    async def stored(self) -> Session | None:
        """The session the gateway keeps for this phone's current dial."""
        assert self.client is not None
        return await self.client.app[SESSIONS].get(await self.session_key())

    async def session_key(self) -> str:
        return f"{self.name}:{self.session_id}"

    # -- building requests and reading replies (no I/O) --

    def dial_request(self, code: str | None = None) -> Request:
        """A new session: a fresh id, nothing typed yet."""
        if code is not None:
            self.code = code
        self.session_id = f"{self.name}-{uuid.uuid4().hex}"
        self.entries = []
        return self.first()

    def entry_request(self, entry: str) -> Request:
        self.entries.append(entry)
        return self.next(entry)

    def answered(self, request: Request, body: str) -> Screen:
        """A move's reply: checked against the request, and remembered as the aggregator would."""
        screen = self.read(body, request)
        self.last = request
        self.screens.append(screen)
        self.remember(body)
        return screen

    def remember(self, body: str) -> None:
        """What the aggregator keeps from a reply for its next request (nothing, mostly)."""
        return None

    @abc.abstractmethod
    def first(self) -> Request: ...

    @abc.abstractmethod
    def next(self, entry: str) -> Request: ...

    @abc.abstractmethod
    def other_format(self, entry: str) -> Request:
        """``entry`` as a telco that gets the aggregator's format wrong would send it: only the
        newest entry where the whole input is due, or the whole input where the newest is."""

    @abc.abstractmethod
    def hang_up(self, notice: str) -> Request:
        """The end-of-session notice the aggregator calls ``notice`` (a key of NOTICES)."""

    @staticmethod
    @abc.abstractmethod
    def shape(body: str) -> Screen:
        """Any 200 answer read as a screen, checking only the format (a notice's answer too)."""

    def read(self, body: str, request: Request) -> Screen:
        """A screen in answer to ``request``: the format, and what it must echo back."""
        return self.shape(body)

    @abc.abstractmethod
    def acknowledged(self, body: str, request: Request) -> None:
        """Check the answer to an end-of-session notice."""

    @staticmethod
    @abc.abstractmethod
    def parse(data: Any) -> Any:
        """The adapter's parser on a PARSER_INPUT example."""

    @staticmethod
    @abc.abstractmethod
    def cumulative(data: Any) -> bool:
        """Whether a request the parser accepted carries the whole input or only the newest."""

    @classmethod
    def near_valid(cls) -> st.SearchStrategy[Request]:
        """The driver's own valid requests (a dial, an entry, each notice) with a field or two
        replaced by garbage: random bodies alone are almost never accepted."""
        phone = cls()
        requests = [phone.dial_request(), phone.entry_request("1")]
        requests += [phone.hang_up(notice) for notice in cls.NOTICES]
        garbage = WEIRD_TEXT if cls.CONTENT_TYPE == FORM else st.one_of(WEIRD_TEXT, JSON_VALUES)

        def garbled(request: Request) -> st.SearchStrategy[Request]:
            kind, body = request
            changes = st.dictionaries(st.sampled_from(sorted(body)), garbage, max_size=2)
            return changes.map(lambda change: (kind, {**body, **change}))

        return st.sampled_from(requests).flatmap(garbled)

    @classmethod
    def parser_inputs(cls) -> st.SearchStrategy[Any]:
        return st.one_of(cls.PARSER_INPUT, cls.near_valid().map(lambda request: request[1]))

    @classmethod
    def fuzz_bodies(cls) -> st.SearchStrategy[bytes]:
        return st.one_of(
            bodies(json_bodies(cls.FUZZ_KEYS, cls.FUZZ_VALUES), cls.FUZZ_KEYS),
            cls.near_valid().map(lambda request: encode(request)[0]),
        )

    # -- the moves, through the test client --

    async def dial(self, code: str | None = None) -> Screen:
        return await self.hop(self.dial_request(code))

    async def send(self, entry: str) -> Screen:
        return await self.hop(self.entry_request(entry))

    async def walk(self, *entries: str) -> Screen:
        screen = Screen("", False)
        for entry in entries:
            screen = await self.send(entry)
        return screen

    async def retry(self) -> Screen:
        """The aggregator sends the last request again, byte for byte."""
        assert self.last is not None
        return await self.post(self.last)

    async def post(self, request: Request) -> Screen:
        """Any request, outside the session's moves (a retry, a late copy): nothing remembered."""
        return self.read(await self._send(self.url, request), request)

    async def end(self, notice: str | None = None) -> str:
        """Send the end-of-session notice (the dropped one by default); its answer is checked."""
        request = self.hang_up(notice or self.DROPPED)
        body = await self._send(self.notice_url, request)
        self.acknowledged(body, request)
        return body

    async def hop(self, request: Request) -> Screen:
        """A move: the request sent, its reply checked and remembered."""
        return self.answered(request, await self._send(self.url, request))

    async def _send(self, url: str, request: Request) -> str:
        assert self.client is not None
        data, content_type = encode(request)
        response = await self.client.post(url, data=data, headers={"Content-Type": content_type})
        text = await response.text()
        assert response.status == 200, text
        return text


AT_FORM_KEYS = ["sessionId", "serviceCode", "phoneNumber", "networkCode", "text"]


@dataclass
class AfricasTalking(Driver):
    """Form posts with the whole input joined by ``*``; notices on a route of their own."""

    name: ClassVar[str] = "africastalking"
    CONTENT_TYPE: ClassVar[str] = FORM
    NOTICES: ClassVar[dict[str, Notice]] = {
        "Incomplete": Notice("Incomplete", resumable=True),
        "Success": Notice("Success", resumable=False),
        "Failed": Notice("Failed: Timeout from app", resumable=True),  # errorMessage, one line
        "Other": Notice("Other", resumable=True),  # statuses we do not know count as dropped
    }
    DROPPED: ClassVar[str] = "Incomplete"
    CLOSING: ClassVar[str] = "Success"
    REFUSED: ClassVar[list[Refused]] = [
        Refused({"sessionId": "x"}, "missing or empty phoneNumber"),
        Refused(b"text=%C3%28&sessionId=x", "body is not valid UTF-8"),
        Refused(
            b"sessionId=a%00b&phoneNumber=255712345678", "sessionId contains control characters"
        ),
        Refused(
            b'{"sessionId": "x"}',
            "expected a form-encoded body (application/x-www-form-urlencoded)",
            JSON,
        ),
        Refused({"status": "Incomplete"}, "missing or empty sessionId", route="/events"),
        Refused({"sessionId": "ATUid_1"}, "missing or empty status", route="/events"),
        Refused(
            {"sessionId": "ATUid_1", "status": "x" * 41},
            "status longer than 40 characters",
            route="/events",
        ),
    ]
    LIMITS: ClassVar[dict[str, tuple[str, int]]] = {
        "sessionId": ("sessionId", 128),
        "serviceCode": ("serviceCode", 40),
        "phoneNumber": ("phoneNumber", 20),
        "networkCode": ("networkCode", 16),
    }
    FUZZ_KEYS: ClassVar[list[str]] = AT_FORM_KEYS
    FUZZ_CONTENT_TYPES: ClassVar[list[str]] = [FORM, "", JSON]
    PARSER_INPUT: ClassVar[st.SearchStrategy[Any]] = st.dictionaries(
        st.sampled_from(AT_FORM_KEYS), WEIRD_TEXT
    )

    @property
    def notice_url(self) -> str:
        return f"{self.url}/events"

    def form(self, text: str) -> dict[str, str]:
        return {
            "sessionId": self.session_id,
            "serviceCode": self.code,
            "phoneNumber": self.number,
            "networkCode": "64004",
            "text": text,
        }

    def first(self) -> Request:
        return "form", self.form("")

    def next(self, entry: str) -> Request:
        return "form", self.form("*".join(self.entries))

    def other_format(self, entry: str) -> Request:
        self.entries.append(entry)
        return "form", self.form(entry)

    def hang_up(self, notice: str) -> Request:
        return "form", {
            "sessionId": self.session_id,
            "serviceCode": self.code,
            "phoneNumber": self.number,
            "networkCode": "64004",
            "date": "2026-11-23 10:00:00.000",
            "status": notice,
            "cost": "TZS 0.0000",
            "durationInMillis": "31000",
            "hopsCount": str(len(self.entries) + 1),
            "input": "*".join(self.entries),
            "lastAppResponse": self.screens[-1].text if self.screens else "",
            "errorMessage": "Timeout\nfrom app" if notice == "Failed" else "",
        }

    @staticmethod
    def shape(body: str) -> Screen:
        assert body.startswith(("CON ", "END ")), body
        return Screen(body[4:], body.startswith("END "))

    def acknowledged(self, body: str, request: Request) -> None:
        assert body == ""

    @staticmethod
    def parse(data: Any) -> Any:
        return africastalking.parse_form(urlencode(data).encode())

    @staticmethod
    def cumulative(data: Any) -> bool:
        return True


BEEM_KEYS = ["command", "msisdn", "operator", "session_id", "payload"]


@dataclass
class Beem(Driver):
    """Beem sends the newest entry only and echoes the request id of our last reply."""

    name: ClassVar[str] = "beem"
    request_id: int = 0
    ids: str = "echo"
    """How the hub numbers its requests: ``echo`` (our reply's id), ``count`` (its own counter)
    or ``constant`` (one id for the whole session)."""
    NOTICES: ClassVar[dict[str, Notice]] = {
        # a timeout cannot be told from the citizen cancelling: kept resumable
        "terminate": Notice("terminate", resumable=True),
    }
    DROPPED: ClassVar[str] = "terminate"
    CLOSING: ClassVar[str] = "terminate"
    REFUSED: ClassVar[list[Refused]] = [
        Refused(b"", "body is not valid JSON"),
        Refused(b'"initiate"', "body is not a JSON object"),
        Refused({"command": "initiate", "msisdn": "255762089337"}, "missing or empty session_id"),
        Refused(
            {"command": "jump", "session_id": 1}, "command must be initiate, continue or terminate"
        ),
        Refused(
            {"command": "continue", "session_id": 1, "msisdn": "x"}, "msisdn is not a phone number"
        ),
        Refused(
            {"command": "continue", "session_id": 1, "msisdn": "255762089337", "payload": []},
            "payload must be an object",
        ),
        Refused({"command": ["initiate"], "session_id": 1}, "command must be a string"),
        Refused(b"command=initiate", "expected a JSON body (application/json)", FORM),
    ]
    LIMITS: ClassVar[dict[str, tuple[str, int]]] = {
        "command": ("command", 20),
        "session_id": ("session_id", 128),
        "operator": ("operator", 32),
        "msisdn": ("msisdn", 20),
        "payload.request_id": ("request_id", 20),
        "payload.response": ("response", 1000),
    }
    FUZZ_KEYS: ClassVar[list[str]] = BEEM_KEYS
    FUZZ_VALUES: ClassVar[dict[str, st.SearchStrategy[Any]]] = {
        "command": st.sampled_from(["initiate", "continue", "terminate"]),
        "msisdn": st.just("255762089337"),
        "session_id": st.sampled_from(["b1", 2]),
        "payload": st.fixed_dictionaries({"request_id": st.integers(0, 3), "response": WEIRD_TEXT}),
    }
    PARSER_INPUT: ClassVar[st.SearchStrategy[Any]] = json_bodies(
        BEEM_KEYS, {"command": st.sampled_from(["initiate", "continue", "terminate"])}
    )

    def body(self, command: str, response: str) -> dict[str, Any]:
        return {
            "command": command,
            "msisdn": self.number.lstrip("+"),
            "operator": "vodacom",
            "session_id": self.session_id,
            "payload": {"request_id": self.request_id, "response": response},
        }

    def first(self) -> Request:
        self.request_id = 0
        return "json", self.body("initiate", self.code if self.code != "*152*00#" else "0")

    def next(self, entry: str) -> Request:
        if self.ids == "count":
            self.request_id += 1
        return "json", self.body("continue", entry)

    def other_format(self, entry: str) -> Request:
        self.entries.append(entry)
        return "json", self.body("continue", "*".join(self.entries))

    def hang_up(self, notice: str) -> Request:
        return "json", self.body(notice, "")

    def remember(self, body: str) -> None:
        if self.ids == "echo":
            self.request_id = json.loads(body)["payload"]["request_id"]

    @staticmethod
    def shape(body: str) -> Screen:
        data = json.loads(body)
        assert data["command"] in ("continue", "terminate"), data
        return Screen(data["payload"]["request"], data["command"] == "terminate")

    def read(self, body: str, request: Request) -> Screen:
        data, sent = json.loads(body), request[1]
        assert set(data) == {"msisdn", "operator", "session_id", "command", "payload"}, data
        assert data["session_id"] == str(sent["session_id"])
        assert data["msisdn"] == sent["msisdn"] and data["operator"] == sent["operator"]
        # our reply's id is the request's plus one, so the hub's next request tells a retry
        assert data["payload"]["request_id"] == int(sent["payload"]["request_id"]) + 1
        return self.shape(body)

    def acknowledged(self, body: str, request: Request) -> None:
        sent = request[1]
        assert json.loads(body) == {
            "msisdn": sent["msisdn"],
            "operator": sent["operator"],
            "session_id": sent["session_id"],
            "command": "terminate",
            "payload": {"request_id": sent["payload"]["request_id"] + 1, "request": ""},
        }

    @staticmethod
    def parse(data: Any) -> Any:
        return beem.parse(data, beem.BeemSettings("*152*00#"))

    @staticmethod
    def cumulative(data: Any) -> bool:
        return False


HUBTEL_KEYS = ["Type", "SessionId", "Mobile", "ServiceCode", "Message", "Operator", "Sequence"]


@dataclass
class Hubtel(Driver):
    """Hubtel's first message is the dial string; then the newest entry, with a Sequence."""

    name: ClassVar[str] = "hubtel"
    sequence: int = 0
    ids: str = "count"
    """``count``: ``Sequence`` goes up by one per hop; ``constant``: it never changes."""
    NOTICES: ClassVar[dict[str, Notice]] = {
        "Timeout": Notice("timeout", resumable=True),
        "Release": Notice("release", resumable=False),
    }
    DROPPED: ClassVar[str] = "Timeout"
    CLOSING: ClassVar[str] = "Release"
    REFUSED: ClassVar[list[Refused]] = [
        Refused(b"{not json", "body is not valid JSON"),
        Refused(b"[1, 2]", "body is not a JSON object"),
        Refused({"Type": "Initiation"}, "missing or empty sessionid"),
        Refused(
            {"Type": "Dance", "SessionId": "x"},
            "Type must be Initiation, Response, AddToCart, Release or Timeout",
        ),
        Refused(
            {"Type": "Response", "SessionId": "x", "Mobile": "abc"}, "Mobile is not a phone number"
        ),
        Refused(
            {"Type": "Response", "SessionId": "x", "Mobile": "233246912184", "Message": {}},
            "message must be a string",
        ),
        Refused(b"\xff\xfe", "body is not valid UTF-8"),
        Refused(b"Type=Initiation", "expected a JSON body (application/json)", FORM),
    ]
    LIMITS: ClassVar[dict[str, tuple[str, int]]] = {
        # field names are matched whatever their case, and named in lower case
        "Type": ("type", 20),
        "SessionId": ("sessionid", 128),
        "Sequence": ("sequence", 12),
        "Operator": ("operator", 32),
        "Mobile": ("mobile", 20),
        "Message": ("message", 1000),
        "ServiceCode": ("servicecode", 40),
    }
    FUZZ_KEYS: ClassVar[list[str]] = HUBTEL_KEYS
    FUZZ_VALUES: ClassVar[dict[str, st.SearchStrategy[Any]]] = {
        "Type": st.sampled_from(["Initiation", "Response", "AddToCart", "Release", "Timeout"]),
        "SessionId": st.sampled_from(["s1", "s2"]),
        "Mobile": st.sampled_from(["233246912184", "+255712345678"]),
        "Message": WEIRD_TEXT,
    }
    PARSER_INPUT: ClassVar[st.SearchStrategy[Any]] = json_bodies(
        HUBTEL_KEYS, {"Type": st.sampled_from(["Initiation", "response", "AddToCart", "Timeout"])}
    )

    def body(self, kind: str, message: str) -> dict[str, Any]:
        if self.ids == "count" or not self.sequence:
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

    def first(self) -> Request:
        self.sequence = 0
        return "json", self.body("Initiation", self.code)

    def next(self, entry: str) -> Request:
        return "json", self.body("Response", entry)

    def other_format(self, entry: str) -> Request:
        self.entries.append(entry)
        return "json", self.body("Response", "*".join(self.entries))

    def hang_up(self, notice: str) -> Request:
        return "json", self.body(notice, "")

    @staticmethod
    def shape(body: str) -> Screen:
        data = json.loads(body)
        assert data["Type"] in ("Response", "Release"), data
        return Screen(data["Message"], data["Type"] == "Release")

    def read(self, body: str, request: Request) -> Screen:
        data = json.loads(body)
        screen = self.shape(body)
        assert data["SessionId"] == request[1]["SessionId"]
        assert data["ClientState"] == "" and data["FieldType"] == "text"
        assert data["DataType"] == ("display" if screen.end else "input")
        assert data["Label"] == screen.text.splitlines()[0][:60]  # the screen's first line
        return screen

    def acknowledged(self, body: str, request: Request) -> None:
        assert json.loads(body) == {
            "SessionId": request[1]["SessionId"],
            "Type": "Release",
            "Message": "",
            "ClientState": "",
        }

    @staticmethod
    def parse(data: Any) -> Any:
        return hubtel.parse(data)

    @staticmethod
    def cumulative(data: Any) -> bool:
        return False


@dataclass
class Emergent(Hubtel):
    """Hubtel's format plus ``USERID``, the service code; ``MaskNextRoute`` on open screens."""

    name: ClassVar[str] = "emergent"
    LIMITS: ClassVar[dict[str, tuple[str, int]]] = {
        **Hubtel.LIMITS,
        "USERID": ("userid", 40),
    }
    FUZZ_KEYS: ClassVar[list[str]] = [*HUBTEL_KEYS, "USERID"]

    def body(self, kind: str, message: str) -> dict[str, Any]:
        return dict(super().body(kind, message), USERID=self.code.strip("*#"))

    def read(self, body: str, request: Request) -> Screen:
        screen = super().read(body, request)
        data = json.loads(body)
        assert data.get("MaskNextRoute") is (None if screen.end else True), data
        return screen

    @staticmethod
    def parse(data: Any) -> Any:
        return emergent.parse(data)


@dataclass
class CrossSwitch(Emergent):
    name: ClassVar[str] = "cross-switch"

    @staticmethod
    def parse(data: Any) -> Any:
        return cross_switch.parse(data)


@dataclass
class NewestEntry(Driver):
    """Aggregators that send the newest entry, no hop id and no end-of-session notice."""

    HOP_IDS: ClassVar[bool] = False
    NETWORK: ClassVar[str] = "MTN"

    @abc.abstractmethod
    def body(self, new: bool, data: str) -> dict[str, Any]: ...

    def first(self) -> Request:
        return "json", self.body(True, self.code)

    def next(self, entry: str) -> Request:
        return "json", self.body(False, entry)

    def other_format(self, entry: str) -> Request:
        self.entries.append(entry)
        return "json", self.body(False, "*".join(self.entries))

    def hang_up(self, notice: str) -> Request:
        raise AssertionError(f"{self.name} sends no end-of-session notice")

    def acknowledged(self, body: str, request: Request) -> None:
        raise AssertionError(f"{self.name} sends no end-of-session notice")

    @staticmethod
    def cumulative(data: Any) -> bool:
        return False


ARKESEL_KEYS = ["sessionID", "userID", "newSession", "msisdn", "userData", "network"]


@dataclass
class Arkesel(NewestEntry):
    """``newSession`` with the dial string first, then the newest entry in ``userData``."""

    name: ClassVar[str] = "arkesel"
    REFUSED: ClassVar[list[Refused]] = [
        Refused(b"{", "body is not valid JSON"),
        Refused({"newSession": True, "msisdn": "233241234567"}, "missing or empty sessionID"),
        Refused({"sessionID": "a", "newSession": True}, "missing or empty msisdn"),
        Refused(
            {"sessionID": "a", "msisdn": "233241234567", "newSession": "maybe"},
            "newSession must be true or false",
        ),
        Refused(
            {"sessionID": "a", "msisdn": "x1", "newSession": True}, "msisdn is not a phone number"
        ),
        Refused(
            {"sessionID": "a", "msisdn": "233241234567", "newSession": False, "userData": [1]},
            "userData must be a string",
        ),
        Refused(b"sessionID=a", "expected a JSON body (application/json)", FORM),
    ]
    LIMITS: ClassVar[dict[str, tuple[str, int]]] = {
        "sessionID": ("sessionID", 128),
        "msisdn": ("msisdn", 20),
        "userID": ("userID", 64),
        "userData": ("userData", 1000),
        "network": ("network", 32),
    }
    FUZZ_KEYS: ClassVar[list[str]] = ARKESEL_KEYS
    FUZZ_VALUES: ClassVar[dict[str, st.SearchStrategy[Any]]] = {
        "sessionID": st.sampled_from(["a1", "a2"]),
        "msisdn": st.just("233241234567"),
        "newSession": st.sampled_from([True, False, "true"]),
        "userData": WEIRD_TEXT,
    }
    PARSER_INPUT: ClassVar[st.SearchStrategy[Any]] = json_bodies(
        ARKESEL_KEYS, {"newSession": st.booleans()}
    )

    def body(self, new: bool, data: str) -> dict[str, Any]:
        return {
            "sessionID": self.session_id,
            "userID": "arkesel-user",
            "newSession": new,
            "msisdn": self.number.lstrip("+"),
            "userData": data,
            "network": self.NETWORK,
        }

    @staticmethod
    def shape(body: str) -> Screen:
        data = json.loads(body)
        assert isinstance(data["continueSession"], bool), data
        return Screen(data["message"], not data["continueSession"])

    def read(self, body: str, request: Request) -> Screen:
        data, sent = json.loads(body), request[1]
        assert set(data) == {"message", "continueSession", "userID", "msisdn", "sessionID"}
        assert data["sessionID"] == sent["sessionID"] and data["userID"] == sent["userID"]
        assert data["msisdn"] == sent["msisdn"]
        return self.shape(body)

    @staticmethod
    def parse(data: Any) -> Any:
        return arkesel.parse(data, "*152*00#")


NALO_KEYS = ["USERID", "MSISDN", "USERDATA", "MSGTYPE", "NETWORK"]


@dataclass
class Nalo(NewestEntry):
    """No session id at all: the gateway tells one dial of a number from the next."""

    name: ClassVar[str] = "nalo"
    REFUSED: ClassVar[list[Refused]] = [
        Refused(b"[]", "body is not a JSON object"),
        Refused({"MSISDN": "233241234567", "MSGTYPE": True}, "missing or empty USERID"),
        Refused({"USERID": "NALOTest", "MSGTYPE": True}, "missing or empty MSISDN"),
        Refused(
            {"USERID": "NALOTest", "MSISDN": "233241234567", "MSGTYPE": 1},
            "MSGTYPE must be true or false",
        ),
        Refused(
            {"USERID": "NALOTest", "MSISDN": "233-24-123", "MSGTYPE": True},
            "MSISDN is not a phone number",
        ),
        Refused(b"USERID=NALOTest", "expected a JSON body (application/json)", FORM),
    ]
    LIMITS: ClassVar[dict[str, tuple[str, int]]] = {
        "USERID": ("USERID", 64),
        "MSISDN": ("MSISDN", 20),
        "USERDATA": ("USERDATA", 1000),
        "NETWORK": ("NETWORK", 32),
    }
    FUZZ_KEYS: ClassVar[list[str]] = NALO_KEYS
    FUZZ_VALUES: ClassVar[dict[str, st.SearchStrategy[Any]]] = {
        "USERID": st.just("NALOTest"),
        "MSISDN": st.sampled_from(["233241234567", "233201234567"]),
        "MSGTYPE": st.sampled_from([True, False, "false"]),
        "USERDATA": WEIRD_TEXT,
    }
    PARSER_INPUT: ClassVar[st.SearchStrategy[Any]] = json_bodies(
        NALO_KEYS, {"MSGTYPE": st.booleans()}
    )

    def body(self, new: bool, data: str) -> dict[str, Any]:
        return {
            "USERID": "NALOTest",
            "MSISDN": self.number.lstrip("+"),
            "USERDATA": data,
            "MSGTYPE": new,
            "NETWORK": self.NETWORK,
        }

    async def session_key(self) -> str:
        """The gateway's own id for the number's current dial: Nalo sends none."""
        assert self.client is not None
        dials = await self.client.app[SESSIONS].dials(self.name, self.number, new=False)
        return f"{self.name}:{nalo.session_id(self.number, dials)}"

    @staticmethod
    def shape(body: str) -> Screen:
        data = json.loads(body)
        assert isinstance(data["MSGTYPE"], bool), data
        return Screen(data["MSG"], not data["MSGTYPE"])

    def read(self, body: str, request: Request) -> Screen:
        data, sent = json.loads(body), request[1]
        assert set(data) == {"MSG", "MSGTYPE", "USERID", "MSISDN"}, data
        assert data["USERID"] == sent["USERID"] and data["MSISDN"] == sent["MSISDN"]
        return self.shape(body)

    @staticmethod
    def parse(data: Any) -> Any:
        return nalo.parse(data, "*152*00#")


SOUTHPAWSL_KEYS = ["sessionId", "menuId", "msisdn", "ussdString", "inputOption", "network"]
SOUTHPAWSL_KEYS += ["ussdParameters"]


@dataclass
class SouthPawsl(NewestEntry):
    """The dialled code on every request; a first request's input is the code itself."""

    name: ClassVar[str] = "southpawsl"
    REFUSED: ClassVar[list[Refused]] = [
        Refused(b"\xff", "body is not valid UTF-8"),
        Refused({"msisdn": "233241234567", "ussdString": "*152*00#"}, "missing or empty sessionId"),
        Refused({"sessionId": "p", "ussdString": "*152*00#"}, "missing or empty msisdn"),
        Refused({"sessionId": "p", "msisdn": "233241234567"}, "missing or empty ussdString"),
        Refused(
            {"sessionId": "p", "msisdn": "233241234567", "ussdString": "hello"},
            "ussdString is not a short code such as *152*00#",
        ),
        Refused(
            {
                "sessionId": "p",
                "msisdn": "233241234567",
                "ussdString": "*152*00#",
                "ussdParameters": "x" * 1001,
            },
            "ussdParameters longer than 1000 characters",
        ),
        Refused(b"sessionId=p", "expected a JSON body (application/json)", FORM),
    ]
    LIMITS: ClassVar[dict[str, tuple[str, int]]] = {
        "sessionId": ("sessionId", 128),
        "msisdn": ("msisdn", 20),
        "ussdString": ("ussdString", 40),
        "inputOption": ("inputOption", 1000),
        "menuId": ("menuId", 64),
        "network": ("network", 32),
    }
    FUZZ_KEYS: ClassVar[list[str]] = SOUTHPAWSL_KEYS
    FUZZ_VALUES: ClassVar[dict[str, st.SearchStrategy[Any]]] = {
        "sessionId": st.sampled_from(["p1", "p2"]),
        "msisdn": st.just("233241234567"),
        "ussdString": st.sampled_from(["*152*00#", "152*00", "*152*00*1#"]),
        "inputOption": WEIRD_TEXT,
    }
    PARSER_INPUT: ClassVar[st.SearchStrategy[Any]] = json_bodies(
        SOUTHPAWSL_KEYS, {"ussdString": st.sampled_from(["*152*00#", "152*00"])}
    )

    def body(self, new: bool, data: str) -> dict[str, Any]:
        return {
            "sessionId": self.session_id,
            "menuId": "menu-7",
            "msisdn": self.number.lstrip("+"),
            "ussdString": self.code,
            "inputOption": data,
            "network": self.NETWORK,
            "ussdParameters": {"channel": "ussd"},
        }

    @staticmethod
    def shape(body: str) -> Screen:
        data = json.loads(body)
        assert data["state"] in ("CONTINUE", "END"), data
        return Screen(data["message"], data["state"] == "END")

    def read(self, body: str, request: Request) -> Screen:
        data, sent = json.loads(body), request[1]
        keys = {"message", "state", "menuId", "ussdString", "option", "ussdParameter"}
        assert set(data) == keys, data
        assert data["menuId"] == sent["menuId"] and data["ussdString"] == sent["ussdString"]
        assert data["ussdParameter"] == sent["ussdParameters"]
        typed = "" if sent["inputOption"] == sent["ussdString"] else sent["inputOption"]
        assert data["option"] == typed
        return self.shape(body)

    @staticmethod
    def parse(data: Any) -> Any:
        return southpawsl.parse(data)


GENERIC_KEYS = ["session_id", "phone", "service_code", "text", "mode", "event", "network"]
GENERIC_KEYS += ["sequence"]


@dataclass
class Generic(Driver):
    """Our own JSON format, with the whole input (``cumulative``) or the newest entry."""

    name: ClassVar[str] = "generic"
    mode: str = "cumulative"
    sequence: int = 0
    VARIANTS: ClassVar[dict[str, dict[str, Any]]] = {"": {}, "-latest": {"mode": "latest"}}
    NOTICES: ClassVar[dict[str, Notice]] = {
        "timeout": Notice("timeout", resumable=True),
        "dropped": Notice("dropped", resumable=True),
        "error": Notice("error", resumable=True),
        "cancelled": Notice("cancelled", resumable=False),
        "completed": Notice("completed", resumable=False),
    }
    DROPPED: ClassVar[str] = "timeout"
    CLOSING: ClassVar[str] = "completed"
    REFUSED: ClassVar[list[Refused]] = [
        Refused({"session_id": "s", "phone": "+255754000111"}, "missing or empty service_code"),
        Refused({"session_id": "s", "service_code": "*152*00#"}, "missing or empty phone"),
        Refused({"session_id": "s", "mode": "sideways"}, "mode must be cumulative or latest"),
        Refused({"session_id": "s", "event": "pause"}, "event must be start, continue or end"),
        Refused(
            {"session_id": "s", "event": "end", "reason": "bored"},
            "reason must be timeout, dropped, error, cancelled or completed",
        ),
        Refused(
            {"session_id": "s", "service_code": "*1#", "phone": "+255-754-000"},
            "phone is not a phone number",
        ),
        Refused({"session_id": {"a": 1}}, "session_id must be a string"),
        Refused(
            {"session_id": "s", "service_code": "*1#", "phone": "+255754000111", "text": "a\x00b"},
            "text contains control characters",
        ),
        Refused(b"session_id=s", "expected a JSON body (application/json)", FORM),
    ]
    LIMITS: ClassVar[dict[str, tuple[str, int]]] = {
        "event": ("event", 20),
        "mode": ("mode", 20),
        "session_id": ("session_id", 128),
        "network": ("network", 32),
        "sequence": ("sequence", 20),
        "service_code": ("service_code", 40),
        "phone": ("phone", 20),
        "text": ("text", 4000),
    }
    FUZZ_KEYS: ClassVar[list[str]] = GENERIC_KEYS
    FUZZ_VALUES: ClassVar[dict[str, st.SearchStrategy[Any]]] = {
        "session_id": st.sampled_from(["g1", "g2"]),
        "phone": st.just("+255754000111"),
        "service_code": st.sampled_from(["*152*00#", "*152*00*1#", "*1#"]),
        "text": WEIRD_TEXT,
        "mode": st.sampled_from(["cumulative", "latest"]),
        "event": st.sampled_from(["start", "continue", "end"]),
    }
    PARSER_INPUT: ClassVar[st.SearchStrategy[Any]] = json_bodies(
        GENERIC_KEYS, {"event": st.sampled_from(["start", "continue", "end"])}
    )

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

    def first(self) -> Request:
        self.sequence = 0
        return "json", self.body("start", "")

    def next(self, entry: str) -> Request:
        text = "*".join(self.entries) if self.mode == "cumulative" else entry
        return "json", self.body("continue", text)

    def other_format(self, entry: str) -> Request:
        self.entries.append(entry)
        text = entry if self.mode == "cumulative" else "*".join(self.entries)
        return "json", self.body("continue", text)

    def hang_up(self, notice: str) -> Request:
        return "json", dict(self.body("end", ""), reason=notice)

    @staticmethod
    def shape(body: str) -> Screen:
        data = json.loads(body)
        assert data["action"] in ("continue", "end"), data
        return Screen(data["text"], data["action"] == "end")

    def read(self, body: str, request: Request) -> Screen:
        data = json.loads(body)
        assert set(data) == {"session_id", "action", "text"}, data
        assert data["session_id"] == request[1]["session_id"]
        return self.shape(body)

    def acknowledged(self, body: str, request: Request) -> None:
        assert json.loads(body) == {
            "session_id": request[1]["session_id"],
            "action": "end",
            "text": "",
        }

    @staticmethod
    def parse(data: Any) -> Any:
        return generic.parse(data)

    @staticmethod
    def cumulative(data: Any) -> bool:
        return str(data.get("mode") or "").strip().lower() != "latest"


ALL: tuple[type[Driver], ...] = (AfricasTalking, Beem, Hubtel, Emergent, CrossSwitch, Arkesel)
ALL += (Nalo, SouthPawsl, Generic)
DRIVERS: dict[str, type[Driver]] = {driver.name: driver for driver in ALL}
"""Every adapter's fixtures, by the name it has in ``ADAPTERS``."""
