"""The ``sms:`` section and the ``AT_*`` environment."""

from __future__ import annotations

import pytest

from tests.conftest import CONFIG, project_settings, shipped_document
from ussd_gateway.config.settings import ConfigError
from ussd_gateway.config.sms import SmsConfig


def with_sms(sms: object, **env: str) -> SmsConfig:
    return project_settings(sections={"sms": sms}, env=env).sms


def test_shipped_configuration_and_environment() -> None:
    config = with_sms(
        shipped_document()["sms"],
        AT_USERNAME="egov",
        AT_API_KEY="k",
        AT_API_BASE_URL="http://127.0.0.1:9/",
    )
    assert (config.username, config.api_key, config.base_url, config.sandbox) == (
        "egov",
        "k",
        "http://127.0.0.1:9",
        False,
    )
    assert config.short_code == "15200" and config.max_segments == 3
    words = {" ".join(k.words) for k in config.keywords}
    assert words >= {"HALI", "STATUS", "ACHA", "STOP"}
    assert not words & {"MREJESHO", "FEEDBACK"}  # declared by menus/mrejesho.yaml, not twice


def test_defaults_without_a_section_use_the_sandbox() -> None:
    config = with_sms(None)
    assert config.sandbox and config.base_url is None and len(config.keywords) == 8
    assert config.text("stopped", "fr").startswith("Hutapokea")  # the default language


def test_the_gateway_default_language_is_the_sms_default_unless_it_says() -> None:
    english = project_settings(sections={"default_language": "en", "sms": None})
    assert english.sms.text("stopped", "fr").startswith("You will get no more")
    own = project_settings(sections={"default_language": "en", "sms": {"default_language": "sw"}})
    assert own.sms.text("stopped", "fr").startswith("Hutapokea")


def test_a_text_given_in_one_language_keeps_the_others() -> None:
    config = with_sms({"texts": {"stopped": {"sw": "Umesitisha."}}})
    assert config.text("stopped", "sw") == "Umesitisha."
    assert config.text("stopped", "en").startswith("You will get no more")


def test_keyword_parameters_are_the_actions() -> None:
    route = {"words": "maji huduma", "language": "sw", "action": "feedback", "service": "maji"}
    (config,) = with_sms({"keywords": [route]}).keywords
    assert config.words == ("MAJI", "HUDUMA") and config.params == {"service": "maji"}
    assert config.source == "sms.keywords[0]"


@pytest.mark.parametrize(
    ("sms", "message"),
    [
        ({"max_segment": 2}, "sms.max_segment: unknown key, did you mean max_segments?"),
        ({"max_segments": 0}, "sms.max_segments: expected a whole number ≥ 1, got 0"),
        ({"retry": {"base_delay": -1}}, "sms.retry.base_delay: expected seconds ≥ 0, got -1"),
        (
            {"keywords": [{"words": "", "language": "sw", "action": "help"}]},
            "sms.keywords[0].words: expected a word or a list of words, got ''",
        ),
        (
            {"keywords": [{"words": "X", "action": "help"}]},
            "sms.keywords[0].language: expected text, got nothing",
        ),
        (
            {"keywords": [{"words": "X", "language": "sw", "action": "help", "servce": "m"}]},
            "sms.keywords[0].servce: unknown key, did you mean service?",
        ),
        ({"texts": {"help": "Tuma"}}, "sms.texts.help: expected a mapping, got 'Tuma'"),
        ({"texts": {"hlep": {"sw": "x"}}}, "sms.texts.hlep: unknown key, did you mean help?"),
        ({"username": "egov"}, "sms.username: expected in the environment as AT_USERNAME"),
        (
            {"auth": {"path_token_env": "SMS_CALLBACK_TOKEN"}},
            "sms.auth.path_token_env: expected the name of a variable set in the environment, "
            "got 'SMS_CALLBACK_TOKEN'",
        ),
        (
            {"auth": {"basic": {"username": "at"}}},  # the password's default variable, unset
            "sms.auth.basic.password_env: expected the name of a variable set in the "
            "environment, got 'SMS_CALLBACK_PASSWORD'",
        ),
        (
            {"auth": {"allow": ["10.0.0.300/8"]}},
            "sms.auth.allow[0]: expected a network such as 203.0.113.0/24, got '10.0.0.300/8'",
        ),
        (
            {"limits": {"phone": {"requests": -1}}},
            "sms.limits.phone.requests: expected a whole number ≥ 0, got -1",
        ),
    ],
)
def test_mistakes_name_the_key(sms: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        with_sms(sms)
    assert error.value.problems == (f"{CONFIG}: {message}",)


def test_auth_reads_its_secrets_from_the_environment() -> None:
    config = with_sms(
        {"auth": {"path_token_env": "SMS_CALLBACK_TOKEN", "basic": {"username": "at"}}},
        SMS_CALLBACK_TOKEN="t0k3n",
        SMS_CALLBACK_PASSWORD="pa55",
    )
    assert config.auth is not None and not config.auth.open
    assert config.auth.path_token == "t0k3n" and config.auth.basic is not None
    assert (config.auth.basic.username, config.auth.basic.password) == ("at", "pa55")
    assert "t0k3n" not in repr(config) and "pa55" not in repr(config)
    assert with_sms(None).auth is None  # open: warned at start


@pytest.mark.parametrize(
    ("written", "code"), [("255", "255"), (255, "255"), ("+254", "254"), (1, "1")]
)
def test_country_code(written: object, code: str) -> None:
    assert project_settings(sections={"country_code": written}).country_code == code


@pytest.mark.parametrize("written", ["0255", "25a", "2555", True, ""])
def test_a_wrong_country_code_stops_start_up(written: object) -> None:
    with pytest.raises(ConfigError) as error:
        project_settings(sections={"country_code": written})
    [problem] = error.value.problems
    assert problem.startswith(
        f"{CONFIG}: country_code: expected a country calling code such as 255"
    )
