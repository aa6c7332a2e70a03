"""Who an admin request acts as, and which services that lets it touch.

``ADMIN_TOKEN`` acts as ``admin`` over everything; an operator's token (``config.operators``)
acts as that operator over the services whose menu file names one of its institutions as
``owner.institution``: the same file that says who answers for a service says who runs it.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ussd_gateway.config.operators import OperatorConfig, token_digest
from ussd_gateway.engine.definition import MenuDefinition


def institution_key(name: str) -> str:
    """An institution's name compared loosely: case and spacing do not matter."""
    return " ".join(name.split()).casefold()


@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    institutions: frozenset[str] = frozenset()
    """``institution_key`` of each institution whose services it may touch."""
    admin: bool = False
    """The global ``ADMIN_TOKEN``: every service, every admin action."""

    def owns(self, definition: MenuDefinition | None) -> bool:
        if self.admin:
            return True
        if definition is None:
            return False
        return institution_key(str(definition.owner.get("institution") or "")) in self.institutions

    def services(self, definitions: Mapping[str, MenuDefinition]) -> list[str]:
        """The services (and directories) among ``definitions`` it may touch, sorted."""
        return sorted(name for name, d in definitions.items() if self.owns(d))


ADMIN = Operator("admin", admin=True)


def identify(
    given: str, admin_token: str | None, operators: Iterable[OperatorConfig]
) -> Operator | None:
    """The operator a bearer token stands for; None for a wrong one.

    Compared in constant time against every configured digest (a few): which one matched, or
    how close a wrong guess came, cannot be timed.
    """
    if not given:
        return None
    if admin_token and hmac.compare_digest(given.encode(), admin_token.encode()):
        return ADMIN
    digest = token_digest(given)
    found: OperatorConfig | None = None
    for config in operators:
        if config.digest and hmac.compare_digest(digest, config.digest) and found is None:
            found = config
    if found is None:
        return None
    return Operator(found.name, frozenset(institution_key(i) for i in found.institutions))
