"""Links between tabs: a click on a name, card or picture in a list opens a model page, a profile or an image.

Lists mark what opens something with ``data-open="model|user|image"`` and ``data-key`` (model cards of
the Models tab, ``data-model-id``, open their model).  Tabs say what opening means for them
(``Links.destination``), lists and buttons register as sources, and ``Links.wire`` connects every source
to the destinations once all tabs exist.  Opening is read-only: each destination checks on the server
what the viewer may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import gradio as gr

from . import render
from .i18n import request_language, text

LINK_JS = """
element.addEventListener('click', (event) => {
  const link = event.target.closest('[data-open], [data-model-id]');
  if (!link || !element.contains(link)) return;
  event.preventDefault();
  trigger('click', {open: link.dataset.open || 'model', key: link.dataset.key || link.dataset.modelId});
});
"""

LINK_CSS = """
.va-link { all: unset; cursor: pointer; color: var(--link-text-color, var(--color-accent)); font-weight: 600;
  overflow-wrap: anywhere; }
.va-link:hover, .va-link:focus-visible { text-decoration: underline; }
"""


def link(kind: str, key: object, label: object, css_class: str = "va-link") -> str:
    """A button that opens a model (``kind="model"``), a user's profile (``"user"``) or an image (``"image"``)."""
    return (f'<button type="button" class="{css_class}" data-open="{render.text(kind)}" '
            f'data-key="{render.text(key)}">{render.text(label)}</button>')


def user_link(username: str) -> str:
    return link("user", username, username)


def event_value(event: gr.EventData | None, name: str):
    """A field of the data a ``trigger(name, {...})`` call sent (None when absent)."""
    data = getattr(event, "_data", None)
    return data.get(name) if isinstance(data, dict) else None


@dataclass(frozen=True)
class Destination:
    tab_id: str
    show: Callable  # (key: str, request: gr.Request) -> values for ``outputs``
    outputs: tuple


class Links:
    """Collects destinations and sources while the tabs are built; ``wire`` connects them at the end."""

    def __init__(self, tabs: gr.Tabs):
        self.tabs = tabs
        self._destinations: dict[str, Destination] = {}
        self._sources: list[gr.HTML] = []
        self._buttons: list[tuple[gr.Button, str, gr.components.Component]] = []

    def destination(self, kind: str, tab_id: str, show: Callable, outputs: list) -> None:
        self._destinations[kind] = Destination(tab_id, show, tuple(outputs))

    def html(self, css: str = "", js: str = "", **kwargs) -> gr.HTML:
        """A ``gr.HTML`` (in the current layout) whose ``data-open`` elements open things; ``js`` adds behaviour."""
        html = gr.HTML(js_on_load=LINK_JS + js, css_template=render.BASE_CSS + LINK_CSS + css, **kwargs)
        self._sources.append(html)
        return html

    def button(self, button: gr.Button, kind: str, key: gr.components.Component) -> None:
        """``button`` opens the ``kind`` whose key ``key`` holds."""
        self._buttons.append((button, kind, key))

    def _outputs(self) -> list:
        return [self.tabs, *(c for d in self._destinations.values() for c in d.outputs)]

    def wire(self) -> None:
        outputs = self._outputs()
        for html in self._sources:
            html.click(self.open_clicked, None, outputs, api_visibility="private", show_progress="hidden")
        for button, kind, key in self._buttons:
            button.click(self._opener(kind), [key], outputs, api_visibility="private", show_progress="hidden")

    def open_clicked(self, event: gr.EventData, request: gr.Request):
        return self.open(str(event_value(event, "open")), event_value(event, "key"), request)

    def _opener(self, kind: str):
        def open_kind(key, request: gr.Request):
            return self.open(kind, key, request)
        return open_kind

    def open(self, kind: str, key, request: gr.Request) -> list:
        """Updates for ``tabs`` and every destination: the chosen one shows ``key``, the others stay."""
        chosen = self._destinations.get(kind)
        if chosen is None or key in (None, ""):
            raise gr.Error(text("links.nothing_to_open", request_language(request)))
        values = [gr.Tabs(selected=chosen.tab_id)]
        for destination in self._destinations.values():
            if destination is chosen:
                values += list(destination.show(str(key), request))
            else:
                values += [gr.skip()] * len(destination.outputs)
        return values
