"""Full-text search: the FTS5 index kept in step by triggers, ranking, safety of user text, and the REST routes."""

from __future__ import annotations

import pytest
import requests

from community.people import search_users
from core.library import search
from core.library.library import ModelQuery, list_models
from core.library.library_edit import _set_tags
from core.migrations import MIGRATIONS, open_store
from core.search import IMAGES, fts
from core.search.engine import ranked_ids
from core.tables import AiModel, Image, ModelFile, ModelVersion, User
from tests.community_helpers import account_in as register_account
from tests.community_helpers import parameters, picture, upload_image, upload_model
from tests.conftest import bearer, register

HOSTILE_QUERIES = ['"', '*', "AND (", "OR", "NOT", 'name:"x', "(((", "a*b*", "^", "-", "NEAR(a b)", "'; DROP",
                   "\\", "💥", "  ", "{name}: x", "x" * 600]


DATABASES = ("sqlite", "postgresql")  # every test here that takes a store or a server runs on both


def fresh_database(request, tmp_path, database) -> str:
    return str(tmp_path / "search.db") if database == "sqlite" else request.getfixturevalue("postgres").new_database()


@pytest.fixture()
def store(request, tmp_path, database):
    opened = open_store(fresh_database(request, tmp_path, database))
    yield opened
    opened.close()


def indexed_models(store) -> int:
    """Rows in the models' full-text index (FTS5's table, or PostgreSQL's documents)."""
    table = "model_search" if store.is_sqlite else "model_doc"
    return store.db.execute_sql(f"SELECT count(*) FROM {table}").fetchone()[0]


def add_model(store, owner, name, description="", tags=(), trigger_words="", visibility="public") -> AiModel:
    with store.write():
        model = AiModel.create(owner=owner.id, name=name, type="lora", base_model="SD 1.5", description=description,
                               trigger_words=trigger_words, visibility=visibility)
        _set_tags(model.id, tuple(tags))
    return model


def names(page) -> list[str]:
    return [m.name for m in page.items]


@pytest.fixture()
def people(store):
    alice = register_account(store, "Alice_Paints", "correct horse battery")
    bob = register_account(store, "bob_builds", "correct horse battery")
    return alice, bob


def test_prefix_case_insensitive_and_fields(store, people):
    alice, _ = people
    add_model(store, alice, "Watercolor Dreams", "soft washes of paint", tags=("painterly",),
              trigger_words="wcstyle\nwet paper")
    for query in ("water", "WATERCOLOR", "dre", "Wa", "wash", "PAINTER", "wcst", "wet pap", "alice"):
        assert names(search.search_models(None, query)) == ["Watercolor Dreams"], query
    assert names(search.search_models(None, "watercolour")) == []
    assert names(search.search_models(None, "water nothing")) == []  # every word must match


def test_only_the_last_word_is_a_prefix(store, people):
    alice, _ = people
    add_model(store, alice, "Watercolor Dreams", "soft washes")
    assert names(search.search_models(None, "watercolor dre")) == ["Watercolor Dreams"]
    assert names(search.search_models(None, "water dreams")) == []  # an earlier word matches whole
    assert fts.match_expression("wet pap x") == '"wet" "pap" "x"'
    assert fts.match_expression("wet pap") == '"wet" "pap"*'


def test_name_match_ranks_above_description(store, people):
    alice, _ = people
    add_model(store, alice, "Generic Model", "this one is about a cyberpunk city at night, cyberpunk style")
    add_model(store, alice, "Cyberpunk Neon", "streets")
    add_model(store, alice, "Another", "nothing relevant")
    assert names(search.search_models(None, "cyberpunk")) == ["Cyberpunk Neon", "Generic Model"]
    assert names(search.search_models(None, "cyber")) == ["Cyberpunk Neon", "Generic Model"]


def test_name_matches_older_than_the_window_still_rank_first(store, people, monkeypatch):
    alice, _ = people
    add_model(store, alice, "Lantern Study", "paper")
    for index in range(5):
        add_model(store, alice, f"Newer {index}", "a lantern in the rain")
    add_model(store, alice, "Unrelated", "nothing here")
    monkeypatch.setattr(fts, "WINDOW", 3)  # the 3 newest text matches miss the name match: the name window has it
    for query in ("lantern", "lant"):
        page = search.search_models(None, query)
        assert names(page)[0] == "Lantern Study", query
        assert page.total == 4, query


def test_word_counts_from_the_index_records():
    assert fts._words(bytes([1, 50, 0, 3])) == 54
    assert fts._words(bytes([0x81, 0x00, 2])) == 130  # a column of 128 words takes two bytes
    assert fts._words(None) == 0


def test_edits_show_up_and_deleted_items_vanish(store, people):
    alice, _ = people
    model = add_model(store, alice, "Old Name", tags=("vintage",))
    with store.write():
        AiModel.update(name="Shiny Chrome").where(AiModel.id == model.id).execute()
        _set_tags(model.id, ("metal",))
    assert names(search.search_models(None, "shiny")) == ["Shiny Chrome"]
    assert names(search.search_models(None, "old")) == []
    assert names(search.search_models(None, "vintage")) == []
    assert names(search.search_models(None, "metal")) == ["Shiny Chrome"]
    with store.write():
        User.update(username="Alicia").where(User.id == alice.id).execute()
    assert names(search.search_models(None, "alicia")) == ["Shiny Chrome"]
    with store.write():
        model.delete_instance()
    assert names(search.search_models(None, "shiny")) == []
    assert indexed_models(store) == 0


def test_private_models_only_found_by_their_owner(store, people):
    alice, bob = people
    add_model(store, alice, "Secret Sauce", visibility="private")
    assert names(search.search_models(None, "secret")) == []
    assert names(search.search_models(bob, "secret")) == []
    assert names(search.search_models(alice, "secret")) == ["Secret Sauce"]
    assert list_models(bob, ModelQuery(query="secret")).total == 0
    assert list_models(alice, ModelQuery(query="secret")).total == 1


def test_hostile_queries_never_error(store, people):
    alice, _ = people
    add_model(store, alice, "AND OR NOT", 'quotes " and stars * and (parens)')
    for query in HOSTILE_QUERIES:
        search.search_models(None, query)
        search_users(query)
        search.search_files(None, query)
        list_models(None, ModelQuery(query=query))
    assert names(search.search_models(None, "AND")) == ["AND OR NOT"]
    assert names(search.search_models(None, '"quotes"')) == ["AND OR NOT"]


def test_users_files_and_images(store, people):
    alice, bob = people
    with store.write():
        User.update(bio="I build Alice-themed bots").where(User.id == bob.id).execute()
        model = add_model(store, alice, "Files Holder")
        version = ModelVersion.create(model=model.id, name="v1", base_model="SD 1.5")
        ModelFile.create(version=version, original_name="pastel_style-v2.safetensors", stored_path="lora/x",
                         size=1, sha256="a" * 64, autov2="a" * 10, format="safetensors")
        Image.create(owner=alice.id, path="d/1.png", width=1, height=1, prompt="a red fox in snow", published=True)
    assert [u.username for u in search_users("alice").items] == ["Alice_Paints", "bob_builds"]
    assert [f.original_name for _, f in search.search_files(None, "pastel st").items] == ["pastel_style-v2.safetensors"]
    [(model_id, found)] = search.search_files(None, "pastel").items
    assert (model_id, found.version_id) == (model.id, version.id)
    assert ranked_ids(IMAGES, "FOX sno", Image.select(Image.id)) != []
    with store.write():
        Image.update(prompt="a blue whale").where(Image.path == "d/1.png").execute()
    assert ranked_ids(IMAGES, "fox", Image.select(Image.id)) == []


def test_index_stays_consistent_through_cascades(store, people):
    alice, _ = people
    model = add_model(store, alice, "Cascade Model", tags=("chain",))
    with store.write():
        version = ModelVersion.create(model=model.id, name="v1", base_model="SD 1.5")
        ModelFile.create(version=version, original_name="cascade_file.safetensors", stored_path="lora/c", size=1,
                         sha256="c" * 64, autov2="c" * 10, format="safetensors")
        Image.create(owner=alice.id, path="d/c.png", width=1, height=1, prompt="falling dominoes", published=True)
    assert [f.original_name for _, f in search.search_files(None, "cascade").items] == ["cascade_file.safetensors"]
    with store.write():
        model.delete_instance()
    assert search.search_files(None, "cascade").total == 0
    with store.write():
        User.delete().where(User.id == alice.id).execute()
    assert ranked_ids(IMAGES, "dominoes", Image.select(Image.id)) == []
    assert [u.username for u in search_users("alice").items] == []
    if store.is_sqlite:  # FTS5's own check that each index matches its content
        for table in ("model_search", "file_search", "user_search", "image_search", "model_name_search",
                      "user_name_search"):
            store.db.execute_sql(f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)")
    assert indexed_models(store) == 0


def test_migration_back_fills_rows_made_before_it(request, tmp_path, database):
    path = fresh_database(request, tmp_path, database)
    old = open_store(path, migrations={1: MIGRATIONS[1]})  # a database from before search (2, 7, 13)
    alice = register_account(old, "Early_Bird", "correct horse battery")
    add_model(old, alice, "Ancient Relic", tags=("history",))
    old.close()
    upgraded = open_store(path)
    assert 2 in upgraded.applied_versions()
    assert names(search.search_models(None, "relic")) == ["Ancient Relic"]
    assert names(search.search_models(None, "early")) == ["Ancient Relic"]
    assert [u.username for u in search_users("early").items] == ["Early_Bird"]
    upgraded.close()


def test_name_index_migration_fills_it_from_rows_made_before_it(tmp_path):
    path = str(tmp_path / "old.db")
    old = open_store(path, migrations={k: v for k, v in MIGRATIONS.items() if k < 7})
    alice = register_account(old, "Early_Bird", "correct horse battery")
    add_model(old, alice, "Ancient Relic")
    old.close()
    upgraded = open_store(path)
    try:
        assert 7 in upgraded.applied_versions()
        found = "SELECT rowid FROM {0} WHERE {0} MATCH ?"
        assert upgraded.db.execute_sql(found.format("model_name_search"), ["relic"]).fetchall() != []
        assert upgraded.db.execute_sql(found.format("user_name_search"), ["early"]).fetchall() != []
        with upgraded.write():  # and its triggers keep it in step from then on
            AiModel.update(name="Modern Relic").where(AiModel.name == "Ancient Relic").execute()
        assert upgraded.db.execute_sql(found.format("model_name_search"), ["ancient"]).fetchall() == []
        assert names(search.search_models(None, "modern")) == ["Modern Relic"]
    finally:
        upgraded.close()


# --------------------------------------------------------------------------- over HTTP
@pytest.fixture(scope="module")
def creator(server):
    return register(server, "Zephyr_Maker")


@pytest.fixture(scope="module")
def uploaded(server, creator, tmp_path_factory):
    folder = tmp_path_factory.mktemp("search")
    return {
        "public": upload_model(server, creator, folder, seed=301, name="Moonlit Harbor", tags="night, sea",
                               filename="moonlit_harbor_v1"),
        "private": upload_model(server, creator, folder, seed=302, name="Moonlit Secret", visibility="private"),
    }


def model_names(reply) -> list[str]:
    assert reply.status_code == 200, reply.text
    return [m["name"] for m in reply.json()["items"]]


def test_models_and_files_query_over_http(server, creator, uploaded):
    assert model_names(requests.get(server.api("/api/v1/models"), params={"query": "MOONL"})) == ["Moonlit Harbor"]
    owner_view = requests.get(server.api("/api/v1/models"), params={"query": "moonlit"},
                              headers=bearer(creator["token"]))
    assert sorted(model_names(owner_view)) == ["Moonlit Harbor", "Moonlit Secret"]
    files = requests.get(server.api("/api/v1/files"), params={"query": "harbor"}).json()
    assert [f["name"] for f in files["items"]] == ["moonlit_harbor_v1.safetensors"]
    edited = requests.patch(server.api(f"/api/v1/models/{uploaded['public']['id']}"), json={"name": "Sunny Harbor"},
                            headers=bearer(creator["token"]))
    assert edited.status_code == 200
    assert model_names(requests.get(server.api("/api/v1/models"), params={"query": "sunny"})) == ["Sunny Harbor"]
    assert model_names(requests.get(server.api("/api/v1/models"), params={"query": "moonlit"})) == []


def test_creators_rank_username_above_bio(server, creator, uploaded):
    fan = register(server, "quiet_fan")
    bio = requests.patch(server.api("/api/v1/me"), json={"bio": "big zephyr admirer"}, headers=bearer(fan["token"]))
    assert bio.status_code == 200
    reply = requests.get(server.api("/api/v1/creators"), params={"query": "zeph"})
    assert reply.status_code == 200
    usernames = [u["username"] for u in reply.json()["items"]]
    assert usernames == ["Zephyr_Maker", "quiet_fan"]
    assert reply.json()["items"][0]["modelCount"] >= 1


def test_images_query_over_http(server, creator):
    upload_image(server, creator, picture("PNG", parameters("a lighthouse at dusk, volumetric light")))
    upload_image(server, creator, picture("PNG", parameters("a bowl of ramen")))
    found = requests.get(server.api("/api/v1/images"), params={"query": "LIGHTH"}).json()
    assert [i["meta"]["prompt"] for i in found["items"]] == ["a lighthouse at dusk, volumetric light"]
    upload_image(server, creator, picture("PNG", parameters("lighthouse, lighthouse, stormy lighthouse")))
    upload_image(server, creator, picture("PNG", parameters("an island with a tiny shed and a lighthouse far away "
                                                            "under the clouds, oil painting, detailed")))
    ranked = requests.get(server.api("/api/v1/images"), params={"query": "lighthouse", "sort": "relevance"}).json()
    assert ranked["items"][0]["meta"]["prompt"] == "lighthouse, lighthouse, stormy lighthouse"
    assert ranked["metadata"]["totalItems"] == 3
    assert requests.get(server.api("/api/v1/images"), params={"sort": "relevance"}).status_code == 400


def test_hostile_queries_over_http(server, uploaded):
    for query in HOSTILE_QUERIES:
        for route in ("/api/v1/models", "/api/v1/files", "/api/v1/creators", "/api/v1/images"):
            reply = requests.get(server.api(route), params={"query": query[:500]})
            assert reply.status_code == 200, (route, query, reply.text)
