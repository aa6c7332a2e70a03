"""Configuration: config/gateway.yaml for what operators change, environment for where to run."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """The gateway configuration cannot be used; the message says where and why."""


DEFAULT_TEXTS: dict[str, dict[str, str]] = {
    "unknown_code": {
        "sw": "Samahani, huduma hii haipo. Hakikisha namba uliyopiga.",
        "en": "Sorry, this service does not exist. Check the code you dialled.",
    },
    "unavailable": {
        "sw": "Samahani, huduma haipatikani kwa sasa. Tafadhali jaribu tena baadaye.",
        "en": "Sorry, the service is unavailable right now. Please try again later.",
    },
    "resume": {
        "sw": "Hukumaliza ulichokuwa ukifanya.\n1. Endelea ulipoishia\n2. Anza upya",
        "en": "You did not finish last time.\n1. Continue where you were\n2. Start again",
    },
    "rate_limited": {
        "sw": "Samahani, maombi mengi kwa muda mfupi. Tafadhali jaribu tena baada ya dakika moja.",
        "en": "Sorry, too many requests in a short time. Please try again in a minute.",
    },
    "still_working": {
        "sw": "Bado tunashughulikia ombi lako.\n1. Endelea",
        "en": "Still working on your request.\n1. Continue",
    },
}


@dataclass(frozen=True, slots=True)
class NavigationKeys:
    """Keys every service gets for free (configurable in gateway.yaml)."""

    back: str = "0"
    home: str = "00"
    more: str = "98"
    directory: str = "000"
    """Back to the directory of services, from inside a service reached through one."""

    @property
    def reserved(self) -> frozenset[str]:
        return frozenset({self.back, self.home, self.more, self.directory})

    def footer(self, word: Callable[[str], str], *, more: bool, back: bool, home: bool) -> str:
        """The line under a screen, e.g. ``98.Zaidi 0.Rudi 00.Mwanzo``; ``word`` translates."""
        parts = []
        if more:
            parts.append(f"{self.more}.{word('more')}")
        if back:
            parts.append(f"{self.back}.{word('back')}")
        if home:
            parts.append(f"{self.home}.{word('home')}")
        return " ".join(parts)


@dataclass(frozen=True)
class SessionSettings:
    ttl: float = 180.0
    """Seconds a session lives after its last hop (telcos end sessions at ~180 s)."""
    resume_window: float = 300.0
    """Seconds during which a dropped journey is offered again to the same number."""


@dataclass(frozen=True)
class Settings:
    """Everything the application factory needs; built by ``load_settings``."""

    root: Path = Path(".")
    service_codes: Mapping[str, str] = field(default_factory=dict)
    menus_dir: Path = Path("menus")
    catalogues: Mapping[str, Path] = field(default_factory=dict)
    sessions: SessionSettings = field(default_factory=SessionSettings)
    navigation: NavigationKeys = field(default_factory=NavigationKeys)
    default_language: str = "sw"
    texts: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: dict(DEFAULT_TEXTS))
    lookup_timeout: float = 0.8
    submit_timeout: float = 5.0
    redis_url: str | None = None
    database_url: str = "sqlite+aiosqlite:///var/gateway.db"
    host: str = "0.0.0.0"
    port: int = 8080
    log_level: str = "INFO"
    config_path: Path | None = None
    """The file read, for messages that name it; None when running on defaults."""
    raw: Mapping[str, Any] = field(default_factory=dict)
    """The whole parsed file: each component reads its own section with ``section``."""
    env: Mapping[str, str] = field(default_factory=dict)
    """The environment at load time: components read their overrides (``BACKEND_*``) from it."""

    def section(self, name: str) -> Mapping[str, Any]:
        """A top-level mapping of the configuration file (empty when absent)."""
        value = self.raw.get(name) or {}
        if not isinstance(value, Mapping):
            raise ConfigError(f"{self.config_path or 'configuration'}: {name} must be a mapping")
        return value

    def text(self, key: str, language: str | None = None) -> str:
        texts = self.texts.get(key) or DEFAULT_TEXTS[key]
        return texts.get(language or self.default_language) or next(iter(texts.values()))


def _resolve(root: Path, value: str | os.PathLike[str]) -> Path:
    path = Path(value)
    return path if path.is_absolute() else root / path


def load_settings(
    config_path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Read the YAML file (``USSD_CONFIG``, default config/gateway.yaml) and the environment.

    Relative paths in the file are taken from the project directory (the config directory's
    parent), so the gateway behaves the same whatever directory it is started from.
    """
    env = os.environ if env is None else env
    path = Path(config_path or env.get("USSD_CONFIG") or "config/gateway.yaml")
    raw: Any = {}
    if path.exists():
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{path}: must be a mapping")
    elif config_path or env.get("USSD_CONFIG"):
        raise ConfigError(f"{path}: no such file")
    root = path.resolve().parent.parent if path.exists() else Path.cwd()

    codes = raw.get("service_codes") or {}
    if not isinstance(codes, Mapping):
        raise ConfigError(f"{path}: service_codes must map a short code to a service")
    sessions_raw = raw.get("sessions") or {}
    nav_raw = raw.get("navigation") or {}
    texts = {k: dict(v) for k, v in DEFAULT_TEXTS.items()}
    for key, value in (raw.get("texts") or {}).items():
        if key not in DEFAULT_TEXTS or not isinstance(value, Mapping):
            raise ConfigError(f"{path}: texts.{key} is not a known text")
        texts[key].update({str(k): str(v) for k, v in value.items()})
    try:
        sessions = SessionSettings(
            ttl=float(sessions_raw.get("ttl", 180)),
            resume_window=float(sessions_raw.get("resume_window", 300)),
        )
        navigation = NavigationKeys(
            back=str(nav_raw.get("back", "0")),
            home=str(nav_raw.get("home", "00")),
            more=str(nav_raw.get("more", "98")),
            directory=str(nav_raw.get("directory", "000")),
        )
        port = int(env.get("PORT") or raw.get("port") or 8080)
        lookup_timeout = float(raw.get("lookup_timeout", 0.8))
        submit_timeout = float(raw.get("submit_timeout", 5.0))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    if len(navigation.reserved) != 4:
        raise ConfigError(f"{path}: navigation keys must differ from each other")

    menus_dir = env.get("USSD_MENUS_DIR") or raw.get("menus_dir") or "menus"
    return Settings(
        root=root,
        service_codes={normalise_code(str(k)): str(v) for k, v in codes.items()},
        menus_dir=_resolve(root, menus_dir) if not env.get("USSD_MENUS_DIR") else Path(menus_dir),
        catalogues={str(k): _resolve(root, v) for k, v in (raw.get("catalogues") or {}).items()},
        sessions=sessions,
        navigation=navigation,
        default_language=str(raw.get("default_language", "sw")),
        texts=texts,
        lookup_timeout=lookup_timeout,
        submit_timeout=submit_timeout,
        redis_url=env.get("REDIS_URL") or None,
        database_url=env.get("DATABASE_URL")
        or "sqlite+aiosqlite:///" + str(root / "var/gateway.db"),
        host=str(raw.get("host", "0.0.0.0")),
        port=port,
        log_level=env.get("LOG_LEVEL", "INFO"),
        config_path=path if path.exists() else None,
        raw=dict(raw),
        env=dict(env),
    )


def normalise_code(code: str) -> str:
    """``*152*00#`` however it was typed in the file or sent by a telco."""
    code = code.strip().replace(" ", "")
    if not code.startswith("*"):
        code = "*" + code
    if not code.endswith("#"):
        code += "#"
    return code
