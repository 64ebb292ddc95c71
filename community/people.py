"""Finding people: users ranked by how well their name (then bio) matches, for the Search tab and the API."""

from __future__ import annotations

from core.accounts.accounts import USER_INFO_COLUMNS, user_info_of
from core.compiled_sql import rows_for_ids
from core.paging import Page, paginate, slice_page
from core.search import USERS
from core.search.engine import compiled_scope, ranked_ids
from core.tables import User

MAX_PEOPLE_PAGE = 200  # Civitai's creators listing allows up to 200 a page


def _all_user_ids(_viewer: None):
    return User.select(User.id)


def _users_by_id(ids: list[int]):
    return User.select(*USER_INFO_COLUMNS).where(User.id.in_(ids))


def everyone(page: int = 1, limit: int = 20) -> Page:
    """Every user, by name: a Page of UserInfo."""
    rows = User.select(*USER_INFO_COLUMNS).order_by(User.username_key, User.id).tuples()
    return paginate(rows, page, limit, lambda page_rows: [user_info_of(row) for row in page_rows],
                    max_size=MAX_PEOPLE_PAGE)


def search_users(text: str, page: int = 1, limit: int = 20) -> Page:
    """Users ranked by name (then bio) match: a Page of UserInfo."""
    ranked = ranked_ids(USERS, text, _all_user_ids(None), compiled_scope(_all_user_ids, None))
    ids, page, limit = slice_page(ranked, page, limit, max_size=MAX_PEOPLE_PAGE)
    rows = {row[0]: row for row in rows_for_ids(User._meta.database, _users_by_id, ids)}
    return Page(tuple(user_info_of(rows[i]) for i in ids if i in rows), len(ranked), page, limit)
