"""Helpers for the community tests: pictures with A1111 parameters, uploads, private images."""

from __future__ import annotations

import datetime as dt
import io
import json
import struct
import zlib
from pathlib import Path

import requests
from PIL import Image

from core.accounts.accounts import UserInfo, check_username, create_account, hash_password
from core.generation.pnginfo import format_parameters, parse_parameters, pnginfo
from tests import sample_files
from tests.conftest import bearer

_EXIF_IFD, _USER_COMMENT = 0x8769, 0x9286


def parameters(prompt: str = "a cozy cabin in the woods", model_hash: str | None = None, seed: int = 42,
               negative: str = "blurry") -> str:
    return format_parameters(prompt, negative, steps=25, sampler="DPM++ 2M", cfg_scale=6.5, seed=seed, width=64,
                             height=48, model_hash=model_hash, model_name="dreamy")


def picture(fmt: str = "PNG", params: str | None = None, size: tuple[int, int] = (64, 48),
            color: str = "teal") -> bytes:
    """A small picture; PNGs carry ``params`` as a text chunk, JPEG/WebP as A1111's EXIF UserComment."""
    image = Image.new("RGB", size, color)
    buffer = io.BytesIO()
    if fmt == "PNG":
        image.save(buffer, "PNG", pnginfo=pnginfo(params) if params else None)
    else:
        exif = Image.Exif()
        if params:
            exif.get_ifd(_EXIF_IFD)[_USER_COMMENT] = b"UNICODE\x00" + params.encode("utf-16-be")
        image.save(buffer, fmt, exif=exif.tobytes())
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` pixels but holds almost no data (a decompression bomb probe)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def upload_image(server, account: dict | None, data: bytes, name: str = "pic.png") -> requests.Response:
    headers = bearer(account["token"]) if account else {}
    return requests.post(server.api("/api/v1/images"), headers=headers, files={"file": (name, data)}, timeout=60)


def upload_model(server, account: dict, folder: Path, seed: int, **fields) -> dict:
    """Upload a tiny embedding; returns the model JSON."""
    path = sample_files.embedding(folder / f"{fields.pop('filename', f'emb_{seed}')}.safetensors", seed=seed)
    with open(path, "rb") as handle:
        reply = requests.post(server.api("/api/v1/models"), headers=bearer(account["token"]),
                              files={"file": (path.name, handle)}, data=fields, timeout=60)
    assert reply.status_code == 201, reply.text
    return reply.json()


def private_image(server, owner_id: int, prompt: str = "a private sketch", model_id: int | None = None) -> dict:
    """A generated image as txt2img leaves it (file under outputs/, row unpublished), without running a model."""
    text = parameters(prompt)
    day = dt.date.today().isoformat()
    relative = f"{day}/gen-{owner_id}-{abs(hash(prompt)) % 10**8}.png"
    file = server.outputs_dir / relative
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(picture("PNG", text))
    [(image_id,)] = server.sql(
        "INSERT INTO image (owner_id, path, width, height, prompt, negative_prompt, parameters, meta, seed,"
        " model_hash, model_id, published, created_at, like_count, comment_count)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,false,?,0,0) RETURNING id",
        (owner_id, relative, 64, 48, prompt, "blurry", text, json.dumps(parse_parameters(text)), 42, "",
         model_id, dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat(sep=" ")))
    return {"id": image_id, "path": relative, "file": file}


def image_ids(reply: requests.Response) -> list[int]:
    assert reply.status_code == 200, reply.text
    return [item["id"] for item in reply.json()["items"]]


def account_in(store, username: str, password: str) -> UserInfo:
    """An account made straight in ``store`` (no server, no registration rules); the first one is the admin."""
    name = check_username(username)
    password_hash = hash_password(password)
    with store.write():
        return create_account(name, password_hash)
