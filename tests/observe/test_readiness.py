"""/readyz names each dependency with its latency, and says 503 when one is missing."""

from __future__ import annotations

from pathlib import Path


async def test_every_dependency_with_its_latency(client) -> None:
    response = await client.get("/readyz")
    assert response.status == 200
    checks = (await response.json())["checks"]
    assert set(checks) == {"sessions", "database", "menus"}
    for check in checks.values():
        assert check["ok"] is True and isinstance(check["ms"], int | float) and check["ms"] >= 0


async def test_no_menus_loaded_is_not_ready(gateway, tmp_path: Path) -> None:
    empty = tmp_path / "menus"
    empty.mkdir()
    client = await gateway(menus_dir=empty, service_codes={})
    response = await client.get("/readyz")
    assert response.status == 503
    body = await response.json()
    assert body["ready"] is False
    menus = body["checks"]["menus"]
    assert (menus["ok"], menus["error"]) == (False, "LookupError") and menus["ms"] < 50
    assert body["checks"]["database"]["ok"] is True
