"""What the Admin tab and ``GET /api/v1/admin/generation-pool`` show of generation: the backend's replicas (the
checkpoints each holds, its loads and downloads, what it runs) and the queue, per user."""

from __future__ import annotations

from collections import Counter

from core.accounts.accounts import UserInfo, require_admin
from core.tables import User


def generation_pool(context, actor: UserInfo | None) -> dict:
    """``{"backend", "address", "replicas": [...], "queue": [{"user", "running", "waiting"}], "error"?}``."""
    require_admin(actor)
    view = context.generator.pool()
    running = Counter(job.owner for job in context.queue.running())
    waiting = Counter(job.owner for job in context.queue.waiting())
    owners = sorted(set(running) | set(waiting), key=lambda owner: (-(running[owner] + waiting[owner]), str(owner)))
    names = dict(User.select(User.id, User.username).where(User.id.in_([o for o in owners if o is not None]))
                 .tuples()) if owners else {}
    view["queue"] = [{"user": names.get(owner, str(owner)), "running": running[owner], "waiting": waiting[owner]}
                     for owner in owners]
    return view
