"""An app process's upkeep threads (``core.periodic``): followers of a publication made just before a crash are
told when the site starts again, and a database that goes away while the threads run is said once, in one line,
with the work picked up again when it is back."""

from __future__ import annotations

import logging
import time

from core import notifications
from core.library.trending import ageing_writer
from core.migrations import open_store
from core.notifications import Notification, PendingFanout, fanout_writer
from core.tables import AiModel, Follow, User

DATABASES = ("sqlite", "postgresql")  # the tests taking a store run on both (tests/conftest.py)


def _person(name: str) -> User:
    return User.create(username=name, username_key=name, username_skeleton=name, password_hash="x")


def _publish_unseen(store) -> tuple[User, User]:
    """A creator with a follower publishes a model while no writer runs (the process died right after)."""
    creator, follower = _person("creator"), _person("follower")
    Follow.create(follower=follower, followee=creator)
    with store.write():
        model = AiModel.create(owner=creator, name="Fresh", type="checkpoint", base_model="SD 1.5")
        notifications.notify_followers(creator.id, notifications.NEW_MODEL, model=model.id)
    return creator, follower


def _told(follower: User) -> int:
    return Notification.select().where(Notification.recipient == follower.id).count()


def _wait_for(condition, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_followers_of_a_publication_made_before_a_crash_are_told_at_the_next_start(store_target):
    store = open_store(store_target)
    try:
        _, follower = _publish_unseen(store)
        assert _told(follower) == 0 and PendingFanout.select().count() == 1
        writer = fanout_writer(store).start()  # the next start of the site
        try:
            assert _wait_for(lambda: _told(follower) == 1)
            assert PendingFanout.select().count() == 0
        finally:
            writer.close()
    finally:
        store.close()


def test_a_lost_database_is_said_once_and_the_work_resumes_when_it_is_back(tmp_path, caplog):
    store = open_store(str(tmp_path / "site.db"))
    where = store.db.database
    try:
        _, follower = _publish_unseen(store)
        store.db.close()
        store.db.init(str(tmp_path / "gone" / "site.db"))  # the database's disk is away
        threads = [fanout_writer(store), ageing_writer(store)]
        for thread in threads:
            thread.interval = 0.05
        with caplog.at_level(logging.WARNING, logger="visionary.upkeep"):
            for thread in threads:
                thread.start()
            assert _wait_for(lambda: len(caplog.records) >= 2)
            time.sleep(0.5)  # ten more failing turns each
            store.db.close()
            store.db.init(where)  # back
            try:
                assert _wait_for(lambda: _told(follower) == 1)
            finally:
                for thread in threads:
                    thread.close()
        lines = [record.getMessage() for record in caplog.records]
        assert len(lines) == 2, lines  # one line per thread, however many turns failed
        assert any(line.startswith("telling followers of new publications failed (will retry): ") for line in lines)
        assert any(line.startswith("ageing the period rankings' counters failed (will retry): ") for line in lines)
        assert all("\n" not in line and "Traceback" not in line for line in lines)
    finally:
        store.close()
