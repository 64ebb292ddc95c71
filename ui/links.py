"""Links between pages, and the page's address: what a person pastes into a chat opens the same page.

A click on a name, card or picture in a list opens a model page, a profile or an image. Lists mark what opens
something with ``data-open="model|user|image"`` and ``data-key`` (model cards of the Models tab,
``data-model-id``, open their model). Tabs say what opening means for them (``Links.destination``), lists and
buttons register as sources, and ``Links.wire`` connects every source to the destinations once all tabs exist.
Opening is read-only: each destination checks on the server what the viewer may see (and shows a not-found page
for what does not exist or is hidden from them).

Every destination has an address on the one page: ``/?model=12`` (``&version=34``), ``/?image=56``,
``/?user=alice``, ``/?tag=castle``, ``/?q=castle``, ``/?gallery=most_liked&by=alice&made_with=12``; a bare tab
is ``/?tab=gallery``. Opening a page writes its address into the hidden ``#page-address`` box; the browser then
puts it in the address bar (``history.pushState``), remembers it as that tab's address (a click on the tab goes
back to it) and reloads on Back/Forward. Loading the page reads the address (``Links.open_address``), so a
link, a bookmark or a reload lands on that page directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Mapping
from urllib.parse import urlencode

import gradio as gr

from . import render
from .i18n import label, request_language, text

LINK_JS = """
element.addEventListener('click', (event) => {
  const link = event.target.closest('[data-open], [data-save], .va-card[data-model-id]');
  if (!link || !element.contains(link)) return;
  event.preventDefault();
  const save = link.dataset.save;  // a card's Save: open the page, then its "Save to collection"
  window.vaCollect = save ? save + '-collect' : null;
  trigger('click', {open: save || link.dataset.open || 'model',
                    key: link.dataset.item || link.dataset.key || link.dataset.modelId});
});
"""

LINK_CSS = """
.va-link { all: unset; cursor: pointer; color: var(--link-text-color, var(--color-accent)); font-weight: 600;
  overflow-wrap: anywhere; }
.va-link:hover, .va-link:focus-visible { text-decoration: underline; }
"""
# A card with its Save button (``saveable``).
SAVEABLE_CSS = """
.va-saveable { position: relative; display: flex; min-width: 0; }
.va-saveable > * { flex: 1; min-width: 0; }
.va-saveable > .va-save { position: absolute; top: 8px; right: 8px; flex: none; width: 32px; height: 32px;
  display: flex; align-items: center; justify-content: center; padding: 0; border: 0; border-radius: 50%;
  cursor: pointer; font-size: 17px; line-height: 1;
  background: rgba(0, 0, 0, .55); color: #fff; opacity: .85; }
.va-saveable > .va-save:hover, .va-saveable > .va-save:focus-visible { opacity: 1;
  outline: 2px solid var(--color-accent); }
"""


def link(kind: str, key: object, label: object, css_class: str = "va-link") -> str:
    """A button that opens a model (``kind="model"``), a user's profile (``"user"``) or an image (``"image"``)."""
    return (f'<button type="button" class="{css_class}" data-open="{render.text(kind)}" '
            f'data-key="{render.text(key)}">{render.text(label)}</button>')


def saveable(card: str, kind: str, key: object, lang: str) -> str:
    """A card with a Save button in its corner (``data-save``, ``data-item``): it opens the card's page with
    "Save to collection" open (the page's ``#<kind>-collect`` picker)."""
    caption = render.text(text("collections.save_to", lang))
    return (f'<div class="va-saveable">{card}<button type="button" class="va-save" data-save="{render.text(kind)}" '
            f'data-item="{render.text(key)}" title="{caption}" aria-label="{caption}">☆</button></div>')


def user_link(username: str) -> str:
    return link("user", username, username)


def event_value(event: gr.EventData | None, name: str):
    """A field of the data a ``trigger(name, {...})`` call sent (None when absent)."""
    data = getattr(event, "_data", None)
    return data.get(name) if isinstance(data, dict) else None


# The browser's side of the address: the page's address bar follows ``#page-address``, a click on a tab goes to
# the last address of that tab (top-level tabs have ``elem_id="tab-<id>"``, their buttons ``tab-<id>-button``),
# and Back/Forward reload the page at that address.
ADDRESS_SETUP_JS = """
() => {
  if (window.vaAddress) return [];
  const tabAddress = {};
  const go = (query) => {
    const wanted = query || location.pathname;
    if ((location.search || location.pathname) !== wanted) history.pushState({}, "", wanted);
  };
  const openPicker = (id) => {  // after a card's Save: the page's "Save to collection", open and in view
    const box = document.getElementById(id);
    if (!box || !box.offsetParent) return;
    const header = box.querySelector("button.label-wrap");
    if (header && !header.classList.contains("open")) header.click();
    box.scrollIntoView({block: "center"});
  };
  window.vaAddress = {
    show(value) {
      if (!value) return;
      const address = JSON.parse(value);
      tabAddress[address.tab] = address.query;
      go(address.query);
      if (window.vaCollect) {
        const id = window.vaCollect;
        window.vaCollect = null;
        setTimeout(() => openPicker(id), 50);
      }
    },
  };
  document.addEventListener("click", (event) => {
    const button = event.target.closest("#main-tabs button[role=tab]");
    if (!button || !button.id.startsWith("tab-") || !button.id.endsWith("-button")) return;
    const tab = button.id.slice(4, -7);
    go(tabAddress[tab] || (tab === "home" ? "" : "?tab=" + tab));
  }, true);
  window.addEventListener("popstate", () => location.reload());
  return [];
}
"""
SHOW_ADDRESS_JS = "(value) => { window.vaAddress && window.vaAddress.show(value); return []; }"

# "Copy link": the page's address to the clipboard (or, where the browser allows no clipboard, e.g. plain HTTP
# on a LAN address, selected in a prompt to copy by hand).
COPY_LINK_JS = """
() => {
  const url = location.href;
  if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(url); }
  else { window.prompt("", url); }
  return [];
}
"""


@dataclass(frozen=True)
class Destination:
    tab_id: str
    param: str  # the address parameter that names what it shows
    show: Callable  # (key: str, request: gr.Request, params: Mapping[str, str]) -> values for ``outputs``
    outputs: tuple
    extras: tuple[str, ...]  # other address parameters it reads (``version`` of a model...)


def address_value(tab_id: str, query: str) -> str:
    """What ``#page-address`` holds: the tab the page is in and its query (``""``: the site's front page)."""
    return json.dumps({"tab": tab_id, "query": query})


def tab_address(tab_id: str) -> str:
    return address_value(tab_id, "" if tab_id == "home" else "?" + urlencode({"tab": tab_id}))


class Links:
    """Collects destinations and sources while the tabs are built; ``wire`` connects them at the end."""

    def __init__(self, tab_ids: tuple[str, ...]):
        """Made before the tabs (the hidden address box goes where it is made); ``wire`` gets the tabs."""
        self.tab_ids = tab_ids
        self.tabs: gr.Tabs | None = None
        self.address = gr.Textbox(visible=False, elem_id="page-address")
        self._destinations: dict[str, Destination] = {}
        self._sources: list[gr.HTML] = []
        self._buttons: list[tuple[gr.Button, str, gr.components.Component]] = []

    def destination(self, kind: str, tab_id: str, show: Callable, outputs: list, param: str | None = None,
                    extras: tuple[str, ...] = ()) -> None:
        """``kind`` opens in ``tab_id``: ``show(key, request, params)`` gives ``outputs``; its address names the key
        with ``param`` (default: ``kind``) and may carry ``extras``."""
        self._destinations[kind] = Destination(tab_id, param or kind, show, tuple(outputs), extras)

    def address_of(self, kind: str, key, params: Mapping[str, str] | None = None) -> str:
        """The ``#page-address`` value of ``kind`` showing ``key`` (with the destination's extra parameters)."""
        destination = self._destinations[kind]
        query = {destination.param: str(key)}
        query |= {name: str(params[name]) for name in destination.extras if (params or {}).get(name) not in (None, "")}
        return address_value(destination.tab_id, "?" + urlencode(query))

    def html(self, css: str = "", js: str = "", **kwargs) -> gr.HTML:
        """A ``gr.HTML`` (in the current layout) whose ``data-open`` elements open things; ``js`` adds behaviour."""
        html = gr.HTML(js_on_load=LINK_JS + js, css_template=render.BASE_CSS + LINK_CSS + SAVEABLE_CSS + css,
                       **kwargs)
        self._sources.append(html)
        return html

    def button(self, button: gr.Button, kind: str, key: gr.components.Component) -> None:
        """``button`` opens the ``kind`` whose key ``key`` holds."""
        self._buttons.append((button, kind, key))

    def outputs(self) -> list:
        """What opening a page updates: the tabs, every destination's components and the address."""
        return [self.tabs, *(c for d in self._destinations.values() for c in d.outputs), self.address]

    def wire(self, blocks: gr.Blocks, tabs: gr.Tabs) -> None:
        self.tabs = tabs
        outputs = self.outputs()
        for html in self._sources:
            html.click(self.open_clicked, None, outputs, api_visibility="private", show_progress="hidden")
        for button, kind, key in self._buttons:
            button.click(self._opener(kind), [key], outputs, api_visibility="private", show_progress="hidden")
        blocks.load(None, None, None, js=ADDRESS_SETUP_JS)
        blocks.load(self.open_address, None, outputs, api_visibility="private", show_progress="hidden")
        self.address.change(None, self.address, None, js=SHOW_ADDRESS_JS)

    def open_clicked(self, event: gr.EventData, request: gr.Request):
        return self.open(str(event_value(event, "open")), event_value(event, "key"), request)

    def _opener(self, kind: str):
        def open_kind(key, request: gr.Request):
            return self.open(kind, key, request)
        return open_kind

    def open_address(self, request: gr.Request) -> list:
        """On page load: the page the address names (a model, an image, a profile, a tag, a search, a gallery
        filter, a tab), or nothing to change for the front page. Public: it shows only what the viewer may see."""
        params = dict(getattr(request, "query_params", None) or {})
        for kind, destination in self._destinations.items():
            if params.get(destination.param):
                return self.open(kind, params[destination.param], request, params)
        tab_id = params.get("tab")
        if tab_id in self.tab_ids:
            return [gr.Tabs(selected=tab_id), *self._skips(), tab_address(tab_id)]
        return [gr.skip(), *self._skips(), gr.skip()]

    def _skips(self, chosen: Destination | None = None, shown: tuple = ()) -> list:
        values = []
        for destination in self._destinations.values():
            values += list(shown) if destination is chosen else [gr.skip()] * len(destination.outputs)
        return values

    def open(self, kind: str, key, request: gr.Request, params: Mapping[str, str] | None = None) -> list:
        """Updates for ``tabs``, every destination and the address: the chosen one shows ``key``, the others stay."""
        chosen = self._destinations.get(kind)
        if chosen is None or key in (None, ""):
            raise gr.Error(text("links.nothing_to_open", request_language(request)))
        params = dict(params or {})
        shown = tuple(chosen.show(str(key), request, params))
        return [gr.Tabs(selected=chosen.tab_id), *self._skips(chosen, shown), self.address_of(kind, key, params)]


def page_tab(tab_id: str, **kwargs) -> gr.Tab:
    """A top-level tab: its id names it in addresses (``?tab=<id>``), its button is ``#tab-<id>-button``."""
    return gr.Tab(label(f"tab.{tab_id}"), id=tab_id, elem_id=f"tab-{tab_id}", **kwargs)


def copy_link_button(elem_id: str) -> gr.Button:
    """A "Copy link" button for the page it is on (the address bar holds that page's address)."""
    button = gr.Button(label("links.copy"), size="sm", scale=0, min_width=120, elem_id=elem_id)
    button.click(None, None, None, js=COPY_LINK_JS)
    return button


NOT_FOUND_CSS = """
.va-not-found { padding: 48px 16px; text-align: center; }
.va-not-found h2 { margin: 0 0 8px; font-size: 1.6em; }
.va-not-found p { color: var(--body-text-color-subdued); }
"""


def not_found_html(kind: str, lang: str) -> str:
    """The page shown for an address whose item does not exist or is hidden from the viewer."""
    return (f'<div class="va-not-found" data-not-found="{render.text(kind)}"><h2>{text("links.not_found_title", lang)}'
            f'</h2><p>{text(f"links.not_found_{kind}", lang)}</p></div>')
