"""The ``sms:`` section of config/gateway.yaml, read once at start-up into frozen values.

The account comes from the environment (``AT_USERNAME``, ``AT_API_KEY``, ``AT_API_BASE_URL``),
never from the repository. A mistake is a ConfigError naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ussd_gateway.config.backends import RetryPolicy
from ussd_gateway.config.settings import ConfigError, Settings

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
    "not_found": {
        "sw": "Hakuna mrejesho wenye kumbukumbu {reference}.",
        "en": "No feedback has reference {reference}.",
    },
    "registered": {
        "sw": "{title}: umeshasajiliwa. Namba yako ya usajili ni {reference}.",
        "en": "{title}: you are registered. Your registration number is {reference}.",
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

DEFAULT_KEYWORDS: tuple[dict[str, Any], ...] = (
    {"words": "HALI", "language": "sw", "action": "status"},
    {"words": "STATUS", "language": "en", "action": "status"},
    {"words": "ACHA", "language": "sw", "action": "stop"},
    {"words": "STOP", "language": "en", "action": "stop"},
    {"words": "ANZA", "language": "sw", "action": "start"},
    {"words": "START", "language": "en", "action": "start"},
    {"words": "MSAADA", "language": "sw", "action": "help"},
    {"words": "HELP", "language": "en", "action": "help"},
)


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


@dataclass(frozen=True)
class SmsConfig:
    """Everything the SMS channel needs; defaults give a working sandbox set-up."""

    username: str = "sandbox"
    api_key: str = ""
    base_url: str | None = None
    """``AT_API_BASE_URL``: the SMS API host instead of Africa's Talking's (a stand-in, a proxy)."""
    sender_id: str | None = None
    """Alphanumeric sender id registered with the aggregator; None: its default."""
    short_code: str | None = None
    """Where premium replies come from when the inbound message does not say (e.g. 15200)."""
    max_segments: int = DEFAULT_SMS_SEGMENTS
    """Parts per SMS at most; longer texts are cut at a word and end with "..."."""
    default_language: str = "sw"
    retry: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(
            max_attempts=10, base_delay=10.0, max_delay=600.0, give_up_after=86400.0
        )
    )
    timeout: float = 10.0
    """Seconds one call to the SMS API may take."""
    poll_interval: float = 0.5
    batch_size: int = 50
    concurrency: int = 4
    lease: float = 60.0
    keywords: tuple[KeywordRoute, ...] = ()
    texts: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: DEFAULT_TEXTS)

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


SCALARS: dict[str, type] = {
    "sender_id": str,
    "short_code": str,
    "max_segments": int,
    "default_language": str,
    "timeout": float,
    "poll_interval": float,
    "batch_size": int,
    "concurrency": int,
    "lease": float,
}


def parse_keyword(index: int, raw: Any) -> KeywordRoute:
    where = f"sms.keywords[{index}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a mapping")
    words = raw.get("words")
    if isinstance(words, str):
        words = words.split()
    if not words or not all(isinstance(w, str) and w.strip() for w in words):
        raise ConfigError(f"{where}.words must be a word or a list of words")
    for key in ("language", "action"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise ConfigError(f"{where}.{key} is missing")
    params = {k: v for k, v in raw.items() if k not in {"words", "language", "action"}}
    return KeywordRoute(
        tuple(w.strip().upper() for w in words), raw["language"], raw["action"], params, where
    )


def parse_texts(raw: Any) -> dict[str, dict[str, str]]:
    texts = {key: dict(value) for key, value in DEFAULT_TEXTS.items()}
    if raw is None:
        return texts
    if not isinstance(raw, Mapping):
        raise ConfigError("sms.texts must be a mapping of name to {language: text}")
    for key, value in raw.items():
        if not isinstance(value, Mapping) or not all(isinstance(t, str) for t in value.values()):
            raise ConfigError(f"sms.texts.{key} must be a mapping of language to text")
        texts[str(key)] = {str(lang): text for lang, text in value.items()}
    return texts


def load_sms(settings: Settings) -> SmsConfig:
    """The ``sms`` section and the ``AT_*`` environment, checked."""
    raw = settings.section("sms")
    known = set(SCALARS) | {"retry", "keywords", "texts"}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"sms: unknown key(s) {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for key, kind in SCALARS.items():
        if raw.get(key) is not None:
            try:
                values[key] = kind(raw[key])
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"sms.{key}: {exc}") from exc
    values.setdefault("default_language", settings.default_language)
    if "retry" in raw:
        values["retry"] = RetryPolicy.parse("sms.retry", raw["retry"])
    keywords = raw.get("keywords")
    if keywords is None:
        keywords = list(DEFAULT_KEYWORDS)
    if not isinstance(keywords, list):
        raise ConfigError("sms.keywords must be a list")
    env = settings.env
    config = SmsConfig(
        username=env.get("AT_USERNAME") or "sandbox",
        api_key=env.get("AT_API_KEY") or "",
        base_url=(env.get("AT_API_BASE_URL") or "").rstrip("/") or None,
        keywords=tuple(parse_keyword(i, k) for i, k in enumerate(keywords)),
        texts=parse_texts(raw.get("texts")),
        **values,
    )
    if config.max_segments < 1 or config.concurrency < 1 or config.batch_size < 1:
        raise ConfigError("sms: max_segments, concurrency and batch_size must be ≥ 1")
    if config.poll_interval <= 0 or config.lease <= 0 or config.timeout <= 0:
        raise ConfigError("sms: poll_interval, lease and timeout must be > 0")
    return config
