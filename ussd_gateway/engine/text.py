"""Per-language texts with sandboxed templates, compiled once when a menu loads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ussd_gateway.domain.templates import TEMPLATES, is_template


@dataclass(frozen=True, slots=True)
class Template:
    """One piece of text in one language: plain strings skip Jinja entirely (the common case)."""

    source: str
    compiled: Any = None

    @classmethod
    def compile(cls, source: str) -> Template:
        if not is_template(source):
            return cls(source)
        return cls(source, TEMPLATES.from_string(source))

    def render(self, variables: Mapping[str, Any]) -> str:
        if self.compiled is None:
            return self.source
        try:
            return str(self.compiled.render(variables)).strip()
        except Exception:  # any template failure shows the author's text, never a crash
            return self.source


@dataclass(frozen=True, slots=True)
class LocalizedText:
    """Text given per language; a missing language falls back to the service's default."""

    by_language: Mapping[str, Template]
    default: str

    @classmethod
    def compile(cls, value: Mapping[str, str], default: str) -> LocalizedText:
        return cls({lang: Template.compile(str(text)) for lang, text in value.items()}, default)

    @classmethod
    def plain(cls, text: str, default: str) -> LocalizedText:
        return cls({default: Template.compile(text)}, default)

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(self.by_language)

    def render(self, language: str, variables: Mapping[str, Any]) -> str:
        template = self.by_language.get(language) or self.by_language[self.default]
        return template.render(variables)

    def sources(self) -> Mapping[str, str]:
        return {lang: t.source for lang, t in self.by_language.items()}
