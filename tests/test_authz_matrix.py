"""Who may call what, generated from the app itself: every REST write route and every Gradio event.

The REST routes come from the FastAPI app object (built on a tmp config in a subprocess), the Gradio events
from the running app's ``/config``. Each one must have a rule in the tables below, or the test fails and names
it: a route or event added later without a rule cannot slip through. A rule makes the target (a model, a
comment, an image... created over REST), then calls as a visitor, another user, a banned user, the owner and an
admin. A ban ends every session at once: a banned user's Bearer token or cookie is refused with "this account is
banned" (403), as the login and HTTP Basic (``/sdapi/v1``) refuse the banned account.

Gradio events are called the way the page calls them (``/gradio_api/queue/join`` by ``fn_index``, the session in
the cookie), private ones included: ``api_visibility="private"`` only hides an event from the API docs and
clients, so every event has to check the caller on the server itself.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
import requests

from tests import sample_files
from tests.community_helpers import parameters, picture, private_image, upload_image, upload_model
from tests.conftest import PASSWORD, bearer, register
from tests.gradio_events import call_event
from tests.gradio_events import gradio_events as events_of
from tests.gradio_events import gradio_upload as upload_through_gradio
from tests.live_server import ROOT, offline_env

ROLES = ("visitor", "other", "banned", "owner", "admin")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def expect(visitor, other, banned, owner, admin) -> dict:
    return dict(zip(ROLES, (visitor, other, banned, owner, admin)))


# --------------------------------------------------------------------------- the cast and its content
@dataclass
class Cast:
    """Accounts on the live server (tokens by role) and makers of fresh content owned by ``owner``."""

    server: object
    folder: Path
    tokens: dict[str, str | None]
    names: dict[str, str]
    model: dict
    image: int
    third: str
    ids: dict[str, int]
    seeds: itertools.count = field(default_factory=lambda: itertools.count(9000))

    def headers(self, role: str, token: str | None = None) -> dict[str, str]:
        token = self.tokens[role] if token is None else token
        return bearer(token) if token else {}

    def model_file(self) -> Path:
        seed = next(self.seeds)
        return sample_files.embedding(self.folder / f"authz_{seed}.safetensors", seed=seed)

    def fresh_model(self) -> dict:
        return upload_model(self.server, {"token": self.tokens["owner"]}, self.folder, next(self.seeds))

    def fresh_comment(self, on: str = "models") -> int:
        """A new comment of the owner's on the cast's model (or, ``on="images"``, on its published image)."""
        item = self.model["id"] if on == "models" else self.image
        reply = requests.post(self.server.api(f"/api/v1/{on}/{item}/comments"),
                              json={"body": "a comment"}, headers=self.headers("owner"), timeout=60)
        return reply.json()["id"]

    def fresh_collection(self) -> int:
        """A new public collection of the owner's."""
        reply = requests.post(self.server.api("/api/v1/collections"), json={"name": "matrix"},
                              headers=self.headers("owner"), timeout=60)
        return reply.json()["id"]

    def fresh_review(self) -> int:
        """A new review, by the "other" user, of a new model of the owner's."""
        version = self.fresh_model()["modelVersions"][0]["id"]
        reply = requests.post(self.server.api(f"/api/v1/model-versions/{version}/reviews"),
                              json={"recommended": True}, headers=self.headers("other"), timeout=60)
        return reply.json()["id"]

    def fresh_report(self) -> int:
        """A new open report (by the "other" user) on a new comment of the owner's."""
        reply = requests.post(self.server.api("/api/v1/reports"),
                              json={"type": "comment", "id": self.fresh_comment(), "reason": "spam"},
                              headers=self.headers("other"), timeout=60)
        return reply.json()["id"]

    def picture(self) -> bytes:
        return picture("PNG", parameters(f"matrix picture {next(self.seeds)}"))

    def fresh_image(self) -> int:
        return upload_image(self.server, {"token": self.tokens["owner"]}, self.picture()).json()["id"]

    def fresh_private_image(self) -> int:
        return private_image(self.server, self.ids["owner"], f"private matrix sketch {next(self.seeds)}")["id"]

    def fresh_user(self) -> str:
        return register(self.server)["user"]["username"]

    def fresh_banned_user(self) -> str:
        name = self.fresh_user()
        requests.post(self.server.api(f"/api/v1/admin/users/{name}/ban"), headers=self.headers("admin"), timeout=60)
        return name

    def fresh_session(self, role: str) -> str | None:
        """A new session of ``role`` (none for a visitor; a new account's, banned after it logged in, for the banned
        user: the cast's own banned session must outlive a logout)."""
        if role == "visitor":
            return None
        if role == "banned":
            account = register(self.server)
            requests.post(self.server.api(f"/api/v1/admin/users/{account['user']['username']}/ban"),
                          headers=self.headers("admin"), timeout=60)
            return account["token"]
        reply = requests.post(self.server.api("/api/v1/auth/login"),
                              json={"username": self.names[role], "password": PASSWORD}, timeout=60)
        return reply.json()["token"]


@pytest.fixture(scope="module")
def cast(server, tmp_path_factory) -> Cast:
    accounts = {role: register(server) for role in ("owner", "other", "banned")}
    third = register(server)["user"]["username"]
    admin_name = requests.get(server.api("/api/v1/me"), headers=bearer(server.admin_token), timeout=60).json()
    tokens = {"visitor": None, "admin": server.admin_token, **{r: a["token"] for r, a in accounts.items()}}
    names = {"admin": admin_name["username"], **{r: a["user"]["username"] for r, a in accounts.items()}}
    folder = tmp_path_factory.mktemp("authz")
    model = upload_model(server, accounts["owner"], folder, 8001, name="Authorization Model")
    image = upload_image(server, accounts["owner"], picture("PNG", parameters("matrix image"))).json()["id"]
    ban = requests.post(server.api(f"/api/v1/admin/users/{names['banned']}/ban"), headers=bearer(tokens["admin"]))
    assert ban.status_code == 200, ban.text
    return Cast(server, folder, tokens, names, model, image, third, {r: a["user"]["id"] for r, a in accounts.items()})


# --------------------------------------------------------------------------- REST rules
@dataclass(frozen=True)
class Call:
    """One request: the path with its ids filled in, ``requests`` keyword arguments, and a session to use
    instead of the role's own (``login``/``logout``)."""

    path: str
    kwargs: dict = field(default_factory=dict)
    token: str | None = None


@dataclass(frozen=True)
class Rule:
    make: Callable[[Cast, str], Call]
    expected: dict
    why: str = ""


OWNED = expect(401, 403, 403, 200, 200)  # changes the owner's content: only the owner or an admin
MEMBER = expect(401, 200, 403, 200, 200)  # any logged-in user, acting for themselves
CREATE = expect(401, 201, 403, 201, 201)
ONLY_OWNER = expect(401, 403, 403, 200, 403)  # one's own list, which not even an admin changes
ADMIN = expect(401, 403, 403, 403, 200)
OPEN = expect(200, 200, 200, 200, 200)
# Every API route reads the caller, so a banned account's session gets 403 "this account is banned" even where no
# route is (/sdapi/v1 as A1111's --api-auth does).
NO_ROUTE = expect(404, 404, 403, 404, 404)
SDAPI_OPEN = expect(200, 200, 403, 200, 200)
SDAPI_NO_ROUTE = NO_ROUTE
# Allowed past the check, then no such checkpoint: the route checks the caller before the library.
NO_CHECKPOINT = expect(401, 404, 403, 404, 404)


def model_path(c: Cast, suffix: str = "") -> str:
    return f"/api/v1/models/{c.model['id']}{suffix}"


def version_of(model: dict) -> int:
    return model["modelVersions"][0]["id"]


def file_of(model: dict) -> int:
    return model["modelVersions"][0]["files"][0]["id"]


def model_upload(c: Cast) -> dict:
    path = c.model_file()
    return {"files": {"file": (path.name, path.read_bytes())}}


def credentials(c: Cast, role: str) -> dict:
    return {"json": {"username": c.names["owner" if role == "visitor" else role], "password": PASSWORD}}


REST_RULES: dict[tuple[str, str], Rule] = {
    ("POST", "/api/v1/auth/register"): Rule(
        lambda c, r: Call("/api/v1/auth/register", {"json": {"username": c.fresh_user() + "x", "password": PASSWORD}}),
        expect(201, 201, 201, 201, 201), "open: anyone may create an account"),
    ("POST", "/api/v1/auth/login"): Rule(
        lambda c, r: Call("/api/v1/auth/login", credentials(c, r)), expect(200, 200, 403, 200, 200),
        "open: the credentials decide; the banned account is refused"),
    ("POST", "/api/v1/auth/logout"): Rule(
        lambda c, r: Call("/api/v1/auth/logout", token=c.fresh_session(r)), OPEN, "open: ends the caller's session"),
    ("PATCH", "/api/v1/me"): Rule(lambda c, r: Call("/api/v1/me", {"json": {"bio": f"bio of {r}"}}), MEMBER),
    ("POST", "/api/v1/admin/users/{username}/ban"): Rule(
        lambda c, r: Call(f"/api/v1/admin/users/{c.fresh_user()}/ban"), ADMIN),
    ("POST", "/api/v1/admin/users/{username}/unban"): Rule(
        lambda c, r: Call(f"/api/v1/admin/users/{c.fresh_banned_user()}/unban"), ADMIN),
    ("POST", "/api/v1/admin/rescan"): Rule(lambda c, r: Call("/api/v1/admin/rescan"), ADMIN),
    ("POST", "/api/v1/admin/invites"): Rule(
        lambda c, r: Call("/api/v1/admin/invites", {"json": {"expires_in_days": 1}}), expect(401, 403, 403, 403, 201)),
    ("POST", "/api/v1/models"): Rule(lambda c, r: Call("/api/v1/models", model_upload(c)), CREATE),
    ("POST", "/api/v1/models/import"): Rule(
        lambda c, r: Call("/api/v1/models/import", {"json": {"repo_id": "someone/some-model"}}),
        expect(401, 400, 403, 400, 400), "allowed past the check; this instance is offline (400)"),
    ("PATCH", "/api/v1/models/{model_id}"): Rule(
        lambda c, r: Call(model_path(c), {"json": {"description": f"edited by {r}"}}), OWNED),
    ("DELETE", "/api/v1/models/{model_id}"): Rule(
        lambda c, r: Call(f"/api/v1/models/{c.fresh_model()['id']}"), OWNED),
    ("POST", "/api/v1/models/{model_id}/versions"): Rule(
        lambda c, r: Call(model_path(c, "/versions"), model_upload(c)), expect(401, 403, 403, 201, 201)),
    ("DELETE", "/api/v1/model-versions/{version_id}"): Rule(
        lambda c, r: Call(f"/api/v1/model-versions/{version_of(c.fresh_model())}"), OWNED),
    ("DELETE", "/api/v1/files/{file_id}"): Rule(lambda c, r: Call(f"/api/v1/files/{file_of(c.fresh_model())}"), OWNED),
    ("POST", "/api/v1/txt2img"): Rule(
        lambda c, r: Call("/api/v1/txt2img", {"json": {"prompt": "x", "model_id": 2**40}}), NO_CHECKPOINT),
    ("POST", "/sdapi/v1/txt2img"): Rule(
        lambda c, r: Call("/sdapi/v1/txt2img", {"json": {"prompt": "x",
                                                         "override_settings": {"sd_model_checkpoint": "none such"}}}),
        NO_CHECKPOINT),
    ("POST", "/api/v1/img2img"): Rule(
        lambda c, r: Call("/api/v1/img2img", {"json": {"prompt": "x", "model_id": 2**40,
                                                       "init_image": base64.b64encode(c.picture()).decode()}}),
        NO_CHECKPOINT),
    ("POST", "/sdapi/v1/img2img"): Rule(
        lambda c, r: Call("/sdapi/v1/img2img", {"json": {"prompt": "x", "init_images": [
            base64.b64encode(c.picture()).decode()], "override_settings": {"sd_model_checkpoint": "none such"}}}),
        NO_CHECKPOINT),
    ("POST", "/api/v1/upscale"): Rule(
        lambda c, r: Call("/api/v1/upscale", {"json": {"image": base64.b64encode(c.picture()).decode(),
                                                       "upscaler": "none such"}}),
        NO_CHECKPOINT, "allowed past the check, then no such upscaler (404)"),
    ("POST", "/sdapi/v1/extra-single-image"): Rule(
        lambda c, r: Call("/sdapi/v1/extra-single-image", {"json": {"image": base64.b64encode(c.picture()).decode(),
                                                                    "upscaler_1": "none such"}}),
        NO_CHECKPOINT, "allowed past the check, then no such upscaler (404)"),
    ("POST", "/sdapi/v1/extra-batch-images"): Rule(
        lambda c, r: Call("/sdapi/v1/extra-batch-images", {"json": {"imageList": [
            {"data": base64.b64encode(c.picture()).decode(), "name": "a.png"}], "upscaler_1": "none such"}}),
        NO_CHECKPOINT, "allowed past the check, then no such upscaler (404)"),
    ("POST", "/sdapi/v1/refresh-checkpoints"): Rule(
        lambda c, r: Call("/sdapi/v1/refresh-checkpoints"), SDAPI_OPEN, "open (A1111): a no-op but for an admin's rescan"),
    ("POST", "/sdapi/v1/refresh-loras"): Rule(
        lambda c, r: Call("/sdapi/v1/refresh-loras"), SDAPI_OPEN, "open (A1111): a no-op but for an admin's rescan"),
    ("POST", "/sdapi/v1/refresh-vae"): Rule(
        lambda c, r: Call("/sdapi/v1/refresh-vae"), SDAPI_OPEN, "open (A1111): a no-op but for an admin's rescan"),
    ("POST", "/sdapi/v1/options"): Rule(
        lambda c, r: Call("/sdapi/v1/options", {"json": {"CLIP_stop_at_last_layers": 2}}), MEMBER),
    ("POST", "/sdapi/v1/png-info"): Rule(
        lambda c, r: Call("/sdapi/v1/png-info", {"json": {"image": base64.b64encode(c.picture()).decode()}}), SDAPI_OPEN,
        "open (A1111): reads the picture in the request, writes nothing"),
    ("POST", "/sdapi/v1/interrupt"): Rule(lambda c, r: Call("/sdapi/v1/interrupt"), MEMBER),
    ("POST", "/sdapi/v1/skip"): Rule(lambda c, r: Call("/sdapi/v1/skip"), MEMBER),
    ("POST", "/api/v1/models/{model_id}/comments"): Rule(
        lambda c, r: Call(model_path(c, "/comments"), {"json": {"body": f"from {r}"}}), CREATE),
    ("POST", "/api/v1/images/{image_id}/comments"): Rule(
        lambda c, r: Call(f"/api/v1/images/{c.image}/comments", {"json": {"body": f"from {r}"}}), CREATE),
    ("DELETE", "/api/v1/comments/{comment_id}"): Rule(
        lambda c, r: Call(f"/api/v1/comments/{c.fresh_comment(on=('models', 'images')[len(r) % 2])}"), OWNED,
        "a comment on a model or on an image alike"),
    ("POST", "/api/v1/model-versions/{version_id}/reviews"): Rule(
        lambda c, r: Call(f"/api/v1/model-versions/{version_of(c.model)}/reviews", {"json": {"recommended": True}}),
        expect(401, 200, 403, 403, 200), "any member but the model's owner"),
    ("DELETE", "/api/v1/reviews/{review_id}"): Rule(
        lambda c, r: Call(f"/api/v1/reviews/{c.fresh_review()}"), expect(401, 200, 403, 403, 200),
        "its author (the cast's other user) or a moderator"),
    ("POST", "/api/v1/collections"): Rule(lambda c, r: Call("/api/v1/collections", {"json": {"name": r}}), CREATE),
    ("POST", "/api/v1/collections/{collection_id}/items"): Rule(
        lambda c, r: Call(f"/api/v1/collections/{c.fresh_collection()}/items", {"json": {"modelId": c.model["id"]}}),
        ONLY_OWNER, "only its owner, admins included"),
    ("DELETE", "/api/v1/collections/{collection_id}/items"): Rule(
        lambda c, r: Call(f"/api/v1/collections/{c.fresh_collection()}/items?modelId={c.model['id']}"), ONLY_OWNER,
        "only its owner, admins included"),
    ("DELETE", "/api/v1/collections/{collection_id}"): Rule(
        lambda c, r: Call(f"/api/v1/collections/{c.fresh_collection()}"), ONLY_OWNER, "only its owner"),
    ("POST", "/api/v1/reports"): Rule(
        lambda c, r: Call("/api/v1/reports", {"json": {"type": "model", "id": c.model["id"], "reason": "spam"}}),
        expect(401, 201, 403, 400, 201), "any member; one's own content is refused (400)"),
    ("POST", "/api/v1/moderation/reports/{report_id}/decision"): Rule(
        lambda c, r: Call(f"/api/v1/moderation/reports/{c.fresh_report()}/decision", {"json": {"action": "dismiss"}}),
        ADMIN, "moderators and admins (the cast has no moderator; tests/test_moderation.py has)"),
    ("PUT", "/api/v1/admin/users/{username}/moderator"): Rule(
        lambda c, r: Call(f"/api/v1/admin/users/{c.fresh_user()}/moderator"), ADMIN),
    ("DELETE", "/api/v1/admin/users/{username}/moderator"): Rule(
        lambda c, r: Call(f"/api/v1/admin/users/{c.fresh_user()}/moderator"), ADMIN),
    ("POST", "/api/v1/notifications/read"): Rule(
        lambda c, r: Call("/api/v1/notifications/read", {"json": {"all": True}}), MEMBER, "the caller's own"),
    ("PUT", "/api/v1/notifications/settings"): Rule(
        lambda c, r: Call("/api/v1/notifications/settings", {"json": {"off": ["like"]}}), MEMBER, "the caller's own"),
    ("PUT", "/api/v1/models/{model_id}/like"): Rule(lambda c, r: Call(model_path(c, "/like")), MEMBER),
    ("DELETE", "/api/v1/models/{model_id}/like"): Rule(lambda c, r: Call(model_path(c, "/like")), MEMBER),
    ("PUT", "/api/v1/images/{image_id}/like"): Rule(lambda c, r: Call(f"/api/v1/images/{c.image}/like"), MEMBER),
    ("DELETE", "/api/v1/images/{image_id}/like"): Rule(lambda c, r: Call(f"/api/v1/images/{c.image}/like"), MEMBER),
    ("PUT", "/api/v1/users/{username}/follow"): Rule(lambda c, r: Call(f"/api/v1/users/{c.third}/follow"), MEMBER),
    ("DELETE", "/api/v1/users/{username}/follow"): Rule(lambda c, r: Call(f"/api/v1/users/{c.third}/follow"),
                                                        MEMBER),
    ("POST", "/api/v1/model-versions/by-hash"): Rule(
        lambda c, r: Call("/api/v1/model-versions/by-hash",
                          {"json": [c.model["modelVersions"][0]["files"][0]["hashes"]["SHA256"]]}),
        expect(200, 200, 403, 200, 200), "a read sent as POST (Civitai's shape): a banned session is refused"),
    ("POST", "/api/v1/images"): Rule(
        lambda c, r: Call("/api/v1/images", {"files": {"file": ("m.png", c.picture())}}), CREATE,
        "upload; publishing someone's image is in test_admin_api"),
    ("PATCH", "/api/v1/images/{image_id}"): Rule(
        lambda c, r: Call(f"/api/v1/images/{c.image}", {"json": {"rating": "safe"}}), OWNED,
        "the rating: its owner, a moderator or an admin"),
    ("DELETE", "/api/v1/images/{image_id}"): Rule(lambda c, r: Call(f"/api/v1/images/{c.fresh_image()}"), OWNED),
    ("MOUNT", ""): Rule(
        lambda c, r: Call("/gradio_api/upload", {"files": {"files": ("m.png", c.picture())}}), MEMBER,
        "the Gradio UI: its upload route is closed to visitors; its events are checked below"),
    **{(method, "/api/{rest:path}"): Rule(lambda c, r: Call("/api/v1/no-such-route"), NO_ROUTE, "JSON 404")
       for method in WRITE_METHODS},
    **{(method, "/sdapi/v1/{rest:path}"): Rule(lambda c, r: Call("/sdapi/v1/no-such-route"), SDAPI_NO_ROUTE,
                                               "JSON 404")
       for method in WRITE_METHODS},
}


def describe_routes(home: str) -> list[list[str]]:
    """``[method, path]`` of every write route of the app built on a tmp config (included routers flattened), and
    ``["MOUNT", path]`` of its mounted apps (runs in a subprocess: building the app opens a database)."""
    from fastapi.routing import iter_route_contexts
    from starlette.routing import Mount

    from core.config import load_config
    from visionary_app import apply_offline_defaults, build_app, build_context

    apply_offline_defaults()
    config = load_config(["--db", f"{home}/app.db", "--models-dir", f"{home}/models", "--outputs-dir",
                          f"{home}/outputs"], environ={})
    context = build_context(config)
    try:
        routes = list(iter_route_contexts(build_app(context).routes))
        mounts = [["MOUNT", route.path] for route in routes if isinstance(route.original_route, Mount)]
        return mounts + [[method, route.path] for route in routes if not isinstance(route.original_route, Mount)
                         for method in sorted(route.methods or ()) if method in WRITE_METHODS]
    finally:
        context.close()


@pytest.fixture(scope="module")
def app_routes(tmp_path_factory) -> list[tuple[str, str]]:
    home = tmp_path_factory.mktemp("routes")
    done = subprocess.run([sys.executable, "-m", "tests.test_authz_matrix", str(home)], cwd=ROOT, env=offline_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return [tuple(item) for item in json.loads(done.stdout.strip().splitlines()[-1])]


def test_every_write_route_has_a_rule(app_routes):
    missing = [f"{method} {path}" for method, path in app_routes if (method, path) not in REST_RULES]
    assert not missing, ("add a rule to REST_RULES in tests/test_authz_matrix.py (how to make its target and "
                         f"what each role gets) for: {missing}")
    assert ("POST", "/api/v1/models") in app_routes and len(app_routes) > 30


def call_rest(cast: Cast, method: str, rule: Rule, role: str) -> requests.Response:
    made = rule.make(cast, role)
    return requests.request("POST" if method == "MOUNT" else method, cast.server.api(made.path),
                            headers=cast.headers(role, made.token), timeout=60, **made.kwargs)


def test_rest_write_routes_check_the_caller(cast, app_routes):
    wrong = {}
    for method, path in app_routes:
        rule = REST_RULES[(method, path)]
        seen = {role: call_rest(cast, method, rule, role).status_code for role in ROLES}
        if seen != rule.expected:
            wrong[f"{method} {path}"] = {"expected": rule.expected, "got": seen}
    assert not wrong, json.dumps(wrong, indent=1)


def basic(cast: Cast, role: str) -> dict[str, str]:
    pair = f"{cast.names[role]}:{PASSWORD}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def test_banned_account_over_http_basic_is_refused_on_every_sdapi_write(cast, app_routes):
    for method, path in app_routes:
        if path.startswith("/sdapi/"):
            made = REST_RULES[(method, path)].make(cast, "banned")
            reply = requests.request(method, cast.server.api(made.path), headers=basic(cast, "banned"), timeout=60,
                                     **made.kwargs)
            assert (reply.status_code, reply.json()["error"]) == (403, "this account is banned"), (method, path)


# --------------------------------------------------------------------------- Gradio events
@dataclass(frozen=True)
class Read:
    """An event that writes nothing and shows only what the caller may see (or only changes the page)."""

    why: str
    public: bool = False


@dataclass(frozen=True)
class Checked:
    """An event that changes something (or shows admin data): called as every role with ``data(cast, role)``.
    Outcomes: ``ok``; ``401``/``403`` for a refusal that says "log in" / names who may; ``error`` for another
    refusal (not found, offline...), i.e. allowed past the check."""

    data: Callable[[Cast, str], list]
    expected: dict
    public: bool = True


BROWSE = Read("shows what the caller may see")
PAGE = Read("changes the page only")
MINE = Read("lists the caller's own content (nothing for a visitor)")
SESSION = Read("re-reads the session that the browser's own REST call set or ended")
G_OWNED = expect("401", "403", "403", "ok", "ok")
G_MEMBER = expect("401", "ok", "403", "ok", "ok")
G_ADMIN = expect("401", "403", "403", "403", "ok")
G_PAST_CHECK = expect("401", "error", "403", "error", "error")


def gradio_upload(cast: Cast, role: str, content: bytes, name: str) -> dict:
    """A file uploaded through Gradio's upload route (as the owner for visitors, who may not upload)."""
    return upload_through_gradio(cast.server, cast.tokens["owner" if role in ("visitor", "banned") else role],
                                 content, name)


def upload_form(c: Cast, r: str) -> list:
    file = gradio_upload(c, r, c.model_file().read_bytes(), "ui.safetensors")
    return [file, "new", "v2", "", "detect", "detect", "public", "", "", "", None]


def starter(c: Cast, r: str) -> list:
    from ui.home_tab import load_starters

    return [load_starters()[0]["repo_id"]]


# prompt … batch size, clip skip, mode, hires fix (on, upscaler, scale, steps, denoising), img2img (picture,
# denoising, resize mode) and inpainting (mask blur, masked content, only masked, padding, invert)
TXT2IMG_FORM = ["x", "", 2**40, 0, "Euler a", "automatic", 1, 64, 64, 7, -1, 1, 1, "txt2img", False, "Latent", 2, 0,
                0.7, None, 0.75, 0, 4, 1, False, 32, False]
ADMIN_VIEW = Checked(lambda c, r: [], G_ADMIN, public=False)
AUDIT_PAGE = Checked(lambda c, r: [2], G_ADMIN, public=False)


def numbered(rule: Read | Checked, *names: str) -> dict:
    """The rule for each handler name, also for Gradio's numbered copies (``show_1``, ``show_2``...)."""
    return {key: rule for name in names for key in (name, f"{name}_*")}


# Keys are the events' api names; ``NAME_*`` stands for NAME_1, NAME_2... (Gradio numbers handlers that share
# a function name in build order, so a new tab elsewhere renumbers them).
GRADIO_RULES: dict[str, Read | Checked] = {
    **numbered(BROWSE, "page_load", "refresh", "checkpoint_chosen", "fill", "first_page", "previous_page",
               "next_page", "open_model", "open_kind", "first_comments", "show_comments", "refresh_body",
               "previous_comments", "next_comments", "fill_editor", "browse_first", "browse_previous", "browse_next",
               "model_choices", "run", "page_of", "open_clicked", "open_address", "open_named", "show_uploaded",
               "upscaler_choices", "hires_upscalers", "pick_reply", "refresh_reviews", "first_tags", "previous_tags", "next_tags",
               "open_collection", "my_collections"),
    **numbered(PAGE, "insert_lora", "show_selected", "lambda", "seed_of", "_picked_comment", "clear_choice",
               "_chosen", "_ready", "show_mode", "chosen_index", "fill_img2img",
               "not_replying", "_picked_notification"),
    **numbered(Read("copies a picture the caller may see for img2img (the Generate result's ids are the session's "
                    "own State)"), "picked", "picture_for_img2img"),
    **numbered(MINE, "switch_mode", "show", "mine", "mine_previous", "mine_next", "restore_last", "open_mine",
               "first_notifications", "previous_notifications", "next_notifications", "show_notifications"),
    **numbered(SESSION, "who_text", "after_auth", "after_register", "after_logout", "show_who_is_here", "after_ban",
               "show_account", "ring_bell"),
    **numbered(Read("reads the picture the caller dropped in"), "read_image"),
    **numbered(ADMIN_VIEW, "first_audit"), "site_stats_*": ADMIN_VIEW,
    **numbered(AUDIT_PAGE, "previous_audit", "next_audit"),
    # Generate, Home
    "import_starter_model": Checked(starter, G_PAST_CHECK),
    "txt2img": Checked(lambda c, r: TXT2IMG_FORM, G_PAST_CHECK),
    "cancel": Checked(lambda c, r: [], G_MEMBER, public=False),
    # Extras: allowed past the check, then no such upscaler
    "upscale": Checked(lambda c, r: [gradio_upload(c, r, c.picture(), "up.png"), "by", 2, 512, 512, True, "none such",
                                     "None", 0], G_PAST_CHECK),
    # Model page
    "like_model": Checked(lambda c, r: [c.model["id"], True], G_MEMBER),
    "post_comment": Checked(lambda c, r: [c.model["id"], f"from {r}", 0], G_MEMBER),
    "delete_comment": Checked(lambda c, r: [c.fresh_comment()], G_OWNED),
    "review_model": Checked(lambda c, r: [c.model["id"], "up", f"from {r}"], expect("401", "ok", "403", "403", "ok")),
    "save_model_to_collection": Checked(lambda c, r: [c.model["id"], None, f"by {r}"], G_MEMBER),
    "save_image_to_collection": Checked(lambda c, r: [c.image, None, f"by {r}"], G_MEMBER),
    "rate_model": Checked(lambda c, r: [c.model["id"], "safe"], G_OWNED),
    "delete_model": Checked(lambda c, r: [c.fresh_model()["id"]], G_OWNED),
    # Image page
    "post_image_comment": Checked(lambda c, r: [c.image, f"from {r}", 0], G_MEMBER),
    "rate_image": Checked(lambda c, r: [c.image, "safe"], G_OWNED),
    "delete_image_comment": Checked(lambda c, r: [c.fresh_comment(on="images")], G_OWNED),
    # Upload and My uploads
    "upload_model": Checked(upload_form, G_MEMBER),
    "edit_model": Checked(lambda c, r: [c.model["id"], f"edited by {r}", None, None, None, None, None, None],
                          G_OWNED),
    "edit_licence": Checked(lambda c, r: [c.model["id"], True, ["Image", "Rent", "RentCivit", "Sell"], True, True],
                            G_OWNED),
    "delete_upload": Checked(lambda c, r: [f"model:{c.fresh_model()['id']}", True], G_OWNED),
    # Gallery
    "like_image": Checked(lambda c, r: [c.image, True], G_MEMBER),
    "publish_image": Checked(lambda c, r: [c.fresh_private_image(), f"by {r}", "", "matrix"],
                             expect("401", "error", "403", "ok", "403")),
    # Generate's result: the ids are the session's own run's (a gr.State, which a caller cannot send), so a forged
    # list is ignored and nothing was made in this session.
    "publish_shown": Checked(lambda c, r: [[c.fresh_private_image()], 0, "", "", ""], G_PAST_CHECK, public=False),
    "publish_all": Checked(lambda c, r: [[c.fresh_private_image()], "", "", ""], G_PAST_CHECK, public=False),
    "delete_image": Checked(lambda c, r: [c.fresh_image()], G_OWNED),
    "upload_image": Checked(lambda c, r: [gradio_upload(c, r, c.picture(), "ui.png")], G_MEMBER),
    # Profile
    "follow_user": Checked(lambda c, r: [c.third, True], G_MEMBER),
    # Admin
    "site_stats": Checked(lambda c, r: [], G_ADMIN),
    "audit_log": Checked(lambda c, r: [], G_ADMIN),
    "generation_pool": Checked(lambda c, r: [], G_ADMIN),
    "rescan_models": Checked(lambda c, r: [], G_ADMIN),
    "make_invite": Checked(lambda c, r: [1], G_ADMIN),
    "list_invites": Checked(lambda c, r: [], G_ADMIN),
    "ban_user": Checked(lambda c, r: [c.fresh_user()], G_ADMIN),
    **numbered(Checked(lambda c, r: [""], G_ADMIN, public=False), "first_users"),
    **numbered(Checked(lambda c, r: ["", 2], G_ADMIN, public=False), "show_users", "next_users", "previous_users"),
    # a row's button sends who and what as event data; without it the admin is told "no such user"
    "act_on_user": Checked(lambda c, r: [], expect("401", "403", "403", "403", "error")),
    "unban_user": Checked(lambda c, r: [c.fresh_banned_user()], G_ADMIN),
    "remove_content": Checked(lambda c, r: ["comment", c.fresh_comment(), True], G_ADMIN),
    # Reports and moderation
    **numbered(Checked(lambda c, r: [f"model:{c.model['id']}", "spam", ""], expect("401", "ok", "403", "error", "ok")),
               "report_item"),
    **numbered(Read("opens the page's Report form (a person named by a profile is looked up)"), "open_report_form",
               "open_comment_report"),
    "moderate": Checked(lambda c, r: [""], expect("401", "403", "403", "403", "error")),
    **numbered(Checked(lambda c, r: ["open"], G_ADMIN, public=False), "first_reports"),
    **numbered(Checked(lambda c, r: ["open", 2], G_ADMIN, public=False), "show_reports", "next_reports",
               "previous_reports"),
    # Notifications
    "mark_all_notifications_read": Checked(lambda c, r: [], G_MEMBER),
    "mark_notification_read": Checked(lambda c, r: [2**40], G_PAST_CHECK),
    # Account
    "save_content_view": Checked(lambda c, r: ["blur"], G_MEMBER, public=False),
    "save_notification_settings": Checked(lambda c, r: [["like"]], G_MEMBER, public=False),
    "save_bio": Checked(lambda c, r: [f"bio of {r}"], G_MEMBER, public=False),
}


def rule_for(name: str) -> Read | Checked | None:
    return GRADIO_RULES.get(name) or GRADIO_RULES.get(re.sub(r"_\d+$", "_*", name))


@pytest.fixture(scope="module")
def gradio_events(server) -> dict[str, dict]:
    return events_of(server)


def test_every_gradio_event_has_a_rule_and_the_right_visibility(gradio_events):
    missing = sorted(name for name in gradio_events if rule_for(name) is None)
    assert not missing, ("add a rule to GRADIO_RULES in tests/test_authz_matrix.py (Read with a reason, or Checked "
                         f"with its data and what each role gets) for the Gradio events: {missing}")
    visibility = {name: dep["api_visibility"] != "private" for name, dep in gradio_events.items()}
    wrong = {name: "public" if public else "private" for name, public in visibility.items()
             if rule_for(name) is not None and public != rule_for(name).public}
    assert not wrong, f"these events' api_visibility is not what GRADIO_RULES says (current value shown): {wrong}"


def outcome(message: dict) -> str:
    if message["success"]:
        return "ok"
    error = (message["output"].get("error") or "").lower()
    if "log in" in error:
        return "401"
    if error.startswith("only ") or "banned" in error:
        return "403"
    return "error"


def test_gradio_events_check_the_caller(server, cast, gradio_events):
    wrong = {}
    for name, event in gradio_events.items():
        rule = rule_for(name)
        if not isinstance(rule, Checked):
            continue
        seen = {role: outcome(call_event(server, event, rule.data(cast, role), cast.tokens[role])) for role in ROLES}
        if seen != rule.expected:
            wrong[name] = {"expected": rule.expected, "got": seen}
    assert not wrong, json.dumps(wrong, indent=1)


if __name__ == "__main__":  # python -m tests.test_authz_matrix HOME: the routes, as JSON (see app_routes)
    print(json.dumps(describe_routes(sys.argv[1])))
