"""Worker credentials: a generation replica may download exactly the files of the run it was given.

For each file of a run the web server signs a grant (HMAC-SHA256 with the pool's secret) naming the file's
SHA-256, the user whose run it is and an expiry. A replica presents it to ``GET /api/v1/worker/files/{sha256}``;
the route checks the signature, the expiry and the hash, and then whether *that user* may use the file now (a
private model only for its owner; a grant made for one user's run never opens another user's private model).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from pathlib import Path

from core.accounts.accounts import UserInfo, user_info
from core.errors import Forbidden, NotFound

GRANT_LIFETIME_S = 6 * 3600  # a queued run may wait, and a multi-GB checkpoint take a while to download


def sign_grant(secret: bytes, user_id: int, sha256: str, now: float | None = None) -> str:
    """``user.sha256.expires.signature``: what a replica sends for one file of one user's run."""
    expires = int((time.time() if now is None else now) + GRANT_LIFETIME_S)
    message = f"{user_id}.{sha256}.{expires}"
    return f"{message}.{_signature(secret, message)}"


def _signature(secret: bytes, message: str) -> str:
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()


def grant_user(secret: bytes | None, grant: str, sha256: str) -> int:
    """The user a valid grant for ``sha256`` was made for; ``Forbidden`` for anything else."""
    if secret is None:
        raise Forbidden("this site has no generation workers: worker downloads are closed")
    try:
        user, named, expires, signature = grant.split(".")
        user_id, expires_at = int(user), int(expires)
    except ValueError:
        raise Forbidden("the worker credential is malformed") from None
    if not hmac.compare_digest(signature, _signature(secret, f"{user}.{named}.{expires}")):
        raise Forbidden("the worker credential is not valid")
    if named != sha256:
        raise Forbidden("the worker credential is for another file")
    if expires_at < time.time():
        raise Forbidden("the worker credential has expired; the run must be queued again")
    return user_id


@dataclass(frozen=True)
class WorkerFile:
    path: Path  # the file on this machine
    config_dir: Path | None  # a checkpoint's configs-only folder beside it (``<name>.config/``), if any


def worker_file(models_path: Path, secret: bytes | None, grant: str, sha256: str) -> WorkerFile:
    """The library file with ``sha256`` that the grant's user may use (``NotFound`` when there is none: a private
    model of someone else is not told apart from a missing one)."""
    from core.library.library import visible_to
    from core.tables import AiModel, ModelFile, ModelVersion, User

    user_id = grant_user(secret, grant, sha256)
    user = User.get_or_none(User.id == user_id)
    actor: UserInfo | None = user_info(user) if user is not None and not user.is_banned else None
    if actor is None:
        raise Forbidden("the run's user no longer may generate")
    row = (ModelFile.select(ModelFile.stored_path).join(ModelVersion).join(AiModel)
           .where(ModelFile.sha256 == sha256, visible_to(actor))
           .first())
    root = models_path.resolve()
    path = (root / row.stored_path).resolve() if row is not None else None
    if path is None or not path.is_relative_to(root) or not path.is_file():
        raise NotFound("no file with this hash that the run's user may use")
    beside = path.with_suffix(".config")
    return WorkerFile(path, beside if (beside / "model_index.json").is_file() else None)
