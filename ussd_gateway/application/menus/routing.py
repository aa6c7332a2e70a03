"""Which service a dialled code reaches, including extended codes such as ``*152*00*1#``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ussd_gateway.config.settings import normalise_code
from ussd_gateway.engine.definition import DefinitionError, MenuDefinition
from ussd_gateway.engine.lint import check_codes

if TYPE_CHECKING:
    from ussd_gateway.application.menus.loading import Disabled


@dataclass(frozen=True, slots=True)
class Route:
    definition: MenuDefinition | None
    """None when the code's service is disabled (its file is broken): ``unavailable`` names it."""
    entries: tuple[str, ...]
    """Entries carried by an extended code, replayed as if the citizen had typed them."""
    unavailable: str = ""


class ServiceRouter:
    """Maps short codes to services; the longest configured code that prefixes the dial wins."""

    def __init__(
        self,
        codes: Mapping[str, str],
        definitions: Mapping[str, MenuDefinition],
        disabled: Mapping[str, Disabled] | None = None,
        kept: Mapping[str, Disabled] | None = None,
        fallback: Mapping[str, Disabled] | None = None,
    ) -> None:
        self.definitions = dict(definitions)
        self.disabled: dict[str, Disabled] = dict(disabled or {})
        """Services not served because their file is broken: their codes answer unavailable."""
        self.kept: dict[str, Disabled] = dict(kept or {})
        """Services whose file broke on a reload: they serve the version they had."""
        self.fallback: dict[str, Disabled] = dict(fallback or {})
        """Directories whose file is broken, served as a plain list of the loaded services."""
        clashes = check_codes(definitions, codes)
        if clashes:  # the validator's rule, enforced at start too
            raise DefinitionError(clashes)
        table: dict[str, str] = {}
        for definition in definitions.values():
            for code in definition.codes:
                table[normalise_code(code)] = definition.service
        table.update({normalise_code(k): v for k, v in codes.items()})
        unknown = sorted(
            {s for s in table.values() if s not in self.definitions and s not in self.disabled}
        )
        if unknown:
            raise ValueError(f"short codes point at unknown services: {', '.join(unknown)}")
        self._codes = {tuple(code.strip("*#").split("*")): svc for code, svc in table.items()}

    @property
    def codes(self) -> dict[str, str]:
        return {"*" + "*".join(parts) + "#": svc for parts, svc in self._codes.items()}

    def resolve(self, service_code: str) -> Route | None:
        parts = tuple(normalise_code(service_code).strip("*#").split("*"))
        for cut in range(len(parts), 0, -1):
            service = self._codes.get(parts[:cut])
            if service is not None:
                if service not in self.definitions:
                    return Route(None, parts[cut:], service)
                return Route(self.definitions[service], parts[cut:])
        return None
