"""``list``: a long list (a catalogue), split into pages that each fit one phone screen."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from ussd_gateway.domain.gsm import fits_ussd, ussd_length
from ussd_gateway.engine import echo, search
from ussd_gateway.engine.definition import CatalogueItem
from ussd_gateway.engine.echo import ELLIPSIS
from ussd_gateway.engine.messages import choices
from ussd_gateway.engine.screens.base import (
    Edge,
    Go,
    Outcome,
    ParseContext,
    Retry,
    Screen,
    Stay,
    Turn,
)
from ussd_gateway.engine.search import SEARCH_VAR
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


MAX_DATA_ITEMS = 100
"""A list from a variable shows at most this many items: a backend's reply is data, and a
citizen pages through a dozen screens at most."""

DATA_LABEL_LENGTH = 30
"""Default cut of a label that comes from a variable (``label_length``)."""


@dataclass(frozen=True)
class ListScreen(Screen):
    type_name: ClassVar[str] = "list"
    keys: ClassVar[frozenset[str]] = frozenset(
        {"text", "items", "items_from", "label_length", "save_as", "next"}
    )
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
    items_from: str = ""
    """A session variable holding the items (a list of {id, label, name}), set by an earlier
    screen: paged when shown, since only then are they known."""
    label_length: int = DATA_LABEL_LENGTH
    reserve: Mapping[str, int] = field(default_factory=dict)
    """Per language, room kept above every page for a hint (as when the list was parsed)."""

    @classmethod
    def parse(cls, screen_id: str, raw: Mapping[str, Any], ctx: ParseContext) -> ListScreen:
        items_from = ""
        if "items_from" in raw:
            items_from = ctx.variable_name(raw, "items_from")
            if "items" in raw:
                ctx.problem("give either 'items' or 'items_from', not both", raw)
            items: tuple[CatalogueItem, ...] = ()
        else:
            items = _parse_items(raw.get("items"), ctx)
        label_length = raw.get("label_length", DATA_LABEL_LENGTH)
        if not isinstance(label_length, int) or isinstance(label_length, bool) or label_length < 1:
            ctx.problem("'label_length' must be a positive number of characters", raw)
            label_length = DATA_LABEL_LENGTH
        text = ctx.text(raw, "text")
        pages: dict[str, tuple[tuple[int, ...], ...]] = {}
        for language in ctx.languages:
            header = text.render(language, {})
            # a hint replaces the title when both do not fit (see runner.compose)
            reserve = max(0, ctx.reserve.get(language, 0) - len(header) - 1)
            if items_from:  # the items come later: the widest one must fit a page on its own
                lines = [header, f"1. {'W' * label_length}", _footer(ctx, language, more=True)]
                if not fits_ussd("x" * reserve + "\n".join(lines)):
                    ctx.problem(
                        f"{language}: an item of 'label_length' {label_length} does not fit "
                        "a page with the text and the footer",
                        raw,
                    )
                pages[language] = ()
                continue
            pages[language] = paginate(
                header,
                [item.label_in(language, ctx.default_language) for item in items],
                _footer(ctx, language, more=True),
                _footer(ctx, language, more=False),
                reserve,
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
            items_from,
            label_length,
            dict(ctx.reserve),
        )

    # ---- what the citizen sees: the whole list, a list from data, or search results ----------

    def _source(self, hop: HopContext) -> tuple[CatalogueItem, ...]:
        if not self.items_from:
            return self.items
        return data_items(
            hop.session.vars.get(self.items_from),
            self.default_language,
            self.label_length,
        )

    def _term(self, hop: HopContext) -> str | None:
        """The search this list shows results of, if any."""
        searching = hop.session.vars.get(SEARCH_VAR)
        if isinstance(searching, list) and len(searching) == 2 and searching[0] == self.id:
            return str(searching[1])
        return None

    def _view(
        self, hop: HopContext
    ) -> tuple[tuple[CatalogueItem, ...], tuple[tuple[int, ...], ...], str]:
        """The items shown, their pages (indexes into them) and the line above them."""
        language = hop.language
        term = self._term(hop)
        if term is None and not self.items_from:
            pages = (
                self.pages_by_language.get(language)
                or self.pages_by_language[self.default_language]
            )
            return self.items, pages, self.text.render(language, hop.shown)
        items = self._source(hop)
        if term is None:
            header = self.text.render(language, hop.shown)
        else:
            found = search.matches(term, self._labels_and_names(items, language))
            items = tuple(items[i] for i in found)
            header = hop.message("search_results", term=search.shown_term(term))
        navigation = hop.definition.navigation
        footer = partial(navigation.footer, hop.message, back=True, home=True)
        pages = paginate(
            header,
            [item.label_in(language, self.default_language) for item in items],
            footer(more=True),
            footer(more=False),
            max(0, self.reserve.get(language, 0) - len(header) - 1),
        )
        return items, _numbered_within(pages, navigation.reserved), header

    def _labels_and_names(
        self, items: tuple[CatalogueItem, ...], language: str
    ) -> list[tuple[str, str]]:
        return [
            (
                item.label_in(language, self.default_language),
                item.name_in(language, self.default_language),
            )
            for item in items
        ]

    def pages(self, hop: HopContext) -> int:
        return max(1, len(self._view(hop)[1]))

    def targets(self) -> tuple[Edge, ...]:
        return (Edge(self.next, "chosen item"),) if self.next else ()

    def sets(self) -> Mapping[str, str]:
        if not self.save_as:
            return {}
        if self.items_from:  # known only when shown: as long as a label may be
            widest = "W" * self.label_length
            return {
                self.save_as: widest,
                f"{self.save_as}_name": widest,
                f"{self.save_as}_label": widest,
            }
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
        items, pages, header = self._view(hop)
        page = min(hop.session.page, len(pages) - 1) if pages else 0
        lines = [header]
        if pages:
            lines += [
                f"{n}. {items[i].label_in(hop.language, self.default_language)}"
                for n, i in enumerate(pages[page], start=1)
            ]
        else:  # a list from data that came empty
            lines.append(hop.message("no_more"))
        more = page < len(pages) - 1
        if self._term(hop) is None:
            lines.append(hop.footer(more=more))
        else:  # the back key leads from the results to the whole list, even on a start screen
            navigation = hop.definition.navigation
            lines.append(
                navigation.footer(hop.message, more=more, back=True, home=not hop.is_start)
            )
        return "\n".join(line for line in lines if line)

    def handle(self, hop: HopContext, entry: str) -> Outcome:
        items, pages, _ = self._view(hop)
        page = min(hop.session.page, len(pages) - 1) if pages else 0
        if entry == hop.definition.navigation.more:
            return Turn(1) if page < len(pages) - 1 else Retry("no_more")
        if pages and entry.isascii() and entry.isdigit() and 1 <= int(entry) <= len(pages[page]):
            item = items[pages[page][int(entry) - 1]]
            return Go(
                self.next,
                {
                    self.save_as: item.id,
                    f"{self.save_as}_name": item.name_in(hop.language, self.default_language),
                    f"{self.save_as}_label": item.label_in(hop.language, self.default_language),
                },
            )
        if search.is_search(entry):
            source = self._source(hop)
            if search.matches(entry, self._labels_and_names(source, hop.language)):
                return Stay({SEARCH_VAR: [self.id, entry]})
            return Retry("_custom", {"text": self._no_match(hop, entry)})
        return Retry("choose_from", choices(len(pages[page]))) if pages else Retry("invalid_choice")

    def back(self, hop: HopContext) -> Stay | None:
        return Stay({SEARCH_VAR: None}) if self._term(hop) is not None else None

    def _no_match(self, hop: HopContext, term: str) -> str:
        """The no-match hint, the term cut so the hint takes no more room than any hint."""
        room = self.reserve.get(hop.language, 0) - 1
        bare = ussd_length(hop.message("no_match", term=""))[0]
        limit = max(1, min(search.TERM_SHOWN, room - bare - len(ELLIPSIS)))
        return hop.message("no_match", term=search.shown_term(term, limit))


def _numbered_within(
    pages: tuple[tuple[int, ...], ...], reserved: frozenset[str]
) -> tuple[tuple[int, ...], ...]:
    """Pages split where an item's number would be a navigation key (e.g. ``0``-less keys)."""
    limit = next((n for n in range(1, 100) if str(n) in reserved), 100) - 1
    if all(len(page) <= limit for page in pages):
        return pages
    return tuple(page[i : i + limit] for page in pages for i in range(0, len(page), limit))


def shown_label(text: str, length: int) -> str:
    """A label from data as a screen shows it: GSM-7 look-alikes, spaces tidied, and at most
    ``length`` characters, the cut marked."""
    shown = str(echo.shown(" ".join(text.split())))
    if len(shown) <= length:
        return shown
    return shown[: max(1, length - len(ELLIPSIS))].rstrip() + ELLIPSIS


def data_items(value: Any, default_language: str, label_length: int) -> tuple[CatalogueItem, ...]:
    """The items a variable holds, as a screen may show them: a backend's strings are data,
    transliterated and cut like what a citizen types; anything without id and label is left out.
    """
    if not isinstance(value, list):
        return ()
    items: list[CatalogueItem] = []
    for entry in value[:MAX_DATA_ITEMS]:
        parsed = parse_catalogue_item(entry, default_language)
        if parsed is None:
            continue

        def cut(texts: Mapping[str, str]) -> dict[str, str]:
            return {lang: shown_label(t, label_length) for lang, t in texts.items()}

        items.append(CatalogueItem(parsed.id[:64], cut(parsed.label), cut(parsed.name)))
    return tuple(items)


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
