"""The site's tables: people, sessions, the library (models, versions, files, tags), pictures, comments, likes,
follows, posts, preferences and invites.  Declared unbound; ``core.store.Store`` binds them and
``core.migrations`` builds them.  The tables of notifications, reports, reviews, collections and events live
beside their code."""

from __future__ import annotations

from peewee import (
    SQL,
    BigIntegerField,
    BooleanField,
    CharField,
    DateTimeField,
    DoubleField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from core.store import BaseModel, SchemaVersion, utcnow


def period_count() -> IntegerField:
    """An item's events since its period's watermark (``core.library.trending``; migration 21), indexed: the
    period rankings read items in its order."""
    return IntegerField(default=0, constraints=[SQL("DEFAULT 0")], index=True)


class User(BaseModel):
    username = CharField(max_length=32)
    username_key = CharField(max_length=64, unique=True)  # NFKC + casefold
    username_skeleton = CharField(max_length=64, unique=True)  # look-alike guard
    password_hash = CharField(max_length=128)
    bio = TextField(default="")
    is_admin = BooleanField(default=False)
    is_banned = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)
    is_moderator = BooleanField(default=False, constraints=[SQL("DEFAULT FALSE")])  # granted by an admin (migration 16)
    # How mature and explicit pictures and models are shown to them: hide, blur or show (migration 17).
    content_view = CharField(max_length=8, default="blur", constraints=[SQL("DEFAULT 'blur'")])


class Session(BaseModel):
    token_hash = CharField(max_length=64, unique=True)  # SHA-256 of the token; the token itself is never stored
    user = ForeignKeyField(User, backref="sessions", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField(index=True)


class AuditLog(BaseModel):
    actor = ForeignKeyField(User, null=True, on_delete="SET NULL")
    actor_name = CharField(max_length=32)
    action = CharField(max_length=64)
    target = CharField(max_length=255, default="")
    created_at = DateTimeField(default=utcnow, index=True)


MODEL_TYPES = ("checkpoint", "lora", "embedding", "vae", "upscaler", "other")
VISIBILITIES = ("public", "private")  # what an owner chooses
RATINGS = ("safe", "mature", "explicit")  # a model's or picture's content rating (migration 17), mildest first
CONTENT_VIEWS = ("hide", "blur", "show")  # what a viewer does with what is not safe
HIDDEN = "hidden"  # a model's visibility once a moderator hid it: its owner and the moderators see it


class AiModel(BaseModel):
    """A model in the library (called AiModel so it does not shadow peewee's Model)."""

    owner = ForeignKeyField(User, backref="models", on_delete="CASCADE")
    name = CharField(max_length=200)
    type = CharField(max_length=16, index=True)
    base_model = CharField(max_length=16, index=True)
    description = TextField(default="")
    trigger_words = TextField(default="")  # newline-separated
    visibility = CharField(max_length=8, default="public", index=True)
    source = CharField(max_length=8, default="upload")  # upload | local | hub | demo
    is_demo = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow, index=True)
    updated_at = DateTimeField(default=utcnow)
    like_count = IntegerField(default=0, index=True)
    download_count = IntegerField(default=0, index=True)
    comment_count = IntegerField(default=0)
    preview_path = CharField(max_length=1024, null=True)  # an A1111 "<name>.preview.png", relative to models_dir
    # The owner's licence terms, Civitai's fields and defaults (migration 10).
    allow_no_credit = BooleanField(default=True)
    allow_commercial_use = CharField(max_length=64, default="Image,RentCivit,Rent,Sell")  # comma-joined
    allow_derivatives = BooleanField(default=True)
    allow_different_license = BooleanField(default=True)
    rating = CharField(max_length=8, default="safe", constraints=[SQL("DEFAULT 'safe'")], index=True)  # migration 17
    # Reviews that recommend it / do not (core.reviews; migration 18).
    thumbs_up_count = IntegerField(default=0, constraints=[SQL("DEFAULT 0")], index=True)
    thumbs_down_count = IntegerField(default=0, constraints=[SQL("DEFAULT 0")])
    # Likes, downloads and comments of the last day, week, month and year (core.library.trending).
    likes_day, likes_week, likes_month, likes_year = (period_count() for _ in range(4))
    downloads_day, downloads_week, downloads_month, downloads_year = (period_count() for _ in range(4))
    comments_day, comments_week, comments_month, comments_year = (period_count() for _ in range(4))

    class Meta:
        table_name = "model"


class ModelVersion(BaseModel):
    model = ForeignKeyField(AiModel, backref="versions", on_delete="CASCADE")
    name = CharField(max_length=200)
    base_model = CharField(max_length=16)
    default_weight = FloatField(null=True)  # LoRA weight suggested by its trainer
    created_at = DateTimeField(default=utcnow)
    download_count = IntegerField(default=0)
    thumbs_up_count = IntegerField(default=0, constraints=[SQL("DEFAULT 0")])  # its reviews (migration 18)
    thumbs_down_count = IntegerField(default=0, constraints=[SQL("DEFAULT 0")])


class ModelFile(BaseModel):
    version = ForeignKeyField(ModelVersion, backref="files", on_delete="CASCADE")
    original_name = CharField(max_length=255)
    stored_path = CharField(max_length=1024, unique=True)  # relative to models_dir
    size = BigIntegerField()
    sha256 = CharField(max_length=64, unique=True)
    autov2 = CharField(max_length=10, index=True)
    # The other hashes Civitai names files by (migration 9; None until a scan fills in files older than it,
    # and for diffusers folders, whose identity is the SHA-256 over their files' hashes).
    autov1 = CharField(max_length=8, null=True, index=True)
    autov3 = CharField(max_length=12, null=True, index=True)
    crc32 = CharField(max_length=8, null=True, index=True)
    blake3 = CharField(max_length=64, null=True, index=True)
    format = CharField(max_length=16)
    metadata = TextField(default="{}")  # safetensors __metadata__, JSON
    scan_result = CharField(max_length=255, default="safe")
    is_primary = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)


class Tag(BaseModel):
    name = CharField(max_length=64, unique=True)


class ModelTag(BaseModel):
    model = ForeignKeyField(AiModel, backref="model_tags", on_delete="CASCADE")
    tag = ForeignKeyField(Tag, backref="model_tags", on_delete="CASCADE")

    class Meta:
        indexes = ((("model", "tag"), True),)


class ScanCache(BaseModel):
    """Hashes of files found in models_dir, keyed by path + size + mtime, so rescans read nothing."""

    path = CharField(max_length=1024, unique=True)  # relative to models_dir
    size = BigIntegerField()
    mtime_ns = BigIntegerField()
    sha256 = CharField(max_length=64)
    autov1 = CharField(max_length=8, null=True)  # the other hashes: migration 9 (None: cached before it)
    autov3 = CharField(max_length=12, null=True)
    crc32 = CharField(max_length=8, null=True)
    blake3 = CharField(max_length=64, null=True)

    @classmethod
    def remember(cls, path: str, size: int, mtime_ns: int, **hashes) -> None:
        """Keep (or replace) the hashes of the file at ``path`` (an upsert both SQLite and PostgreSQL speak)."""
        values = {"path": path, "size": size, "mtime_ns": mtime_ns, **hashes}
        cls.insert(**values).on_conflict(
            conflict_target=[cls.path], update={getattr(cls, name): value for name, value in values.items()
                                                if name != "path"}).execute()


class Image(BaseModel):
    owner = ForeignKeyField(User, backref="images", on_delete="CASCADE")
    path = CharField(max_length=1024, unique=True)  # relative to outputs_dir
    width = IntegerField()
    height = IntegerField()
    prompt = TextField(default="")
    negative_prompt = TextField(default="")
    parameters = TextField(default="")  # the A1111 "parameters" text
    meta = TextField(default="{}")  # parsed parameters, JSON
    seed = BigIntegerField(null=True)
    model_hash = CharField(max_length=64, default="", index=True)
    model = ForeignKeyField(AiModel, null=True, backref="images", on_delete="SET NULL")
    model_version = ForeignKeyField(ModelVersion, null=True, backref="images", on_delete="SET NULL")
    published = BooleanField(default=False, index=True)
    published_at = DateTimeField(null=True, index=True)
    created_at = DateTimeField(default=utcnow, index=True)
    like_count = IntegerField(default=0, index=True)
    blurhash = CharField(max_length=64, null=True)  # the placeholder Civitai clients draw (migration 10)
    post_id = IntegerField(null=True, index=True)  # images published together; the first one's id (migration 10)
    comment_count = IntegerField(default=0, index=True)  # migration 12
    hidden = BooleanField(default=False, constraints=[SQL("DEFAULT FALSE")])  # by a moderator, unpublished (migration 16)
    rating = CharField(max_length=8, default="safe", constraints=[SQL("DEFAULT 'safe'")], index=True)  # migration 17
    # Likes and comments of the last day, week, month and year (core.library.trending).
    likes_day, likes_week, likes_month, likes_year = (period_count() for _ in range(4))
    comments_day, comments_week, comments_month, comments_year = (period_count() for _ in range(4))


class Comment(BaseModel):
    """A comment on a model or on a published image: exactly one of ``model`` and ``image`` is set."""

    model = ForeignKeyField(AiModel, null=True, backref="comments", on_delete="CASCADE")  # nullable: migration 12
    image = ForeignKeyField(Image, null=True, backref="comments", on_delete="CASCADE")  # migration 12
    user = ForeignKeyField(User, backref="comments", on_delete="CASCADE")
    body = TextField()
    created_at = DateTimeField(default=utcnow, index=True)
    parent = ForeignKeyField("self", null=True, backref="replies", on_delete="CASCADE")  # answered; migration 15
    # A moderator hid it: its author and the moderators see it (migration 16).
    hidden = BooleanField(default=False, constraints=[SQL("DEFAULT FALSE")])


class ModelLike(BaseModel):
    user = ForeignKeyField(User, on_delete="CASCADE")
    model = ForeignKeyField(AiModel, backref="likes", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("user", "model"), True),)


class ImageLike(BaseModel):
    user = ForeignKeyField(User, on_delete="CASCADE")
    image = ForeignKeyField(Image, backref="likes", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("user", "image"), True),)


class Follow(BaseModel):
    follower = ForeignKeyField(User, backref="following", on_delete="CASCADE")
    followee = ForeignKeyField(User, backref="followers", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("follower", "followee"), True),)


class FailureCount(BaseModel):
    """Failed logins counted under one key (``core.accounts.throttle``; migration 14): in the database, so every
    app process of a site counts the same guesses."""

    key = CharField(max_length=400, primary_key=True)
    count = IntegerField()
    last = DoubleField(index=True)  # seconds since the epoch


class RecentRegistration(BaseModel):
    """An account made from a client address in the last hour (``core.accounts.throttle``; migration 14)."""

    client = CharField(max_length=64, index=True)
    at = DoubleField(index=True)  # seconds since the epoch


class Post(BaseModel):
    """What its author says about images published together (migration 12); its id is the images' ``post_id``
    (their first image's id), so posts published before it existed simply have no row."""

    id = IntegerField(primary_key=True)
    owner = ForeignKeyField(User, backref="posts", on_delete="CASCADE")
    title = CharField(max_length=200, default="")
    description = TextField(default="")
    created_at = DateTimeField(default=utcnow)


class PostTag(BaseModel):
    post = ForeignKeyField(Post, backref="tags", on_delete="CASCADE")
    tag = ForeignKeyField(Tag, backref="posts", on_delete="CASCADE")

    class Meta:
        indexes = ((("post", "tag"), True),)


SCHEMA_MODELS: list[type[Model]] = [SchemaVersion, User, Session, AuditLog, AiModel, ModelVersion, ModelFile, Tag,
                                    ModelTag, ScanCache, Image, Comment, ModelLike, ImageLike, Follow, Post, PostTag,
                                    FailureCount, RecentRegistration]


class UserPreference(BaseModel):
    """One per-user setting, e.g. the checkpoint the A1111 API uses for this user (migration 3)."""

    user = ForeignKeyField(User, backref="preferences", on_delete="CASCADE")
    key = CharField(max_length=64)
    value = TextField()

    class Meta:
        indexes = ((("user", "key"), True),)


class Invite(BaseModel):
    """A single-use registration code made by an admin (migration 8); only the code's SHA-256 is stored."""

    code_hash = CharField(max_length=64, unique=True)
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow, index=True)
    expires_at = DateTimeField(null=True)  # None: never
    used_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    used_at = DateTimeField(null=True)


LICENCE_COLUMNS = ("allow_no_credit", "allow_commercial_use", "allow_derivatives", "allow_different_license")
# Every table of this module, as the site uses them (UserPreference and Invite came with migrations 3 and 8).
TABLES: list[type[Model]] = [*SCHEMA_MODELS, UserPreference, Invite]
