"""Operators: institutions' own admin tokens, each scoped to the services it owns.

``ADMIN_TOKEN`` opens every admin action. An operator's token opens only the actions on the
services whose menu file names one of its ``institutions`` as ``owner.institution``. The file
holds only a SHA-256 of each token, so gateway.yaml can live in a repository; the token itself
may instead come from ``OPERATOR_<NAME>_TOKEN``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from ussd_gateway.config.kinds import Kind
from ussd_gateway.config.loader import FAILED, Reader, join, setting


def _sha256_hex(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", value.strip()):
        raise ValueError(value)
    return value.strip().lower()


SHA256_HEX = Kind("64 hexadecimal digits (sha256sum of the token)", _sha256_hex)


def token_digest(token: str) -> str:
    """The SHA-256 a token is known by (hex)."""
    return hashlib.sha256(token.encode()).hexdigest()


def env_name(name: str) -> str:
    """``ega`` → ``OPERATOR_EGA_TOKEN``; anything not a letter or digit becomes ``_``."""
    return "OPERATOR_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper() + "_TOKEN"


@dataclass(frozen=True)
class OperatorConfig:
    """One institution's operators: what they own and the token they present."""

    name: str = field(metadata=setting(file=False))
    """As the audit log shows who acted."""
    institutions: tuple[str, ...] = ()
    """``owner.institution`` values (as in the menu files) whose services this token opens."""
    token_sha256: Annotated[str, SHA256_HEX] | None = None
    token: str | None = field(default=None, repr=False, metadata=setting(file=False))
    """From ``OPERATOR_<NAME>_TOKEN``; wins over ``token_sha256``."""

    @property
    def digest(self) -> str | None:
        """The SHA-256 of the token that opens this operator's actions (None: no token)."""
        return token_digest(self.token) if self.token else self.token_sha256


def read_operators(reader: Reader, raw: Any, path: str) -> Any:
    """``operators:``: each entry an OperatorConfig, with its token from the environment."""
    if not isinstance(raw, Mapping):
        return reader.wrong(path, "a mapping of operator names to operators", raw)
    operators: dict[str, OperatorConfig] = {}
    for name, entry in raw.items():
        given = {"name": str(name), "token": reader.env_value(env_name(str(name)))}
        operators[str(name)] = reader.section(OperatorConfig, entry, join(path, name), given=given)
    return FAILED if any(o is FAILED for o in operators.values()) else operators
