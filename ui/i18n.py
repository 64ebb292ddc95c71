"""Interface language: English and Simplified Chinese, from one translation table.

Two paths, one table (``ui/translations/<lang>.json``):
- static component text (labels, tab names, buttons, Markdown) is passed as
  ``label("key")``; Gradio's frontend translates it with the table;
- text the server builds at run time (HTML cards, messages, the header) is
  translated on the server with ``text("key", lang)``, where ``lang`` comes
  from ``request_language(request)``.

The language is the browser's (``Accept-Language`` / ``navigator.language``)
unless the visitor picked one with the header switch, which stores it in the
``visionary_lang`` cookie and reloads; ``HEAD_SCRIPT`` makes Gradio's frontend
follow that cookie.  It must run before Gradio's own scripts, which read the
browser's language once, before they would run a ``head=`` script of the app;
so ``ui.page_head.PageHead`` writes it at the top of the page's ``<head>``.
User content is never translated.

``common.*`` keys fill gaps in Gradio's own frontend table (its status
announcer asks for ``common.complete``, which Gradio does not define).
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import gradio as gr
from gradio.i18n import I18nData

LANGUAGES = {"en": "English", "zh": "简体中文"}
DEFAULT_LANGUAGE = "en"
LANG_COOKIE = "visionary_lang"
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"

# Runs first in <head> (ui.page_head.PageHead puts it there) and tells Gradio's frontend the page's language as the server
# picks it (language_from_headers): the header's choice, else the first of the browser's languages that is
# Chinese (any variant) or English; so Gradio never draws its own texts in a third language.
HEAD_SCRIPT = """
<script>
(function () {
  var match = document.cookie.match(/(?:^|; )visionary_lang=(en|zh)/);
  var lang = match ? match[1] : "en";
  var wanted = match ? [] : (navigator.languages || [navigator.language || ""]);
  for (var i = 0; i < wanted.length; i++) {
    var wish = String(wanted[i]).toLowerCase();
    if (wish.indexOf("zh") === 0 || wish.indexOf("en") === 0) { lang = wish.slice(0, 2); break; }
  }
  var tag = lang === "zh" ? "zh-CN" : "en";
  try {
    Object.defineProperty(window.navigator, "language", {get: function () { return tag; }});
    Object.defineProperty(window.navigator, "languages", {get: function () { return [tag]; }});
  } catch (e) {}
  document.documentElement.lang = tag;
})();
</script>
"""

# Sets the cookie for a year and reloads, so every static label is drawn in the new language.
SWITCH_JS = """
(lang) => {
  document.cookie = "visionary_lang=" + lang + "; path=/; max-age=31536000; samesite=lax";
  window.location.reload();
  return lang;
}
"""


@functools.lru_cache(maxsize=None)
def table(lang: str) -> dict[str, str]:
    """The translations of one language (read once; the files ship with the app)."""
    path = TRANSLATIONS_DIR / f"{lang}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def i18n() -> gr.I18n:
    """The table as Gradio wants it: ``HEAD_SCRIPT`` runs its frontend in "en" or "zh-CN"."""
    return gr.I18n(en=table("en"), **{"zh-CN": table("zh")})


def label(key: str) -> I18nData:
    """Static UI text, translated by Gradio's frontend."""
    if key not in table(DEFAULT_LANGUAGE):
        raise KeyError(f"translation key {key!r} is missing from ui/translations/en.json")
    return I18nData(key)


def text(key: str, lang: str, **values) -> str:
    """Run-time UI text, translated on the server (falls back to English)."""
    template = table(lang).get(key) if lang in LANGUAGES else None
    template = template or table(DEFAULT_LANGUAGE)[key]
    return template.format(**values) if values else template


def plural(key: str, count: int, lang: str, **values) -> str:
    """``key_one`` when ``count`` is 1, else ``key``; ``{count}`` is filled in."""
    return text(f"{key}_one" if count == 1 else key, lang, count=count, **values)


@functools.lru_cache(maxsize=None)
def _message_keys() -> dict[str, str]:
    return {english: key for key, english in table(DEFAULT_LANGUAGE).items()
            if key.startswith("error.") and "{" not in english}


@functools.lru_cache(maxsize=None)
def _message_patterns() -> list[tuple[re.Pattern, str]]:
    """``error.*`` texts with ``{name}`` fields, as patterns that read the values back out of the English."""
    patterns = []
    for key, english in table(DEFAULT_LANGUAGE).items():
        if key.startswith("error.") and "{" in english:
            parts = re.split(r"\{(\w+)\}", english)
            regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts))
            patterns.append((re.compile(regex + r"\Z"), key))
    return patterns


def message(english: str, lang: str) -> str:
    """A service's English message (a ``VisionaryError``, a form check, a REST error) in ``lang``: the ``error.*``
    key whose English text it is, with the names and numbers it carries filled in; an unknown message stays."""
    key = _message_keys().get(english)
    if key:
        return text(key, lang)
    for pattern, key in _message_patterns():
        if found := pattern.match(english):
            return text(key, lang, **found.groupdict())
    return english


def language_from_headers(cookie_value: str | None, accept_language: str | None) -> str:
    if cookie_value in LANGUAGES:
        return cookie_value
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANGUAGE


def request_language(request: gr.Request | None) -> str:
    """The language of the person behind a Gradio event."""
    raw = getattr(request, "request", None) if request is not None else None
    if raw is None:
        return DEFAULT_LANGUAGE
    return language_from_headers(raw.cookies.get(LANG_COOKIE), raw.headers.get("accept-language"))


def language_switch() -> gr.Radio:
    """The header's language switch (its value is set from the request on page load)."""
    switch = gr.Radio(choices=[(name, code) for code, name in LANGUAGES.items()], value=DEFAULT_LANGUAGE,
                      label=label("header.language"), show_label=False, container=False, elem_id="language-switch",
                      min_width=160)
    switch.input(None, [switch], [switch], js=SWITCH_JS)
    return switch
