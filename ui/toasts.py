"""The page's side of errors: toasts in the page's language, no component hidden behind a bare "Error", and a
banned account's page logged out at once.

Gradio 6 draws a toast's title from its kind ("Error", "Warning", "Info"), in English whatever ``title=`` says,
and the upload components' "Invalid file type: … Only … allowed." in English too; ``HEAD`` (given to
``gr.mount_gradio_app``) watches the page and rewrites both from ``ui/translations``. Its style hides the badge
Gradio lays over a failed event's output components, which would cover what the person typed: the toast says
what went wrong. When a toast says "this account is banned", the script ends the session (the browser's own
``/api/v1/auth/logout``) and presses the hidden ``#session-ended`` button, whose event redraws the header.
"""

from __future__ import annotations

import json

from .i18n import LANGUAGES, table

SESSION_ENDED_ID = "session-ended"
HIDDEN_CLASS = "visionary-hidden"
TITLES = ("Error", "Warning", "Info", "Success")

_STYLE = """
<style>
div.wrap:has(> span.error) { display: none !important; }
.%(hidden)s { display: none !important; }
</style>
"""

_SCRIPT = """
<script>
(function () {
  var WORDS = %(words)s;
  var BANNED = %(banned)s;
  var words = WORDS[(navigator.language || "").toLowerCase().indexOf("zh") === 0 ? "zh" : "en"];
  var sessionEnded = false;

  function setText(node, value) {
    if (node.nodeValue !== value) node.nodeValue = value;
  }
  function endSession() {
    sessionEnded = true;
    fetch("/api/v1/auth/logout", {method: "POST", credentials: "same-origin"}).finally(function () {
      var button = document.getElementById("%(button)s");
      if (button) button.click();
    });
  }
  function translate(toast) {
    var title = toast.querySelector(".toast-title");
    var name = title && title.firstChild && title.firstChild.nodeType === 3 ? title.firstChild.nodeValue.trim() : "";
    if (words.titles[name]) setText(title.firstChild, words.titles[name] + " ");
    toast.querySelectorAll('[data-testid="toast-text"]').forEach(function (box) {
      var said = box.textContent.trim();
      var invalid = said.match(/^Invalid file types?: (.*)\\. Only (.*) allowed\\.$/);
      if (invalid) {
        var translated = words.invalid_file_type.replace("{files}", invalid[1]).replace("{types}", invalid[2]);
        if (said !== translated) box.textContent = translated;
      }
      if (!sessionEnded && BANNED.indexOf(said) >= 0) endSession();
    });
  }
  new MutationObserver(function () {
    document.querySelectorAll(".toast-body").forEach(translate);
  }).observe(document.documentElement, {childList: true, subtree: true, characterData: true});
})();
</script>
"""


def _words(lang: str) -> dict:
    words = table(lang)
    return {"titles": {title: words[f"toast.{title.lower()}"] for title in TITLES},
            "invalid_file_type": words["upload.invalid_file_type"]}


def head() -> str:
    """The ``<head>`` addition: the style and the toast watcher, with both languages' words."""
    words = {lang: _words(lang) for lang in LANGUAGES}
    banned = sorted({table(lang)["error.banned"] for lang in LANGUAGES})
    return (_STYLE % {"hidden": HIDDEN_CLASS}) + _SCRIPT % {
        "words": json.dumps(words, ensure_ascii=False), "banned": json.dumps(banned, ensure_ascii=False),
        "button": SESSION_ENDED_ID}
