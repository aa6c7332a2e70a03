"""One module per ``ussd-gateway`` sub-command; each has ``register(commands)``.

A command's handler takes the parsed arguments and returns the exit status. Adding a command is
adding a module and naming it in ``COMMANDS``.
"""

from __future__ import annotations

from types import ModuleType

from ussd_gateway.cli.commands import (
    at_sandbox,
    audit,
    demo_backend,
    emulate,
    graph,
    journey_tests,
    purge,
    report,
    serve,
    sms,
    submissions,
    validate,
    worker,
)

COMMANDS: tuple[ModuleType, ...] = (
    serve,
    worker,
    validate,
    emulate,
    graph,
    journey_tests,
    submissions,
    sms,
    demo_backend,
    purge,
    report,
    at_sandbox,
    audit,
)
