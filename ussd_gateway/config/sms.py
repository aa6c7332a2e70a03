"""The ``sms:`` section of config/gateway.yaml: the SMS channel's pace, keywords and texts.

The account comes from the environment (``AT_USERNAME``, ``AT_API_KEY``, ``AT_API_BASE_URL``),
never from the repository.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from ussd_gateway.config.backends import RetryPolicy
from ussd_gateway.config.guard import ProviderAuth, Window, read_caller_auth
from ussd_gateway.config.kinds import SECONDS, Kind, above, at_least
from ussd_gateway.config.loader import FAILED, Reader, setting

DEFAULT_TEXTS: dict[str, dict[str, str]] = {
    "help": {
        "sw": "Tuma: {keywords}HALI <kumbukumbu>, ACHA kusitisha taarifa, ANZA kuzirudisha.",
        "en": "Send: {keywords}STATUS <reference>, STOP to end updates, START to resume.",
    },
    "service_help": {
        "sw": "Tuma: {keyword} <ujumbe> au {keyword} HALI <kumbukumbu>.",
        "en": "Send: {keyword} <message> or {keyword} STATUS <reference>.",
    },
    "keyword_give": {"sw": "{keyword} <ujumbe>", "en": "{keyword} <message>"},
    "not_found_in": {
        "sw": "{title}: hakuna kumbukumbu {reference}.",
        "en": "{title}: no reference {reference}.",
    },
    "feedback_received": {
        "sw": "e-Mrejesho: ujumbe wako umepokelewa. Kumbukumbu: {reference}",
        "en": "e-Mrejesho: your message was received. Reference: {reference}",
    },
    "feedback_empty": {
        "sw": "Andika ujumbe baada ya neno MREJESHO, mfano: MREJESHO Maji hayatoki.",
        "en": "Write your message after FEEDBACK, e.g. FEEDBACK No water since Monday.",
    },
    "status": {
        "sw": "Kumbukumbu {reference} ({date}): {label}{note}",
        "en": "Reference {reference} ({date}): {label}{note}",
    },
    "status_update": {
        "sw": "e-Mrejesho {reference}: {label}{note}. Tuma ACHA kusitisha taarifa.",
        "en": "e-Mrejesho {reference}: {label}{note}. Send STOP to end updates.",
    },
    "undelivered": {
        "sw": "Kumbukumbu {reference}: samahani, ombi lako bado halijafika kwa taasisi husika. "
        "Tunalifuatilia; huna haja ya kulituma tena.",
        "en": "Reference {reference}: sorry, your request has not reached the institution yet. "
        "We are following it up; there is no need to send it again.",
    },
    "not_found": {
        "sw": "Hakuna mrejesho wenye kumbukumbu {reference}.",
        "en": "No feedback has reference {reference}.",
    },
    "registered": {
        "sw": "{title}: umeshasajiliwa. Namba yako ya usajili ni {reference}.",
        "en": "{title}: you are registered. Your registration number is {reference}.",
    },
    "nudge": {
        "sw": "Simu ilikatika kabla hujamaliza. Piga {code} kuendelea ulipoishia.",
        "en": "Your call ended before you finished. Dial {code} to continue where you left off.",
    },
    "not_registered": {
        "sw": "{title}: namba hii haijasajiliwa. Piga {code} kujisajili.",
        "en": "{title}: this number is not registered. Dial {code} to register.",
    },
    "register": {
        "sw": "{title}: kujisajili piga {code} na ufuate maelekezo.",
        "en": "{title}: to register, dial {code} and follow the steps.",
    },
    "unavailable": {
        "sw": "Samahani, huduma haipatikani sasa. Jaribu tena baadaye.",
        "en": "Sorry, the service is unavailable right now. Please try again later.",
    },
    "service_unavailable": {
        "sw": "Samahani, huduma ya {keyword} haipatikani kwa muda. Jaribu tena baadaye.",
        "en": "Sorry, the {keyword} service is temporarily unavailable. Please try again later.",
    },
    "stopped": {
        "sw": "Hutapokea taarifa za mrejesho tena. Tuma ANZA kuzirudisha.",
        "en": "You will get no more feedback updates. Send START to resume.",
    },
    "started": {
        "sw": "Utapokea taarifa za mrejesho wako tena.",
        "en": "You will get updates on your feedback again.",
    },
}
"""Texts the SMS channel sends, per language; ``{name}`` fields are filled in."""

DEFAULT_KEYWORDS: tuple[tuple[str, str, str], ...] = (
    ("HALI", "sw", "status"),
    ("STATUS", "en", "status"),
    ("ACHA", "sw", "stop"),
    ("STOP", "en", "stop"),
    ("ANZA", "sw", "start"),
    ("START", "en", "start"),
    ("MSAADA", "sw", "help"),
    ("HELP", "en", "help"),
)
"""``(words, language, action)`` of the gateway-wide keywords when ``sms.keywords`` is absent."""


DEFAULT_SMS_SEGMENTS = 3
"""``sms.max_segments`` when the configuration does not say."""


@dataclass(frozen=True)
class KeywordRoute:
    """A configured keyword: its words, language, action name and the action's parameters."""

    words: tuple[str, ...]
    language: str
    action: str
    params: Mapping[str, Any] = field(default_factory=dict)
    source: str = field(default="", compare=False)
    """Where it is declared (``sms.keywords[2]``, ``menus/mrejesho.yaml keywords (line 8)``)."""


def _words(value: Any) -> tuple[str, ...]:
    words = value.split() if isinstance(value, str) else value
    if not isinstance(words, list | tuple) or not words:
        raise ValueError(value)
    if not all(isinstance(word, str) and word.strip() for word in words):
        raise ValueError(value)
    return tuple(word.strip().upper() for word in words)


@dataclass(frozen=True)
class _Keyword:
    """One entry of ``sms.keywords`` as written; the optional keys are the action's parameters."""

    words: Annotated[tuple[str, ...], Kind("a word or a list of words", _words)]
    language: str
    action: str
    service: str | None = None
    kind: str | None = None
    backend: str | None = None
    code: str | None = None


PARAMS = ("service", "kind", "backend", "code")


def read_keywords(reader: Reader, raw: Any, path: str) -> Any:
    """``sms.keywords``: a list of routes, each remembering where it was declared."""
    written = reader.value(tuple[_Keyword, ...], raw, path)
    if written is FAILED:
        return FAILED
    return tuple(
        KeywordRoute(
            entry.words,
            entry.language,
            entry.action,
            {key: getattr(entry, key) for key in PARAMS if getattr(entry, key) is not None},
            f"{path}[{index}]",
        )
        for index, entry in enumerate(written)
    )


DEFAULT_ROUTES: tuple[KeywordRoute, ...] = tuple(
    KeywordRoute((words,), language, action, {}, f"sms.keywords[{index}]")
    for index, (words, language, action) in enumerate(DEFAULT_KEYWORDS)
)


def _base_url(value: Any) -> str | None:
    if not isinstance(value, str):
        raise TypeError(value)
    return value.strip().rstrip("/") or None


@dataclass(frozen=True)
class SmsLimits:
    """How many callbacks ``/sms/inbound`` takes (``sms.limits``); 0 requests: no limit."""

    phone: Window = field(default_factory=lambda: Window(10, 600.0))
    """Messages per sender number per window: past it a message is acknowledged and dropped."""
    source: Window = field(default_factory=Window)
    """Callbacks per source address per window: past it a 429 with ``Retry-After``."""


@dataclass(frozen=True)
class SmsConfig:
    """Everything the SMS channel needs; defaults give a working sandbox set-up."""

    username: str = field(default="sandbox", metadata=setting(env="AT_USERNAME", file=False))
    api_key: str = field(default="", repr=False, metadata=setting(env="AT_API_KEY", file=False))
    base_url: Annotated[str | None, Kind("a URL", _base_url)] = field(
        default=None, metadata=setting(env="AT_API_BASE_URL", file=False)
    )
    """``AT_API_BASE_URL``: the SMS API host instead of Africa's Talking's (a stand-in, a proxy)."""
    sender_id: str | None = None
    """Alphanumeric sender id registered with the aggregator; None: its default."""
    short_code: str | None = None
    """Where premium replies come from when the inbound message does not say (e.g. 15200)."""
    max_segments: Annotated[int, at_least(1)] = DEFAULT_SMS_SEGMENTS
    """Parts per SMS at most; longer texts are cut at a word and end with "..."."""
    default_language: str = "sw"
    """Unset in the file: the gateway's ``default_language``."""
    retry: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(
            max_attempts=10, base_delay=10.0, max_delay=600.0, give_up_after=86400.0
        )
    )
    timeout: Annotated[float, SECONDS, above(0)] = 10.0
    """Seconds one call to the SMS API may take."""
    poll_interval: Annotated[float, SECONDS, above(0)] = 0.5
    batch_size: Annotated[int, at_least(1)] = 50
    concurrency: Annotated[int, at_least(1)] = 4
    lease: Annotated[float, SECONDS, above(0)] = 10.0
    """Seconds a claimed message stays reserved unless renewed while it is being sent."""
    keywords: tuple[KeywordRoute, ...] = field(
        default=DEFAULT_ROUTES, metadata=setting(read=read_keywords)
    )
    texts: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: DEFAULT_TEXTS, metadata=setting(merge=True)
    )
    """Per text, per language; the file's languages are laid over these."""
    auth: ProviderAuth | None = field(default=None, metadata=setting(read=read_caller_auth))
    """Who may call the SMS callbacks: the keys of ``providers.<name>``; None: anyone."""
    limits: SmsLimits = field(default_factory=SmsLimits)

    @property
    def sends_out(self) -> bool:
        """False on the embedded default: no key and no stand-in, so SMS stay in the outbox."""
        return bool(self.api_key or self.base_url)

    @property
    def sandbox(self) -> bool:
        return self.username == "sandbox"

    def text(self, key: str, language: str, **fields: Any) -> str:
        """Text ``key`` in ``language`` (else the default language), fields filled in."""
        by_language = self.texts.get(key) or DEFAULT_TEXTS[key]
        template = (
            by_language.get(language)
            or by_language.get(self.default_language)
            or next(iter(by_language.values()))
        )
        return template.format_map(_Blank(fields))


class _Blank(dict[str, Any]):
    """Missing fields render empty rather than raising: a text is never lost to a typo."""

    def __missing__(self, key: str) -> str:
        return ""
