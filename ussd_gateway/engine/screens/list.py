"""``list``: a long list (a catalogue), split into pages that each fit one phone screen."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ussd_gateway.domain.gsm import fits_ussd
from ussd_gateway.engine.definition import CatalogueItem
from ussd_gateway.engine.messages import choices
from ussd_gateway.engine.screens.base import Edge, Go, Outcome, ParseContext, Retry, Screen, Turn
from ussd_gateway.engine.text import LocalizedText

if TYPE_CHECKING:
    from ussd_gateway.engine.runner import HopContext


def _footer(ctx: ParseContext, language: str, *, more: bool) -> str:
    """The widest footer a page can show (not the start screen: back and home included)."""
    return ctx.navigation.footer(
        lambda key: ctx.messages[key].render(language, {}), more=more, back=True, home=True
    )


def paginate(
    header: str,
    labels: list[str],
    footer_more: str,
    footer_last: str,
    reserve: int,
    *,
    numbered: bool = True,
) -> tuple[tuple[int, ...], ...]:
    """Greedy pages of item indexes so that hint + header + items + footer fit one screen.

    ``numbered``: each page numbers its items from 1; off, the labels are whole lines already
    (a directory numbers its entries across pages)."""
    pages: list[tuple[int, ...]] = []
    i = 0
    while i < len(labels):
        page = [i]  # an item too long for any page still gets one; validation reports it
        i += 1
        while i < len(labels):
            candidate = [*page, i]
            footer = footer_last if i == len(labels) - 1 else footer_more
            if numbered:
                items = [f"{n}. {labels[j]}" for n, j in enumerate(candidate, 1)]
            else:
                items = [labels[j] for j in candidate]
            lines = [header, *items, footer]
            if not fits_ussd("x" * reserve + "\n".join(lines)):
                break
            page = candidate
            i += 1
        pages.append(tuple(page))
    return tuple(pages)


@dataclass(frozen=True)
class ListScreen(Screen):
    type_name: ClassVar[str] = "list"
    keys: ClassVar[frozenset[str]] = frozenset({"text", "items", "save_as", "next"})
    example: ClassVar[str] = """\
institution:
  type: list
  text: {sw: "Chagua taasisi", en: "Choose institution"}
  items: institutions        # a catalogue from config/, or an inline list of {id, label}
  save_as: institution       # sets institution (id), institution_name, institution_label
  next: body"""

    text: LocalizedText
    items: tuple[CatalogueItem, ...]
    save_as: str
    next: str
    pages_by_language: Mapping[str, tuple[tuple[int, ...], ...]]
    default_language: str

    @classmethod
    def parse(cls, screen_id: str, raw: Mapping[str, Any], ctx: ParseContext) -> ListScreen:
        items = _parse_items(raw.get("items"), ctx)
        text = ctx.text(raw, "text")
        pages: dict[str, tuple[tuple[int, ...], ...]] = {}
        for language in ctx.languages:
            header = text.render(language, {})
            labels = [item.label_in(language, ctx.default_language) for item in items]
            pages[language] = paginate(
                header,
                labels,
                _footer(ctx, language, more=True),
                _footer(ctx, language, more=False),
                # a hint replaces the title when both do not fit (see runner.compose)
                max(0, ctx.reserve.get(language, 0) - len(header) - 1),
            )
            reserved = ctx.navigation.reserved
            if any(
                str(n) in reserved for n in range(1, 1 + max(map(len, pages[language]), default=0))
            ):
                ctx.problem("a list page has so many items that a number is a navigation key", raw)
        return cls(
            screen_id,
            ctx.line,
            text,
            items,
            ctx.variable_name(raw, "save_as"),
            ctx.screen_ref(raw, "next"),
            pages,
            ctx.default_language,
        )

    def _pages(self, language: str) -> tuple[tuple[int, ...], ...]:
        return self.pages_by_language.get(language) or self.pages_by_language[self.default_language]

    def pages(self, hop: HopContext) -> int:
        return len(self._pages(hop.language))

    def targets(self) -> tuple[Edge, ...]:
        return (Edge(self.next, "chosen item"),) if self.next else ()

    def sets(self) -> Mapping[str, str]:
        if not self.save_as:
            return {}
        if not self.items:
            return {self.save_as: "", f"{self.save_as}_name": "", f"{self.save_as}_label": ""}
        longest_name = max(
            (name for item in self.items for name in item.name.values()), key=len, default=""
        )
        longest_id = max((item.id for item in self.items), key=len)
        longest_label = max(
            (label for item in self.items for label in item.label.values()), key=len, default=""
        )
        return {
            self.save_as: longest_id,
            f"{self.save_as}_name": longest_name,
            f"{self.save_as}_label": longest_label,
        }

    def texts(self) -> tuple[LocalizedText, ...]:
        return (self.text,)

    def render(self, hop: HopContext) -> str:
        pages = self._pages(hop.language)
        page = min(hop.session.page, len(pages) - 1) if pages else 0
        lines = [self.text.render(hop.language, hop.shown)]
        if pages:
            lines += [
                f"{n}. {self.items[i].label_in(hop.language, self.default_language)}"
                for n, i in enumerate(pages[page], start=1)
            ]
        lines.append(hop.footer(more=page < len(pages) - 1))
        return "\n".join(line for line in lines if line)

    def handle(self, hop: HopContext, entry: str) -> Outcome:
        pages = self._pages(hop.language)
        page = min(hop.session.page, len(pages) - 1) if pages else 0
        if entry == hop.definition.navigation.more:
            return Turn(1) if page < len(pages) - 1 else Retry("no_more")
        if pages and entry.isascii() and entry.isdigit() and 1 <= int(entry) <= len(pages[page]):
            item = self.items[pages[page][int(entry) - 1]]
            return Go(
                self.next,
                {
                    self.save_as: item.id,
                    f"{self.save_as}_name": item.name_in(hop.language, self.default_language),
                    f"{self.save_as}_label": item.label_in(hop.language, self.default_language),
                },
            )
        return Retry("choose_from", choices(len(pages[page]))) if pages else Retry("invalid_choice")


def _parse_items(value: Any, ctx: ParseContext) -> tuple[CatalogueItem, ...]:
    if isinstance(value, str):
        catalogue = ctx.catalogues.get(value)
        if catalogue is None:
            ctx.problem(f"'items' names unknown catalogue '{value}'")
            return ()
        return catalogue.items
    if not isinstance(value, list) or not value:
        ctx.problem("'items' must name a catalogue or be a non-empty list of {id, label}")
        return ()
    items: list[CatalogueItem] = []
    for entry in value:
        parsed = parse_catalogue_item(entry, ctx.default_language)
        if parsed is None:
            ctx.problem("each item needs 'id' and 'label'", entry)
        else:
            items.append(parsed)
    return tuple(items)


def parse_catalogue_item(entry: Any, default_language: str) -> CatalogueItem | None:
    if not isinstance(entry, Mapping) or "id" not in entry or "label" not in entry:
        return None

    def per_language(value: Any) -> dict[str, str]:
        if isinstance(value, Mapping):
            return {str(k): str(v) for k, v in value.items()}
        return {default_language: str(value)}

    label = per_language(entry["label"])
    name = per_language(entry.get("name", entry["label"]))
    return CatalogueItem(str(entry["id"]), label, name)
