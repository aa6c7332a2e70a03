"""Reload as an operator triggers it on a real ``ussd-gateway serve``: SIGHUP and ``--reload``."""

from __future__ import annotations

import re
import signal
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.support.serve import Server, wait_for

V1_HOME, V2_HOME = "Karibu e-Mrejesho", "Karibu tena e-Mrejesho"


@dataclass
class Caller:
    """A citizen on Africa's Talking: one session, cumulative text."""

    server: Server
    number: str = "+255712000001"
    session_id: str = field(default_factory=lambda: f"ATUid_{uuid.uuid4().hex}")
    entries: list[str] = field(default_factory=list)

    def post(self) -> str:
        form = {
            "sessionId": self.session_id,
            "serviceCode": "*152*00*1#",  # the directory's 1st service: e-Mrejesho
            "phoneNumber": self.number,
            "networkCode": "64004",
            "text": "*".join(self.entries),
        }
        data = urllib.parse.urlencode(form).encode()
        with urllib.request.urlopen(self.server.url, data=data, timeout=10) as response:
            return response.read().decode()

    def send(self, entry: str) -> str:
        self.entries.append(entry)
        return self.post()


def dial_shows(server: Server, text: str) -> Callable[[], bool]:
    return lambda: text in Caller(server, number="+255712999999").post()


def test_sighup_publishes_edited_menus_and_refuses_a_broken_edit(
    serve: Callable[..., Server],
) -> None:
    server = serve()
    early = Caller(server)
    assert V1_HOME in early.post()
    server.edit(f'sw: "{V1_HOME}"', f'sw: "{V2_HOME}"')
    assert V2_HOME not in Caller(server, number="+255712999998").post()  # not before the signal

    server.process.send_signal(signal.SIGHUP)
    wait_for("the new home screen", dial_shows(server, V2_HOME))
    assert re.search(r"reload \(SIGHUP\): .*mrejesho [0-9a-f]+ -> [0-9a-f]+", server.output())
    # the citizen who dialled before the reload is still on v1: language, Kiswahili, home
    early.send("3")
    home = early.send("1")
    assert V1_HOME in home and V2_HOME not in home, home

    server.edit("next: institution}", "next: nowhere}")
    server.process.send_signal(signal.SIGHUP)
    wait_for(
        "the refusal in the log",
        lambda: "mrejesho still on its previous version" in server.output(),
    )
    assert "kind: leads to unknown screen 'nowhere'" in server.output()
    assert dial_shows(server, V2_HOME)()
    assert server.process.poll() is None


def test_serve_reload_publishes_a_saved_file(serve: Callable[..., Server]) -> None:
    server = serve("--reload")
    assert V1_HOME in Caller(server).post()
    server.edit(f'sw: "{V1_HOME}"', f'sw: "{V2_HOME}"')
    wait_for("the new home screen", dial_shows(server, V2_HOME))
    assert re.search(r"reload \(file change\): .*mrejesho [0-9a-f]+ -> ", server.output())

    server.menu.write_text(server.menu.read_text() + "\n  broken: {type: nope}\n")
    wait_for("the refusal in the log", lambda: "unknown screen type 'nope'" in server.output())
    assert dial_shows(server, V2_HOME)()
