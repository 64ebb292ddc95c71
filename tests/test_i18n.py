"""Interface language: the translation table against itself, against the UI it translates, and in Chromium.

- the English and Chinese tables have the same keys, no empty text and the same ``{placeholders}``;
- every key the UI code names literally is in the table;
- built in-process, every component's static text (labels, info, placeholders, Markdown, buttons, tab names,
  choices' display names) is a translation key, apart from a short list of names that are never translated;
- in headless Chromium with a Chinese and an English browser, every tab shows its own language and no raw
  key, and the header's switch changes the language (it outlives a reload).
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest
from gradio.i18n import I18nData
from playwright.sync_api import expect

from core.config import load_config
from core.generation.hires import BUILT_IN_UPSCALERS
from core.generation.samplers import sampler_names
from core.library.base_models import BASE_MODELS, OTHER_BASE
from tests.browser import chromium, screenshot
from ui.home_tab import load_starters
from ui.i18n import LANG_COOKIE, LANGUAGES, language_from_headers, message, plural, table, text

UI_DIR = Path(__file__).resolve().parent.parent / "ui"
TIMEOUT = 30_000
I18N_PREFIX = "__i18n__"
TEXT_PROPS = ("label", "info", "placeholder")
VALUE_TEXT_TYPES = ("markdown", "button", "html")


def never_translated() -> set[str]:
    """Shown as they are in every language: the product's name, the languages' own names, and names that are
    values (samplers, upscalers, base model families, Hugging Face repositories)."""
    names = {"# Visionary Art", *LANGUAGES.values(), *sampler_names(), *BUILT_IN_UPSCALERS}
    names |= {base for base in BASE_MODELS if base != OTHER_BASE}
    return names | {starter["repo_id"] for starter in load_starters()}


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


# --------------------------------------------------------------------------- the table
def test_both_tables_have_the_same_keys_no_empty_text_and_the_same_placeholders():
    en, zh = table("en"), table("zh")
    assert sorted(en) == sorted(zh), {"only in en": sorted(en.keys() - zh.keys()),
                                      "only in zh": sorted(zh.keys() - en.keys())}
    assert not [key for key in en if not en[key].strip() or not zh[key].strip()]
    assert not {key: (en[key], zh[key]) for key in en if placeholders(en[key]) != placeholders(zh[key])}


def test_plural_forms_and_messages_are_well_formed():
    en = table("en")
    assert not [key for key in en if key.endswith("_one") and key[:-4] not in en]
    messages = [value for key, value in en.items() if key.startswith("error.")]
    assert len(messages) == len(set(messages)), "two error.* keys share one English message"


def test_every_literal_key_in_the_ui_code_is_in_the_table():
    calls = re.compile(r"""\b(?:label|text|plural)\(\s*["']([a-z_]+\.[a-z0-9_.]+)["']""")
    named = {key for path in UI_DIR.glob("*.py") for key in calls.findall(path.read_text(encoding="utf-8"))}
    assert named, "no key found: the pattern no longer matches the code"
    assert not sorted(named - table("en").keys())


def test_server_side_texts_messages_and_plurals():
    assert text("header.logged_in_as", "zh", name="alice") == "已登录：**alice**"
    assert text("header.logged_in_as", "fr", name="alice") == "Logged in as **alice**"
    assert plural("pager.models", 1, "en", page=1, pages=1) == "Page 1 of 1 · 1 model"
    assert plural("pager.models", 97, "zh", page=2, pages=5) == "第 2/5 页 · 共 97 个模型"
    assert message("log in to generate images", "zh") == "登录后才能生成图片"
    assert message("log in to generate images", "en") == "log in to generate images"
    assert message("no user named 'bob'", "zh") == "no user named 'bob'"  # one the table does not know stays
    # A message with a number in it: the table's template reads the number back out of the English.
    assert message("too many failed logins; try again in 37 seconds", "zh") == "登录失败次数过多；请在 37 秒后重试"


def test_language_from_the_cookie_or_the_browser():
    assert language_from_headers(None, "zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert language_from_headers(None, "en-US,en;q=0.9,zh;q=0.8") == "en"
    assert language_from_headers("en", "zh-CN") == "en"
    assert language_from_headers("zh", None) == "zh"
    assert language_from_headers("xx", "fr-FR,de;q=0.5") == "en"


# --------------------------------------------------------------------------- the UI against the table
@pytest.fixture(scope="module")
def ui_config(tmp_path_factory) -> dict:
    """The Blocks' config, built in-process on a fresh instance."""
    import visionary_app
    from ui.app import build_ui

    home = tmp_path_factory.mktemp("i18n-ui")
    config = load_config(["--db", str(home / "v.db"), "--models-dir", str(home / "models"),
                          "--outputs-dir", str(home / "outputs")])
    context = visionary_app.build_context(config)
    try:
        yield build_ui(context).get_config_file()
    finally:
        context.close()


def static_texts(component: dict) -> list[tuple[str, object]]:
    """(where, text) for what a component shows before any event runs."""
    props = component.get("props", {})
    texts = [(name, props[name]) for name in TEXT_PROPS if props.get(name) not in (None, "")]
    if component["type"] in VALUE_TEXT_TYPES and props.get("value") not in (None, ""):
        texts.append(("value", props["value"]))
    for choice in props.get("choices") or []:
        texts.append(("choice", choice[0] if isinstance(choice, (list, tuple)) else choice))
    return texts


def translation_key(value: object) -> str | None:
    """The key of an ``I18nData`` (or its serialized ``__i18n__{...}`` form), else None."""
    if isinstance(value, I18nData):
        return value.key
    if isinstance(value, str) and value.startswith(I18N_PREFIX):
        return json.loads(value[len(I18N_PREFIX):]).get("key")
    return None


def test_every_static_ui_text_is_a_translation_key(ui_config):
    allowed = never_translated()
    untranslated, unknown = [], []
    for component in ui_config["components"]:
        where = f"{component['type']} #{component.get('props', {}).get('elem_id')}"
        for prop, value in static_texts(component):
            key = translation_key(value)
            if key is None and value not in allowed:
                untranslated.append(f"{where} {prop}: {value!r}")
            elif key is not None and key not in table("en"):
                unknown.append(f"{where} {prop}: {key}")
    assert not untranslated, "hard-coded UI text (use ui.i18n.label):\n" + "\n".join(untranslated)
    assert not unknown, "keys missing from ui/translations:\n" + "\n".join(unknown)


def test_tables_filled_on_load_have_no_words_before_it(ui_config):
    """Gradio's frontend does not translate Dataframe headers: the server sets them on page load."""
    headers = [c["props"].get("headers") or [] for c in ui_config["components"] if c["type"] == "dataframe"]
    assert headers and not [h for hs in headers for h in hs if re.search(r"[^\W\d_]", str(h))]


def test_the_ui_uses_a_fair_share_of_the_table(ui_config):
    """Static keys the config names are in the table (a sanity check that the walk sees the UI)."""
    used = {translation_key(value) for c in ui_config["components"] for _, value in static_texts(c)} - {None}
    assert {"tab.home", "tab.generate", "generate.prompt", "generate.cfg_scale", "tab.account"} <= used


# --------------------------------------------------------------------------- in Chromium
# Each tab: its id, and an element whose text shows the tab is drawn (server-built texts included).
TABS = [
    ("home", "#home-welcome", "home.start_here"),
    ("generate", "#generate-prompt", "generate.prompt"),
    ("models", "#models-type", "models.type"),
    ("upload", "#upload-mode", "upload.new_model"),
    ("gallery", "#gallery-query", "gallery.search_prompts"),
    ("feed", "#feed-list", "feed.nothing_yet"),
    ("search", "#search-models-results", "search.start"),
    ("pnginfo", "#pnginfo-send", "pnginfo.send"),
    ("profile", "#profile-mine", "profile.mine"),
    ("admin", "#admin-stats", "admin.users"),
    ("account", "#logout-button", "account.log_out"),  # the admin is logged in: the tab shows their profile
]
CHINESE_LABELS = ["提示词", "反向提示词", "采样器", "迭代步数", "提示词引导系数（CFG）", "随机种子"]


def tab_button(page, tab_id: str, lang: str):
    return page.get_by_role("tab", name=text(f"tab.{tab_id}", lang), exact=True)


def admin_page(browser, server, locale: str):
    context = browser.new_context(locale=locale, viewport={"width": 1400, "height": 900})
    context.add_cookies([{"name": "visionary_session", "value": server.admin_token, "url": server.url,
                          "httpOnly": True}])
    page = context.new_page()
    page.goto(server.url)
    return context, page


def raw_keys_in(page) -> list[str]:
    body = page.inner_text("body")
    return [key for key in table("en") if key in body] + ([I18N_PREFIX] if I18N_PREFIX in body else [])


def visit_every_tab(page, lang: str) -> None:
    expect(page.locator("#whoami")).to_contain_text(text("header.logged_in_as_admin", lang, name="site_admin")
                                                    .replace("*", ""), timeout=TIMEOUT)
    for tab_id, selector, key in TABS:
        tab_button(page, tab_id, lang).click()
        expect(tab_button(page, tab_id, lang)).to_have_attribute("aria-selected", "true", timeout=TIMEOUT)
        expect(page.locator(selector).first).to_contain_text(text(key, lang), timeout=TIMEOUT)
        screenshot(page, f"i18n-{lang}-{tab_id}")
        assert not raw_keys_in(page), (tab_id, raw_keys_in(page))


@pytest.mark.parametrize("locale, lang", [("zh-CN", "zh"), ("en-US", "en")])
def test_every_tab_in_the_browsers_language(server, locale, lang):
    with chromium() as browser:
        context, page = admin_page(browser, server, locale)
        visit_every_tab(page, lang)
        if lang == "zh":
            tab_button(page, "generate", lang).click()
            for name in CHINESE_LABELS:
                expect(page.locator("#generate-prompt, #generate-negative-prompt, #generate-sampler, "
                                    "#generate-steps, #generate-cfg-scale, #generate-seed")
                       .get_by_text(name, exact=True).first).to_be_visible(timeout=TIMEOUT)
        context.close()


def test_the_header_switch_changes_the_language(server):
    with chromium() as browser:
        context, page = admin_page(browser, server, "en-US")
        expect(tab_button(page, "home", "en")).to_be_visible(timeout=TIMEOUT)
        page.locator("#language-switch").get_by_text(LANGUAGES["zh"], exact=True).click()
        expect(tab_button(page, "home", "zh")).to_be_visible(timeout=TIMEOUT)
        expect(page.locator("#whoami")).to_contain_text("已登录", timeout=TIMEOUT)
        assert {"name": LANG_COOKIE, "value": "zh"}.items() <= next(
            c for c in context.cookies() if c["name"] == LANG_COOKIE).items()
        page.reload()
        expect(tab_button(page, "models", "zh")).to_be_visible(timeout=TIMEOUT)
        expect(page.locator("#language-switch input[value=zh]")).to_be_checked(timeout=TIMEOUT)
        screenshot(page, "i18n-switched-to-zh")
        page.locator("#language-switch").get_by_text(LANGUAGES["en"], exact=True).click()
        expect(tab_button(page, "home", "en")).to_be_visible(timeout=TIMEOUT)
        expect(page.locator("#whoami")).to_contain_text("Logged in as", timeout=TIMEOUT)
        context.close()


def test_a_service_message_in_chinese(server):
    """The REST route answers in English (its API contract); the page shows the table's Chinese for it."""
    with chromium() as browser:
        page = browser.new_context(locale="zh-CN").new_page()
        page.goto(server.url)
        tab_button(page, "account", "zh").click()
        page.locator("#login-username textarea, #login-username input").first.fill("site_admin")
        page.locator("#login-password input").fill("not the password")
        page.locator("#login-button").click()
        expect(page.locator("#account-status")).to_contain_text(message("wrong username or password", "zh"),
                                                                timeout=TIMEOUT)
        expect(page.locator(".toast-body").first).to_contain_text("用户名或密码错误", timeout=TIMEOUT)


@pytest.mark.parametrize("locale, lang", [("zh-TW", "zh"), ("fr-FR", "en")])
def test_other_browser_languages_get_one_of_the_two(server, locale, lang):
    """Traditional Chinese reads Simplified; any other language gets English, Gradio's own texts included."""
    with chromium() as browser:
        page = browser.new_context(locale=locale).new_page()
        page.goto(server.url)
        expect(page.locator("#whoami")).to_contain_text(text("header.not_logged_in", lang).split("**")[0],
                                                        timeout=TIMEOUT)
        expect(tab_button(page, "home", lang)).to_be_visible()
        expect(page.locator("footer")).to_contain_text("通过 API 使用" if lang == "zh" else "Use via API")
