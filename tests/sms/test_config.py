"""The ``sms:`` section and the ``AT_*`` environment."""

from __future__ import annotations

import pytest

from tests.conftest import project_settings
from ussd_gateway.config.settings import ConfigError
from ussd_gateway.config.sms import load_sms


def with_sms(sms: object, **env: str):  # type: ignore[no-untyped-def]
    settings = project_settings()
    return project_settings(raw={**settings.raw, "sms": sms}, env=env)


def test_shipped_configuration_and_environment() -> None:
    config = load_sms(
        with_sms(
            project_settings().raw["sms"],
            AT_USERNAME="egov",
            AT_API_KEY="k",
            AT_API_BASE_URL="http://127.0.0.1:9/",
        )
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
    config = load_sms(with_sms(None))
    assert config.sandbox and config.base_url is None and len(config.keywords) == 8
    assert config.text("stopped", "fr").startswith("Hutapokea")  # the default language


@pytest.mark.parametrize(
    ("sms", "message"),
    [
        ({"max_segment": 2}, "sms: unknown key"),
        ({"max_segments": 0}, "must be ≥ 1"),
        ({"retry": {"base_delay": -1}}, "sms.retry"),
        ({"keywords": [{"words": "", "language": "sw", "action": "help"}]}, "words"),
        ({"keywords": [{"words": "X", "action": "help"}]}, "language is missing"),
        ({"texts": {"help": "Tuma"}}, "sms.texts.help"),
    ],
)
def test_mistakes_name_the_key(sms: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_sms(with_sms(sms))
