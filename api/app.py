"""The FastAPI application: REST routes, error handlers, guards."""

from __future__ import annotations

from fastapi import FastAPI

from core.context import AppContext
from core.errors import NotFound

from . import (
    admin,
    admin_views,
    auth,
    collections,
    downloads,
    enums,
    gallery,
    models,
    moderation,
    notifications,
    reviews,
    social,
    txt2img,
    upscale,
    worker_files,
)
from .body_limits import BodyLimits
from .errors import install_error_handlers
from .forwarded import ForwardedHeaders
from .guards import Guards
from .sdapi import router as sdapi_router


def create_api(context: AppContext) -> FastAPI:
    """The FastAPI app with every REST route registered (the UI is mounted after)."""
    app = FastAPI(title="Visionary Art API", version="1", docs_url="/api/v1/docs",
                  openapi_url="/api/v1/openapi.json", redoc_url=None)
    app.state.context = context
    install_error_handlers(app)
    app.include_router(auth.router)
    app.include_router(admin.router)
    app.include_router(models.router)
    app.include_router(enums.router)
    app.include_router(downloads.router)
    app.include_router(txt2img.router)
    app.include_router(upscale.router)
    app.include_router(sdapi_router)
    app.include_router(social.router)
    app.include_router(notifications.router)
    app.include_router(moderation.router)
    app.include_router(reviews.router)
    app.include_router(collections.router)
    app.include_router(gallery.router)
    app.include_router(admin_views.router)
    app.include_router(worker_files.router)
    _add_api_not_found(app)
    app.add_middleware(Guards, context=context)
    app.add_middleware(BodyLimits)
    app.add_middleware(ForwardedHeaders, trusted=context.config.trusted_proxies)  # before the others
    return app


def _add_api_not_found(app: FastAPI) -> None:
    """Unknown ``/api/*`` paths answer JSON 404 instead of falling through to the UI."""

    @app.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    def api_not_found(rest: str):
        raise NotFound(f"no API route /api/{rest}")
