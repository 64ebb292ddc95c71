"""Visionary Art: launch the site.

    python visionary_app.py [--host --port --share --models-dir ...]   (see --help)

Parses the settings, builds the one app context, builds the FastAPI app (REST
routes first), mounts the Gradio UI at ``/`` and serves it with uvicorn.
"""

from __future__ import annotations

import functools
import gc
import logging
import os
import signal
import socket
import sys
import threading
from typing import Sequence

from core.config import Config, load_config

log = logging.getLogger("visionary")

OFFLINE_DEFAULTS = {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "DO_NOT_TRACK": "1"}
SHARE_TIMEOUT_S = 15
SHUTDOWN_GRACE_S = 3  # the bound is 5 s; generation runs are stopped at once, not waited for
GIL_SWITCH_INTERVAL_S = 0.0005
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def apply_offline_defaults() -> None:
    """No analytics and no hub access unless the user asks for them (before gradio/hf import)."""
    for name, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(name, value)


def build_context(config: Config):
    from core.accounts import accounts
    from core.context import AppContext
    from core.errors import NotFound
    from core.generation.demo_model import install_demo_model
    from core.library.ingest import claim_incoming
    from core.migrations import open_store

    config.models_path.mkdir(parents=True, exist_ok=True)
    config.outputs_path.mkdir(parents=True, exist_ok=True)
    incoming, removed = claim_incoming(config.models_path)
    if removed:
        log.info("removed %d partial upload(s) left in %s by an interrupted run", removed, config.models_path)
    store = open_store(config.db)
    generator = start_generation_backend(config)
    context = AppContext(config=config, store=store, incoming=incoming, generator=generator)
    if config.admin_user:
        try:
            accounts.promote_admin(context.store, config.admin_user)
        except NotFound as exc:
            raise StartupRefused(exc.message) from None
    check_sdapi_anonymous_user(config)
    install_demo_model(context.store, config.models_path)
    return context


def check_sdapi_anonymous_user(config: Config) -> None:
    """``--sdapi-anonymous-user`` must name an existing account; on an address others can reach, say what it
    means."""
    from core.accounts import accounts
    from core.errors import NotFound

    if not config.sdapi_anonymous_user:
        return
    try:
        user = accounts.get_user(config.sdapi_anonymous_user)
    except NotFound:
        raise StartupRefused(f"--sdapi-anonymous-user: no user named {config.sdapi_anonymous_user!r} (register it "
                             "first)") from None
    if config.host not in LOOPBACK_HOSTS:
        log.warning("--sdapi-anonymous-user %s on --host %s: anyone who can reach this address generates as %s "
                    "through /sdapi/v1 without a password", user.username, config.host, user.username)


class StartupRefused(Exception):
    """A setting that names something that is not there: the start stops with this one line."""


def start_generation_backend(config: Config):
    """The Ray pool for ``--generation-backend ray`` (joined now, so a cluster that cannot be reached stops the
    start with one line); None for the local process, which starts on the first generation."""
    if config.generation_backend != "ray":
        return None
    from core.generation.ray_pool import RayPool

    log.info("joining the Ray cluster at %s and deploying the generator (--ray-replicas %s)", config.ray_address,
             config.ray_replicas)
    pool = RayPool.start(config)
    log.info("generation pool ready on Ray (%s)", config.ray_address)
    return pool


def scan_models_in_background(context) -> threading.Thread:
    """Start-up scan of models_dir; the server answers meanwhile (new files appear as they are hashed)."""

    def run():
        try:
            report = context.rescan_models()
            log.info("models folder scanned: %s", report.as_dict())
        except Exception:
            log.exception("scanning the models folder failed")

    worker = threading.Thread(target=run, name="models-scan", daemon=True)
    worker.start()
    return worker


def build_app(context):
    """FastAPI with the REST routes, then the Gradio UI mounted at ``/``."""
    import gradio as gr

    from api.app import create_api
    from ui.app import build_ui
    from ui.generate_modes import MODE_CSS
    from ui.i18n import i18n
    from ui.limits import COUNTER_CSS
    from ui.page_head import PageHead
    from ui.toasts import head
    from ui.upload_route import UploadHandleRoute

    app = create_api(context)
    blocks = build_ui(context)
    blocks.queue(default_concurrency_limit=8)
    app = gr.mount_gradio_app(app, blocks, path="/", footer_links=["api"], allowed_paths=[], show_error=False,
                              max_file_size=context.config.max_upload_bytes, i18n=i18n(), head=head(), css=COUNTER_CSS + MODE_CSS)
    app.add_middleware(UploadHandleRoute, handles=context.uploads)
    app.add_middleware(PageHead, context=context)
    return app


def start_share_tunnel(config: Config) -> None:
    """Ask Gradio's share server for a public link; offline, say so in one line and go on."""
    from gradio import networking

    result: dict = {}

    def request_tunnel():
        try:
            result["url"] = networking.setup_tunnel(config.host if config.host != "0.0.0.0" else "127.0.0.1",
                                                    config.port, networking.secrets.token_urlsafe(32), None, None)
        except Exception as exc:  # any failure means: no share link, the local server goes on
            result["error"] = exc

    worker = threading.Thread(target=request_tunnel, daemon=True)
    worker.start()
    worker.join(SHARE_TIMEOUT_S)
    if "url" in result:
        print(f"Public share link: {result['url']}  (anyone with it sees public content; they must log in to act)")
    else:
        print(f"--share: no share link (Gradio's share server cannot be reached: no network?). "
              f"The app is still served at {config.local_url}", flush=True)


def serve(config: Config) -> None:
    import uvicorn

    from api.http_protocol import DeadlineHttpToolsProtocol

    # Gradio's upload temp files on the models folder's file system, so ingesting one is a rename.
    os.environ.setdefault("GRADIO_TEMP_DIR", str(config.models_path / ".incoming" / "gradio"))

    # Generation runs in its own process (core.generation.worker), but the scanner's hashing, an upload's writer
    # and the queue's PNG writing are threads here: the web server's thread gets the GIL back from them after
    # at most this long instead of CPython's default 5 ms.
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    listener = listening_socket(config)
    context = build_context(config)
    app = build_app(context)
    # The app's many long-lived objects (Gradio's component tree, routes, torch) leave the collector's view, so
    # a full collection while serving walks only what requests allocate: no pauses of tens of ms under load.
    gc.freeze()
    scan_models_in_background(context)
    context.fanout.start()
    context.ageing.start()
    # httptools + uvloop (installed) parse and loop faster than h11/asyncio, with deadlines for slow clients
    # (api/http_protocol.py); no per-request access log. uvicorn's own X-Forwarded-* handling stays off (it
    # trusts loopback): api/forwarded.py trusts only --forwarded-allow-ips.
    http = functools.partial(DeadlineHttpToolsProtocol, client_timeout=config.client_timeout)
    # A shutdown waits at most SHUTDOWN_GRACE_S for open requests (a slow upload, a stalled client) to finish.
    server = uvicorn.Server(uvicorn.Config(app, host=config.host, port=config.port, log_level="info",
                                           access_log=False, http=http, loop="uvloop", proxy_headers=False,
                                           timeout_graceful_shutdown=SHUTDOWN_GRACE_S))
    if config.share:
        threading.Thread(target=lambda: _share_when_up(server, config), daemon=True).start()
    threading.Thread(target=lambda: _stop_generation_on_exit(server, context), daemon=True).start()
    signal.signal(signal.SIGTERM, _exit_after_shutdown)
    print(f"Visionary Art on {config.local_url}", flush=True)
    try:
        server.run(sockets=[listener])
    finally:
        context.close()


class PortUnavailable(Exception):
    """The address in --host/--port cannot be listened on."""


def listening_socket(config: Config) -> socket.socket:
    """The server's socket, bound before anything slow (joining a Ray cluster, opening the store) starts: a port
    another program holds stops the start at once with one line, and nothing can take it while the app starts."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    listener = socket.socket(family=family)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((config.host, config.port))
    except OSError as exc:
        listener.close()
        raise PortUnavailable(f"cannot listen on {config.host}:{config.port}: {exc.strerror} "
                              f"(another program holds it? choose another --port)") from exc
    return listener


def _exit_after_shutdown(signum, frame) -> None:
    """uvicorn re-raises the SIGTERM it caught once its graceful shutdown is done; as an exception (like Ctrl+C's
    KeyboardInterrupt), not the default instant death, so ``serve`` still closes the app context."""
    raise SystemExit(0)


def _stop_generation_on_exit(server, context) -> None:
    """uvicorn finishes open requests before it stops, and a request waiting on a long generation would hold
    the shutdown for as long as the generation runs: generation stops as soon as the shutdown begins."""
    while not server.should_exit:
        threading.Event().wait(0.1)
    context.stop_generation()


def _share_when_up(server, config: Config) -> None:
    while not server.started and not server.should_exit:
        threading.Event().wait(0.1)
    if server.started:
        start_share_tunnel(config)


SUBCOMMANDS = {
    "backup": "backup PATH [--db ...]: consistent online copy of the database (safe while the app runs)",
    "convert-pickle": "convert-pickle IN [OUT]: convert a .ckpt/.pt/.bin pickle to .safetensors in a sandbox",
    "migrate-db": "migrate-db --to postgresql://... [--db ...]: copy the site's database into an empty PostgreSQL",
}


def backup(args: list[str]) -> int:
    if not args or args[0].startswith("-"):
        print("usage: python visionary_app.py backup PATH [--db PATH_OR_URL]", file=sys.stderr)
        return 2
    from core.migrations import open_store

    config = load_config(args[1:])
    store = open_store(config.db)
    try:
        path = store.backup(args[0])
    except (ValueError, RuntimeError) as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(f"backup written to {path}")
    return 0


def migrate_db(args: list[str]) -> int:
    """Copy the site's database (``--db``, SQLite by default) into an empty PostgreSQL database (``--to``)."""
    if "--to" not in args or args.index("--to") + 1 >= len(args):
        print("usage: python visionary_app.py migrate-db --to postgresql://user:password@host/database "
              "[--db PATH_OR_URL]", file=sys.stderr)
        return 2
    from core.errors import InvalidInput
    from core.migrations import open_store
    from core.site_copy import copy_site
    from core.store import shown_url

    at = args.index("--to")
    target, rest = args[at + 1], args[:at] + args[at + 2:]
    source = open_store(load_config(rest).db)
    try:
        report = copy_site(source, target)
    except (InvalidInput, RuntimeError) as exc:
        print(f"migrate-db: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 1
    finally:
        source.close()
    print(f"copied {report.total} rows in {len(report.rows)} tables to {shown_url(target)}; start the app with "
          f"--db {shown_url(target)}")
    return 0


def run_subcommand(name: str, args: list[str]) -> int:
    if name == "backup":
        return backup(args)
    if name == "migrate-db":
        return migrate_db(args)
    from core.library.pickle_import import main as convert_main

    return convert_main(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve (or run a subcommand); a database or Ray cluster that cannot be used ends it with one line and exit
    status 2."""
    from core.errors import DatabaseUnavailable
    from core.generation.ray_pool import ClusterUnreachable

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in SUBCOMMANDS:
            return run_subcommand(argv[0], argv[1:])
        apply_offline_defaults()
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        epilog = "subcommands:\n" + "\n".join(f"  {name:<16}{what}" for name, what in SUBCOMMANDS.items())
        serve(load_config(argv, epilog=epilog))
    except DatabaseUnavailable as exc:
        print(f"visionary_app.py: {exc.message}", file=sys.stderr)
        return 2
    except (ClusterUnreachable, StartupRefused, PortUnavailable) as exc:  # a start that cannot go on: one line
        print(f"visionary_app.py: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
