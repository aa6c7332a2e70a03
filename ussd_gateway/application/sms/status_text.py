"""What a citizen is told about a submission's status by SMS: the same label, date and note as
the USSD tracking screen (the service's ``lookup`` screen ``statuses``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ussd_gateway.domain.submissions import SubmissionView
from ussd_gateway.engine.definition import MenuDefinition
from ussd_gateway.engine.screens.lookup import GATEWAY_LABELS, LookupScreen, note_in


def status_label(definition: MenuDefinition | None, status: str, language: str) -> str:
    """The service's own words for ``status`` in ``language``; the status itself otherwise."""
    if definition is not None:
        for screen in definition.screens.values():
            if isinstance(screen, LookupScreen) and status in screen.statuses:
                return screen.statuses[status].render(language, {})
    if status in GATEWAY_LABELS:
        return GATEWAY_LABELS[status].render(language, {})
    return status.replace("_", " ")


def status_fields(
    view: SubmissionView, language: str, definitions: Mapping[str, MenuDefinition]
) -> dict[str, Any]:
    """``reference, date, label, note`` for the configured texts (note with its separator)."""
    definition = definitions.get(view.service)
    languages = definition.languages if definition is not None else (language,)
    note = note_in(view.status_note, language, tuple(languages))
    return {
        "reference": view.reference,
        "date": view.created_at.strftime("%d/%m/%Y"),
        "label": status_label(definition, view.status, language),
        "note": f". {note}" if note else "",
    }
