"""Configuration: config/gateway.yaml for what operators change, environment for where to run.

``load_settings`` reads both once into a frozen ``Settings`` whose attributes are typed
sections (``settings.sessions``, ``settings.backends``, ``settings.sms``…); a key nobody reads
or a value of the wrong kind stops start-up with one line each (``loader.py``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

from dotenv import dotenv_values

from ussd_gateway.config.backends import (
    BackendConfig,
    DeliverySettings,
    ForwardingConfig,
    read_backends,
)
from ussd_gateway.config.beem import BeemSettings
from ussd_gateway.config.fetch import FetchSettings
from ussd_gateway.config.guard import GuardConfig, Limits, ProviderAuth, read_providers
from ussd_gateway.config.kinds import DATABASE_URL, REDIS_URL, SECONDS, Kind, above, between
from ussd_gateway.config.loader import ConfigError, Reader, setting
from ussd_gateway.config.logs import LoggingSettings, LogLevel
from ussd_gateway.config.observability import ObservabilitySettings
from ussd_gateway.config.operators import OperatorConfig, read_operators
from ussd_gateway.config.privacy import PrivacyConfig
from ussd_gateway.config.reload import ReloadConfig
from ussd_gateway.config.sessions import NavigationKeys, SessionSettings
from ussd_gateway.config.simulator import SimulatorSettings
from ussd_gateway.config.sms import SmsConfig
from ussd_gateway.config.yaml_file import read_yaml

__all__ = [
    "ConfigError",
    "NavigationKeys",
    "SessionSettings",
    "Settings",
    "load_settings",
    "normalise_code",
    "read_settings",
]

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
    "resume_named": {
        "sw": "Hukumaliza {service}.\n1. Endelea ulipoishia\n2. Anza upya",
        "en": "You did not finish {service}.\n1. Continue where you were\n2. Start again",
    },
    "rate_limited": {
        "sw": "Samahani, umetuma maombi mengi kwa muda mfupi. "
        "Tafadhali jaribu tena baada ya dakika moja.",
        "en": "Sorry, you sent too many requests in a short time. Please try again in a minute.",
    },
    "still_working": {
        "sw": "Bado tunashughulikia ombi lako.\n1. Endelea",
        "en": "Still working on your request.\n1. Continue",
    },
}


def normalise_code(code: str) -> str:
    """``*152*00#`` however it was typed in the file or sent by a telco."""
    code = code.strip().replace(" ", "")
    if not code.startswith("*"):
        code = "*" + code
    if not code.endswith("#"):
        code += "#"
    return code


def _code(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(value)
    code = normalise_code(str(value))
    if code == "*#":
        raise ValueError(value)
    return code


ServiceCode = Annotated[str, Kind("a short code such as *152*00#", _code)]


def _country_code(value: Any) -> str:
    code = str(value).strip().removeprefix("+")
    if isinstance(value, bool) or not (code.isdigit() and len(code) <= 3 and code[0] != "0"):
        raise ValueError(value)
    return code


COUNTRY_CODE = Kind("a country calling code such as 255", _country_code)


@dataclass(frozen=True)
class Settings:
    """Everything the gateway is configured with, one typed section per feature.

    Each field is the top-level key of config/gateway.yaml of the same name, unless it says it
    comes from the environment only; the environment variable named by a field wins over the
    file. Built by ``load_settings``; tests build variants with ``dataclasses.replace``.
    """

    root: Path = field(default=Path("."), metadata=setting(file=False))
    """The project directory (the config directory's parent): relative paths start there."""
    config_path: Path | None = field(default=None, metadata=setting(file=False))
    """The file read, for messages that name it; None when running on defaults."""
    service_codes: Mapping[ServiceCode, str] = field(default_factory=dict)
    menus_dir: Path = field(default=Path("menus"), metadata=setting(env="USSD_MENUS_DIR"))
    catalogues: Mapping[str, Path] = field(default_factory=dict)
    sessions: SessionSettings = field(default_factory=SessionSettings)
    navigation: NavigationKeys = field(default_factory=NavigationKeys)
    default_language: str = "sw"
    country_code: Annotated[str, COUNTRY_CODE] = "255"
    """Calling code of local numbers (``0…``): each citizen is counted as one ``+<code>…``."""
    texts: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: DEFAULT_TEXTS, metadata=setting(merge=True)
    )
    lookup_timeout: Annotated[float, SECONDS, above(0)] = 0.8
    submit_timeout: Annotated[float, SECONDS, above(0)] = 5.0
    fetch: FetchSettings = field(default_factory=FetchSettings)
    host: str = field(default="127.0.0.1", metadata=setting(env="HOST"))
    """Listen address. This machine only by default: webhooks are open until ``providers:``
    says otherwise, so listening on every interface (``0.0.0.0``) is a production decision."""
    port: Annotated[int, between(0, 65535)] = field(default=8080, metadata=setting(env="PORT"))
    redis_url: Annotated[str, REDIS_URL] | None = field(
        default=None, metadata=setting(env="REDIS_URL", file=False)
    )
    database_url: Annotated[str, DATABASE_URL] = field(
        default="sqlite+aiosqlite:///var/gateway.db",
        metadata=setting(env="DATABASE_URL", file=False),
    )
    log_level: LogLevel = field(default="INFO", metadata=setting(env="LOG_LEVEL", file=False))
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    reload: ReloadConfig = field(default_factory=ReloadConfig)
    providers: Mapping[str, ProviderAuth] = field(
        default_factory=dict, metadata=setting(read=read_providers)
    )
    limits: Limits = field(default_factory=Limits)
    admin_token: str | None = field(
        default=None, repr=False, metadata=setting(env="ADMIN_TOKEN", file=False)
    )
    operators: Mapping[str, OperatorConfig] = field(
        default_factory=dict, metadata=setting(read=read_operators)
    )
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    backends: Mapping[str, BackendConfig] = field(
        default_factory=dict, metadata=setting(read=read_backends)
    )
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    sms: SmsConfig = field(default_factory=SmsConfig)
    observability: ObservabilitySettings = field(default_factory=ObservabilitySettings)
    simulator: SimulatorSettings = field(default_factory=SimulatorSettings)
    beem: BeemSettings = field(default_factory=BeemSettings)

    @property
    def guard(self) -> GuardConfig:
        """``providers``, ``limits``, ``ADMIN_TOKEN``, ``sms.auth`` and ``operators``: what the
        guard enforces."""
        return GuardConfig(
            self.providers,
            self.limits,
            self.admin_token,
            sms=self.sms.auth,
            operators=self.operators,
        )

    @property
    def forwarding(self) -> ForwardingConfig:
        """``backends`` and ``delivery``: what the delivery worker needs."""
        return ForwardingConfig(self.backends, self.delivery)

    def text(self, key: str, language: str | None = None) -> str:
        texts = self.texts.get(key) or DEFAULT_TEXTS[key]
        return texts.get(language or self.default_language) or next(iter(texts.values()))


def load_settings(
    config_path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Read the YAML file (``USSD_CONFIG``, default config/gateway.yaml) and the environment.

    Relative paths in the file are taken from the project directory (the config directory's
    parent), so the gateway behaves the same whatever directory it is started from. Without
    the default file the gateway runs on defaults; a file asked for must exist.
    """
    if env is None:
        env = with_dotenv(os.environ, Path.cwd() / ".env")
    asked = config_path or env.get("USSD_CONFIG")
    path = Path(asked or "config/gateway.yaml")
    if not path.exists():
        if asked:
            raise ConfigError(f"{path}: no such file")
        return read_settings({}, env=env)
    return read_settings(read_yaml(path), env=env, path=path)


def with_dotenv(environ: Mapping[str, str], path: Path) -> Mapping[str, str]:
    """``environ`` over the variables of a ``.env`` file, when there is one.

    Process managers (foreman, honcho, systemd's EnvironmentFile) read ``.env`` beside the
    Procfile; reading it here too means ``ussd-gateway serve`` run by hand sees the same
    settings. A variable set in the real environment always wins.
    """
    if not path.is_file():
        return environ
    try:
        values = dotenv_values(path, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from exc
    merged = {key: value for key, value in values.items() if value is not None}
    merged.update(environ)
    return merged


def read_settings(document: Any, *, env: Mapping[str, str], path: Path | None = None) -> Settings:
    """Settings from a parsed file (``path`` names it in problem lines) and ``env``."""
    root = path.resolve().parent.parent if path is not None else Path.cwd()
    defaults = Settings(
        root=root,
        config_path=path,
        menus_dir=root / "menus",
        database_url=f"sqlite+aiosqlite:///{root / 'var/gateway.db'}",
    )
    reader = Reader(str(path) if path is not None else "configuration", env, root)
    settings = reader.section(Settings, document, "", base=defaults)
    reader.done()
    sms = document.get("sms") if isinstance(document, Mapping) else None
    if not isinstance(sms, Mapping) or sms.get("default_language") is None:
        settings = replace(
            settings, sms=replace(settings.sms, default_language=settings.default_language)
        )
    if str(env.get("ENV", "")).strip().lower() == "production":
        settings = replace(settings, simulator=replace(settings.simulator, enabled=False))
    return settings
