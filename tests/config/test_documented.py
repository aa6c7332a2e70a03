"""What operators are shown loads: the shipped config/gateway.yaml, its commented-out examples,
and every key the README and docs name."""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import CONFIG, ROOT
from ussd_gateway.adapters.connectors.http import HttpConfig
from ussd_gateway.adapters.connectors.registry import check_backends
from ussd_gateway.config.backends import BackendConfig
from ussd_gateway.config.settings import Settings, load_settings
from ussd_gateway.config.sms import SmsConfig

SECRETS = {
    "PROVIDER_AFRICASTALKING_TOKEN": "t0k3n",
    "PROVIDER_AFRICASTALKING_PASSWORD": "pa55",
    "SMS_CALLBACK_TOKEN": "sms-t0k3n",
    "SMS_CALLBACK_PASSWORD": "sms-pa55",
}


def test_the_shipped_file_loads_and_every_backend_checks() -> None:
    settings = load_settings(CONFIG, env={})
    check_backends(settings.forwarding)
    assert settings.service_codes == {"*152*00#": "serikali"}
    assert set(settings.backends) == {"feedback", "meetings", "bills", "bill_notices"}
    assert settings.simulator.enabled and settings.observability.session_events.enabled


def uncomment(lines: list[str], start: str) -> list[str]:
    """The line beginning with ``start`` and the deeper commented lines under it, uncommented
    (``#`` and one space removed: the example's own indentation stays)."""
    first = next(n for n, line in enumerate(lines) if line.startswith(start))
    indent = start[: start.index("#")]
    result = list(lines)
    result[first] = lines[first].replace("# ", "", 1)
    for n in range(first + 1, len(lines)):
        line = lines[n]
        if not line.startswith(indent + "#  "):
            break
        result[n] = line.replace("# ", "", 1) if line.startswith(indent + "# ") else line
    return result


def test_the_commented_examples_in_the_shipped_file_load(tmp_path: Path) -> None:
    lines = CONFIG.read_text(encoding="utf-8").splitlines()
    for start in (
        "# beem:",
        "#  africastalking:",
        "    # auth: bearer",
        "    # signature_header:",
        "    # payload:",
        "  # sender_id:",
        "  # auth:",
        "  # texts:",
        "#  ega:",
    ):
        lines = uncomment(lines, start)
    text = "\n".join(lines).replace("providers: {}", "providers:")
    text = text.replace("operators: {}", "operators:")
    path = tmp_path / "config" / "gateway.yaml"
    path.parent.mkdir()
    path.write_text(text + "\n", encoding="utf-8")

    settings = load_settings(path, env=SECRETS)
    check_backends(settings.forwarding)

    assert settings.beem.service_code == "*152*00#"
    assert settings.providers["africastalking"].basic is not None
    assert settings.operators["ega"].institutions == ("e-Government Authority (e-GA)",)
    assert [str(n) for n in settings.providers["africastalking"].trusted_proxies] == ["10.0.0.0/8"]
    assert set(settings.backends["feedback"].options) >= {"auth", "signature_header", "payload"}
    assert settings.sms.sender_id == "eGA"
    assert settings.sms.auth is not None and settings.sms.auth.path_token == "sms-t0k3n"
    assert settings.sms.auth.basic is not None and settings.sms.auth.basic.password == "sms-pa55"
    assert settings.sms.texts["status_update"]["en"].startswith("e-Mrejesho {reference}")


def test_the_documented_observability_section_loads(tmp_path: Path) -> None:
    doc = (ROOT / "docs" / "observability.md").read_text(encoding="utf-8")
    [block] = re.findall(r"```yaml\n(observability:.*?)```", doc, re.DOTALL)
    path = tmp_path / "gateway.yaml"
    path.write_text(block, encoding="utf-8")
    events = load_settings(path, env={}).observability.session_events
    assert (events.batch_size, events.queue_size) == (200, 10_000)


# --------------------------------------------------------------------------- keys named in docs


def _file_keys(cls: type) -> dict[str, Any]:
    """The keys of a section the file may hold, with their type hints."""
    hints = typing.get_type_hints(cls, include_extras=True)
    keys = {}
    for item in dataclasses.fields(cls):
        meta = item.metadata.get("config")
        if meta is None or (meta.file and not meta.rest):
            keys[item.name] = hints[item.name]
    if cls is BackendConfig:  # the rest is the connector's: http documents its own keys
        keys |= _file_keys(HttpConfig)
    return keys


def _inner(hint: Any) -> Any:
    while True:
        if typing.get_origin(hint) is typing.Annotated:
            hint = typing.get_args(hint)[0]
        elif type(None) in typing.get_args(hint):
            hint = next(a for a in typing.get_args(hint) if a is not type(None))
        else:
            return hint


def known(path: str) -> bool:
    """Whether ``path`` (``backends.<name>.retry``) names a key the loader reads."""
    hint: Any = Settings
    for part in path.split("."):
        hint = _inner(hint)
        if part.startswith("<"):
            if typing.get_origin(hint) not in (Mapping, dict):
                return False
            hint = typing.get_args(hint)[1]
        elif dataclasses.is_dataclass(hint):
            keys = _file_keys(hint)
            if part not in keys:
                return False
            hint = keys[part]
        else:
            return False
    return True


def readme_keys() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    after = readme.split("`config/gateway.yaml` holds what operators change", 1)[1]
    lines = after.splitlines()
    start = lines.index("| key | meaning | default |")
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line)
    keys = []
    for row in rows:
        names = re.findall(r"`([^`]+)`", row.split("|")[1])
        parent = names[0].rsplit(".", 1)[0] if "." in names[0] else ""
        for name in names:
            keys.append(name if "." in name or not parent else f"{parent}.{name}")
    return keys


@pytest.mark.parametrize("key", readme_keys())
def test_every_key_in_the_readme_is_read(key: str) -> None:
    assert known(key), f"README documents {key}, which the loader does not read"


def test_every_key_of_the_sms_section_in_docs_is_read() -> None:
    doc = (ROOT / "docs" / "sms.md").read_text(encoding="utf-8")
    table = doc.split("section `sms:`", 1)[1].split("\n\n", 2)[1]
    names = [n for row in table.splitlines()[2:] for n in re.findall(r"`(\w+)`", row.split("|")[1])]
    assert names and set(names) <= set(_file_keys(SmsConfig)), names


def test_the_file_documents_every_top_level_section() -> None:
    shipped = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    text = CONFIG.read_text(encoding="utf-8")
    commented = set(re.findall(r"^# (\w+):", text, re.MULTILINE))
    assert set(_file_keys(Settings)) <= set(shipped) | commented | {"host", "port"}


def test_a_key_nobody_reads_is_not_known() -> None:
    assert not known("sessions.tll") and not known("backends.<name>.tries")
    assert not known("sessions.ttl.seconds") and not known("limits.<name>")
