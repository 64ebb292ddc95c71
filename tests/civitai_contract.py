"""Civitai's public API as pydantic models, written from its REST reference and the handlers and zod schemas of
civitai/civitai (``src/pages/api/v1/**``, ``src/server/schema/model.schema.ts``, ``image.schema.ts``).

Civitai's required fields are required, with Civitai's types (strict: a number is not a string, a bool is not a
number); nullable where Civitai sends null.  ``extra="allow"``: our own additions (``visibility``, ``isDemo``,
...) are allowed beside them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ModelType = Literal["Checkpoint", "TextualInversion", "Hypernetwork", "AestheticGradient", "LORA", "LoCon", "DoRA",
                    "Controlnet", "Upscaler", "MotionModule", "VAE", "Poses", "Wildcards", "Workflows", "Detection",
                    "Other"]
CommercialUse = Literal["None", "Image", "RentCivit", "Rent", "Sell"]
ScanResult = Literal["Pending", "Success", "Danger", "Error"]
Availability = Literal["Public", "Private", "EarlyAccess", "Unsearchable"]
NsfwLevelName = Literal["None", "Soft", "Mature", "X"]
ModelFileType = Literal["Model", "Text Encoder", "Pruned Model", "Negative", "Training Data", "VAE", "Config",
                        "Archive"]
FileFormat = Literal["SafeTensor", "PickleTensor", "GGUF", "Diffusers", "Core ML", "ONNX", "Other"]
Number = float | int


class Contract(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class PageMetadata(Contract):
    totalItems: int | None = None
    currentPage: int | None = None
    pageSize: int
    totalPages: int | None = None
    nextPage: str | None
    prevPage: str | None = None
    nextCursor: str | int | None = None


class Creator(Contract):
    username: str
    image: str | None


class ModelStats(Contract):
    downloadCount: int
    favoriteCount: int
    thumbsUpCount: int
    thumbsDownCount: int
    commentCount: int
    ratingCount: int
    rating: Number
    tippedAmountCount: int


class VersionStats(Contract):
    downloadCount: int
    ratingCount: int
    rating: Number
    thumbsUpCount: int


class FileMetadata(Contract):
    fp: Literal["fp16", "fp32", "bf16", "fp8", "nf4"] | None = None
    size: Literal["full", "pruned"] | None = None
    format: FileFormat | None = None


class FileHashes(Contract):
    """Every hash kind Civitai lists for a file (``src/server/schema/model-file.schema.ts``), upper-case hex."""

    AutoV1: str
    AutoV2: str
    AutoV3: str
    SHA256: str
    CRC32: str
    BLAKE3: str


class ModelFile(Contract):
    id: int
    name: str
    sizeKB: Number
    type: ModelFileType
    primary: bool | None = None
    metadata: FileMetadata
    hashes: FileHashes
    pickleScanResult: ScanResult
    pickleScanMessage: str | None
    virusScanResult: ScanResult
    scannedAt: str | None
    downloadUrl: str


class VersionImage(Contract):
    url: str
    nsfwLevel: int
    width: int
    height: int
    hash: str | None
    type: Literal["image", "video"]
    meta: dict | None


class ModelOfVersion(Contract):
    name: str
    type: ModelType
    nsfw: bool
    poi: bool


class ModelVersionInModel(Contract):
    id: int
    name: str
    createdAt: str
    updatedAt: str
    publishedAt: str | None
    status: Literal["Draft", "Training", "Published", "Scheduled", "Deleted", "UnpublishedViolation"]
    availability: Availability
    description: str | None
    nsfwLevel: int
    baseModel: str
    baseModelType: str | None
    air: str = Field(pattern=r"^urn:air:[a-z0-9]+:[a-z]+:[a-z]+:\d+@\d+$")
    uploadType: Literal["Created", "Trained"]
    trainedWords: list[str]
    downloadUrl: str
    stats: VersionStats
    files: list[ModelFile]
    images: list[VersionImage]


class ModelVersion(ModelVersionInModel):
    """``/model-versions/{id}`` and by-hash: a version with its model."""

    modelId: int
    model: ModelOfVersion


class Model(Contract):
    id: int
    name: str
    description: str | None
    type: ModelType
    allowNoCredit: bool
    allowCommercialUse: list[CommercialUse]
    allowDerivatives: bool
    allowDifferentLicense: bool
    poi: bool
    minor: bool
    nsfw: bool
    nsfwLevel: int
    availability: Availability
    mode: Literal["Archived", "TakenDown"] | None
    supportsGeneration: bool
    tags: list[str]
    creator: Creator
    stats: ModelStats
    modelVersions: list[ModelVersionInModel]


class ModelsPage(Contract):
    items: list[Model]
    metadata: PageMetadata


class ImageStats(Contract):
    cryCount: int
    laughCount: int
    likeCount: int
    dislikeCount: int
    heartCount: int
    commentCount: int


class Image(Contract):
    id: int
    url: str
    hash: str | None
    width: int
    height: int
    nsfw: bool
    nsfwLevel: NsfwLevelName
    browsingLevel: int
    type: Literal["image", "video"]
    createdAt: str
    postId: int | None
    baseModel: str | None
    modelVersionIds: list[int]
    stats: ImageStats
    meta: dict | None
    username: str | None


class ImagesPage(Contract):
    items: list[Image]
    metadata: PageMetadata


class CreatorItem(Contract):
    username: str
    modelCount: int
    link: str
    image: str | None = None


class CreatorsPage(Contract):
    items: list[CreatorItem]
    metadata: PageMetadata


class TagItem(Contract):
    name: str
    modelCount: int
    link: str


class TagsPage(Contract):
    items: list[TagItem]
    metadata: PageMetadata


class VersionMini(Contract):
    """``/model-versions/mini/{id}`` (``src/pages/api/v1/model-versions/mini/[id].ts``): the version's primary
    file, or the file ``modelFileId`` (its AIR then ends in ``+<file id>``)."""

    air: str = Field(pattern=r"^urn:air:[a-z0-9]+:[a-z]+:[a-z]+:\d+@\d+(\+\d+)?$")
    versionName: str
    modelName: str
    userId: int
    baseModel: str
    availability: Availability
    publishedAt: str | None
    size: Number | None
    fileType: ModelFileType
    fileName: str
    hashes: FileHashes
    downloadUrls: list[str] | None
    format: FileFormat | None
    canGenerate: bool
    isFeatured: bool
    requireAuth: bool
    checkPermission: bool
    earlyAccessEndsAt: str | None = None
    freeTrialLimit: int | None = None
    additionalResourceCharge: bool
    minor: bool
    sfwOnly: bool
    fees: list[dict]
    payoutEnabled: bool


class Enums(Contract):
    """``/enums`` (``src/pages/api/v1/enums.ts``): Civitai's four lists; our other lists are extras."""

    ModelType: list[ModelType]
    ModelFileType: list[ModelFileType]
    BaseModel: list[str]
    BaseModelType: list[Literal["Standard", "Inpainting", "Refiner", "Pix2Pix"]]
