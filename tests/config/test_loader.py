"""The configuration loader on real files: what an operator writes, what the gateway then runs
with, and the one line each mistake becomes."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from ussd_gateway.config.loader import ConfigError
from ussd_gateway.config.settings import Settings, load_settings


def write(tmp_path: Path, text: str) -> Path:
    """``text`` as ``<tmp>/project/config/gateway.yaml`` (so the project root is ``project``)."""
    path = tmp_path / "project" / "config" / "gateway.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path, env: dict[str, str] | None = None) -> list[str]:
    """The lines of the ConfigError loading ``path`` raises, ``<path>: `` cut off."""
    with pytest.raises(ConfigError) as raised:
        load_settings(path, env=env or {})
    return [line.removeprefix(f"{path}: ") for line in raised.value.problems]


# --------------------------------------------------------------------------- no file, empty file


def test_no_file_at_all_runs_on_the_embedded_defaults(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # no config/gateway.yaml here
    settings = load_settings(env={})
    assert settings.config_path is None and settings.root == tmp_path
    assert settings.menus_dir == tmp_path / "menus"
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'var/gateway.db'}"
    assert (settings.host, settings.port, settings.redis_url) == ("0.0.0.0", 8080, None)
    assert (settings.sessions.ttl, settings.sessions.resume_window) == (180, 300)
    assert settings.navigation.reserved == {"0", "00", "98", "000"}
    assert (settings.lookup_timeout, settings.submit_timeout) == (0.8, 5.0)
    assert settings.limits.phone.requests == 30 and settings.limits.hop_deadline == 2.5
    assert settings.providers == {} and settings.admin_token is None
    assert settings.backends == {} and settings.delivery.lease == 10
    assert settings.sms.sandbox and settings.sms.retry.max_attempts == 10
    assert settings.simulator.enabled is False and settings.reload.watch is False
    assert settings.logging.format == "text" and settings.log_level == "INFO"
    assert settings.privacy.personal_keys == ("name", "phone")
    assert settings.text("resume", "en").startswith("You did not finish")


def test_an_empty_file_is_the_defaults_with_paths_from_the_project(tmp_path: Path) -> None:
    path = write(tmp_path, "# nothing yet\n")
    settings = load_settings(path, env={})
    assert settings == Settings(
        root=tmp_path / "project",
        config_path=path,
        menus_dir=tmp_path / "project" / "menus",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'project' / 'var/gateway.db'}",
    )


def test_a_file_asked_for_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    with pytest.raises(ConfigError) as raised:
        load_settings(env={"USSD_CONFIG": str(missing)})
    assert raised.value.problems == (f"{missing}: no such file",)


def test_ussd_config_chooses_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "default_language: en\n")
    assert load_settings(env={"USSD_CONFIG": str(path)}).default_language == "en"


# --------------------------------------------------------------------------- values and paths


def test_every_kind_of_value_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
service_codes: {"*152*05": maji, "152*06#": umeme}
menus_dir: services
catalogues: {institutions: config/institutions.yaml, absolute: /srv/list.yaml}
sessions: {ttl: 2m, resume_window: "90"}
navigation: {back: 9, home: "99", more: "98", directory: "999"}
port: "8081"
limits:
  phone: {requests: 5}
  fields: {text: 500}
  hop_deadline: 1.5
providers:
  hubtel: {allow: [203.0.113.7, "2001:db8::/32"]}
backends:
  feedback: {type: http, url: "http://x/y", timeout: 3, retry: {give_up_after: 3d}}
sms: {sender_id: null, short_code: 15200}
privacy: {retention_days: 30.5, personal_keys: [name]}
logging: {format: JSON}
""",
    )
    settings = load_settings(path, env={})
    root = tmp_path / "project"
    assert settings.service_codes == {"*152*05#": "maji", "*152*06#": "umeme"}
    assert settings.menus_dir == root / "services"
    assert settings.catalogues == {
        "institutions": root / "config/institutions.yaml",
        "absolute": Path("/srv/list.yaml"),
    }
    assert settings.sessions.ttl == 120 and settings.sessions.resume_window == 90
    assert settings.navigation.back == "9" and settings.port == 8081
    assert settings.limits.phone.requests == 5
    assert settings.limits.phone.window == 60  # the default phone window, not Window()'s
    assert settings.limits.fields["text"] == 500 and settings.limits.fields["phone"] == 20
    assert settings.limits.hop_deadline == 1.5
    assert settings.providers["hubtel"].allow == (
        ipaddress.ip_network("203.0.113.7/32"),
        ipaddress.ip_network("2001:db8::/32"),
    )
    feedback = settings.backends["feedback"]
    assert feedback.timeout == 3 and feedback.retry.give_up_after == 3 * 86400
    assert feedback.retry.max_attempts == 20 and feedback.options == {"url": "http://x/y"}
    assert settings.sms.sender_id is None and settings.sms.short_code == "15200"
    assert settings.privacy.retention_days == 30.5 and settings.privacy.personal_keys == ("name",)
    assert settings.logging.format == "json"


def test_texts_given_in_one_language_keep_the_others(tmp_path: Path) -> None:
    path = write(tmp_path, 'texts: {resume: {sw: "Endelea?"}}\n')
    settings = load_settings(path, env={})
    assert settings.text("resume", "sw") == "Endelea?"
    assert settings.text("resume", "en").startswith("You did not finish last time")


def test_an_empty_section_is_its_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "providers:\nsessions:\nbackends:\n"), env={})
    assert settings.providers == {} and settings.sessions.ttl == 180 and settings.backends == {}


# --------------------------------------------------------------------------- mistakes


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("sessions: {ttl: three}", "sessions.ttl: expected seconds, got 'three'"),
        ("sessions: {ttl: 0}", "sessions.ttl: expected seconds > 0, got 0"),
        ("reload: {watch: yes please}", "reload.watch: expected true or false, got 'yes please'"),
        ("default_language: [sw]", "default_language: expected text, got a list"),
        ("navigation: {back: false}", "navigation.back: expected text, got false"),
        ("navigation: {back: ''}", "navigation.back: expected text that is not empty, got ''"),
        ("navigation: {more: '0'}", "navigation.more: expected a key other than back's, got '0'"),
        ("limits: {max_body: 2.5}", "limits.max_body: expected a whole number, got 2.5"),
        ("limits: {max_body: 0}", "limits.max_body: expected a whole number ≥ 1, got 0"),
        ("limits: {phone: {requests: -1}}", "limits.phone.requests: expected a whole number ≥ 0, "
         "got -1"),
        ("limits: {phone: 30}", "limits.phone: expected a mapping, got 30"),
        ("limits: {fields: {txt: 10}}", "limits.fields.txt: unknown key, did you mean text?"),
        ("privacy: {retention_days: soon}", "privacy.retention_days: expected a number, "
         "got 'soon'"),
        ("privacy: {personal_keys: name}", "privacy.personal_keys: expected a list, got 'name'"),
        ("menus_dir: [a, b]", "menus_dir: expected a path, got a list"),
        ("catalogues: [institutions]", "catalogues: expected a mapping, got a list"),
        ("service_codes: {'': x}", "service_codes.: expected a short code such as *152*00#, "
         "got ''"),
        ("port: 70000", "port: expected a whole number from 0 to 65535, got 70000"),
        ("logging: {format: xml}", "logging.format: expected one of text, json, got 'xml'"),
        ("texts: {welcome: {sw: Karibu}}", "texts.welcome: unknown key, expected one of "
         "rate_limited, resume, resume_named, still_working, unavailable, unknown_code"),
        ("delivery: {lease: -5}", "delivery.lease: expected seconds > 0, got -5"),
        ("backends: {feedback: {type: http, retry: {jitter: 1}}}",
         "backends.feedback.retry.jitter: expected a number ≥ 0 and < 1, got 1"),
        ("backends: [feedback]", "backends: expected a mapping of backend names to backends, "
         "got a list"),
        ("sms: {keywords: [{words: HALI, language: sw, action: status}, {words: [], "
         "language: sw, action: help}]}",
         "sms.keywords[1].words: expected a word or a list of words, got a list"),
        ("observability: {session_events: {queue_size: 0}}",
         "observability.session_events.queue_size: expected a whole number ≥ 1, got 0"),
        ("reload: {poll_interval: 0}", "reload.poll_interval: expected seconds > 0, got 0"),
        ("simulator: {enabled: 1}", "simulator.enabled: expected true or false, got 1"),
        ("beem: '*152*00#'", "beem: expected a mapping, got '*152*00#'"),
        ("sesions: {ttl: 60}", "sesions: unknown key, did you mean sessions?"),
        ("sessions: {ttl: 60, timeout: 5}", "sessions.timeout: unknown key, expected one of "
         "nudge_interval, resume_window, ttl"),
        ("redis_url: redis://x", "redis_url: expected in the environment as REDIS_URL"),
        ("admin_token: x", "admin_token: expected in the environment as ADMIN_TOKEN"),
        ("- sessions", "top level: expected a mapping, got a list"),
    ],
)  # fmt: skip
def test_a_mistake_is_one_line_naming_key_expected_and_given(
    tmp_path: Path, text: str, line: str
) -> None:
    assert problems(write(tmp_path, text + "\n")) == [line]


def test_every_mistake_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
sessions: {ttl: three, resume_window: 300}
limits: {phone: {requests: many}}
sms: {max_segments: 0, retry: {max_attempts: 0}}
backends:
  feedback: {type: http, timeout: x}
  meetings: {url: "http://x"}
""",
    )
    assert problems(path) == [
        "sessions.ttl: expected seconds, got 'three'",
        "limits.phone.requests: expected a whole number, got 'many'",
        "backends.feedback.timeout: expected seconds, got 'x'",
        "backends.meetings.type: expected a connector type (http or govesb), got nothing",
        "sms.max_segments: expected a whole number ≥ 1, got 0",
        "sms.retry.max_attempts: expected a whole number ≥ 1, got 0",
    ]


def test_yaml_that_does_not_parse_is_one_line_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "sessions:\n  ttl: 60\n resume_window: 300\n")
    [line] = problems(path)
    assert line.startswith("line 3: ")


def test_a_key_given_twice_is_a_mistake_not_a_silent_replacement(tmp_path: Path) -> None:
    path = write(tmp_path, "sessions: {ttl: 60}\nport: 8081\nsessions: {ttl: 90}\n")
    assert problems(path) == ["line 3: sessions: given twice (first on line 1)"]


def test_a_secret_named_but_unset_stops_start_up(tmp_path: Path) -> None:
    path = write(tmp_path, "providers: {beem: {path_token_env: BEEM_TOKEN}}\n")
    assert problems(path) == [
        "providers.beem.path_token_env: expected the name of a variable set in the "
        "environment, got 'BEEM_TOKEN'"
    ]
    settings = load_settings(path, env={"BEEM_TOKEN": "t0k3n"})
    assert settings.providers["beem"].path_token == "t0k3n"
    assert "t0k3n" not in repr(settings)


# --------------------------------------------------------------------------- environment


def test_the_environment_wins_over_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "port: 8081\nmenus_dir: menus\nlogging: {format: text}\n")
    settings = load_settings(
        path,
        env={
            "PORT": "9090",
            "USSD_MENUS_DIR": "elsewhere/menus",
            "REDIS_URL": "redis://127.0.0.1:6379/2",
            "DATABASE_URL": "postgresql://gw@db/gw",
            "LOG_LEVEL": "debug",
            "LOG_FORMAT": "json",
            "ADMIN_TOKEN": "adm1n",
        },
    )
    assert settings.port == 9090
    assert settings.menus_dir == Path("elsewhere/menus")  # as given: from where it was started
    assert settings.redis_url == "redis://127.0.0.1:6379/2"
    assert settings.database_url == "postgresql://gw@db/gw"
    assert (settings.log_level, settings.logging.format) == ("DEBUG", "json")
    assert settings.admin_token == "adm1n" and "adm1n" not in repr(settings)


def test_an_empty_variable_is_unset(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "port: 8081\n"), env={"PORT": "", "REDIS_URL": ""})
    assert settings.port == 8081 and settings.redis_url is None


def test_a_bad_variable_is_one_line_naming_it(tmp_path: Path) -> None:
    path = write(tmp_path, "sessions: {ttl: 60}\n")
    with pytest.raises(ConfigError) as raised:
        load_settings(path, env={"PORT": "http", "LOG_LEVEL": "loud", "LOG_FORMAT": "xml"})
    assert raised.value.problems == (
        "environment: PORT: expected a whole number, got 'http'",
        "environment: LOG_LEVEL: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'loud'",
        "environment: LOG_FORMAT: expected one of text, json, got 'xml'",
    )


def test_backend_variables_override_that_backend_only(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "backends:\n"
        "  feedback: {type: http, url: 'http://a/feedback'}\n"
        "  e-gov.meetings: {type: http, url: 'http://a/meetings'}\n",
    )
    env = {
        "BACKEND_FEEDBACK_TOKEN": "t",
        "BACKEND_E_GOV_MEETINGS_SECRET": "s",
        "BACKEND_E_GOV_MEETINGS_URL": "https://b/meetings",
        "BACKEND_OTHER_TOKEN": "x",
    }
    backends = load_settings(path, env=env).backends
    assert (backends["feedback"].token, backends["feedback"].secret) == ("t", None)
    assert backends["e-gov.meetings"].secret == "s"
    assert backends["e-gov.meetings"].env == {
        "BACKEND_E_GOV_MEETINGS_URL": "https://b/meetings",
        "BACKEND_E_GOV_MEETINGS_SECRET": "s",
    }


def test_the_sms_account_comes_from_the_environment(tmp_path: Path) -> None:
    env = {"AT_USERNAME": "egov", "AT_API_KEY": "k3y", "AT_API_BASE_URL": "http://127.0.0.1:9/"}
    settings = load_settings(write(tmp_path, "sms: {timeout: 5}\n"), env=env)
    assert (settings.sms.username, settings.sms.api_key) == ("egov", "k3y")
    assert settings.sms.base_url == "http://127.0.0.1:9" and not settings.sms.sandbox
    assert "k3y" not in repr(settings)


def test_production_turns_the_simulator_off_whatever_the_file_says(tmp_path: Path) -> None:
    path = write(tmp_path, "simulator: {enabled: true}\n")
    assert load_settings(path, env={}).simulator.enabled is True
    assert load_settings(path, env={"ENV": "production"}).simulator.enabled is False
    assert load_settings(path, env={"ENV": "staging"}).simulator.enabled is True


def test_variables_apply_without_their_section_in_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "default_language: en\n")  # no sms:, no logging:
    settings = load_settings(path, env={"AT_USERNAME": "egov", "LOG_FORMAT": "json"})
    assert settings.sms.username == "egov" and settings.logging.format == "json"
    assert settings.sms.default_language == "en"  # the gateway's, as the file does not say


def test_database_and_redis_urls_are_checked_when_read(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    with pytest.raises(ConfigError) as raised:
        load_settings(
            path, env={"DATABASE_URL": "mysql://u:pw@h/db", "REDIS_URL": "127.0.0.1:6379"}
        )
    assert raised.value.problems == (
        "environment: REDIS_URL: expected a Redis URL (redis://host:6379/0, rediss://…, "
        "unix:///path), got '127.0.0.1:6379'",
        "environment: DATABASE_URL: expected a SQLite or PostgreSQL URL "
        "(sqlite:///var/gateway.db, postgresql://user@host/db), got 'mysql://u:***@h/db'",
    )
    good = {"DATABASE_URL": "postgres://u:pw@h/db", "REDIS_URL": "rediss://h:6380/2"}
    settings = load_settings(path, env=good)
    assert (settings.database_url, settings.redis_url) == (good["DATABASE_URL"], good["REDIS_URL"])
