"""Per-user settings kept in the database (``user_preference``), e.g. the A1111 API's checkpoint."""

from __future__ import annotations

from peewee import EXCLUDED

from core.store import Store
from core.tables import UserPreference


def get_preference(user_id: int, key: str) -> str | None:
    row = UserPreference.get_or_none(UserPreference.user == user_id, UserPreference.key == key)
    return None if row is None else row.value


def set_preference(store: Store, user_id: int, key: str, value: str) -> None:
    with store.write():
        (UserPreference.insert(user=user_id, key=key, value=value)
         .on_conflict(conflict_target=[UserPreference.user, UserPreference.key],
                      update={UserPreference.value: EXCLUDED.value})
         .execute())
