"""Photos: a resident's with a report, a handler's with a note, a department's as its completion evidence.

One upload serves them all (`POST /v1/photos`, multipart). Each photo is checked by decoding it (never by its
name or declared type), turned upright, shrunk to at most `LONG_SIDE` pixels and re-encoded (JPEG; PNG stays
PNG) with nothing but its pixels: no EXIF (where it was taken, which camera), no ICC or text chunks. A
thumbnail is made beside it. Reports, notes and evidence carry the photo's URL where they carry any photo URL
(`photo_urls`, `evidence_urls`), so the wire contracts stay as they were.

A photo is shown only to people who may see one of the cases it is attached to (`case_photos`): the case's
residents (their access token) and the organisations that may view the case (their API key, the same rule as
the case itself).
"""

import asyncio
import hashlib
import re
from dataclasses import dataclass
from io import BytesIO
from typing import Annotated
from urllib.parse import urlsplit

import asyncpg
from fastapi import APIRouter, File, Form, Header, Path, Request, Response, UploadFile, status
from PIL import Image, ImageOps, UnidentifiedImageError
from pydantic import BaseModel
from temporalio.client import Client

from api import access, calls
from api.auth import OptionalCaller, Principal, check_view
from api.dependencies import AppSettings, DbPool, TemporalClient
from api.errors import ApiError, FieldError, responses, unauthorized
from api.limits import upload_limit
from client.photos import NAME, FileStore, PhotoStore
from client.settings import Settings
from i18n.language import _
from schemas.case import CaseId

MAX_PHOTOS = 4  # per report, and per upload
MAX_PHOTO_BYTES = 10 * 1024 * 1024  # what a phone's camera makes, with room to spare
MAX_PIXELS = 60_000_000  # larger is a decompression bomb, not a photo of a corridor
LONG_SIDE = 2048  # pixels kept: enough to see the damage, not a print
THUMBNAIL_SIDE = 320
UPLOAD_BODY = MAX_PHOTOS * MAX_PHOTO_BYTES + 256 * 1024  # the photos and a report's fields around them
_FORMATS = {"JPEG", "MPO", "PNG", "WEBP"}  # MPO: the multi-picture JPEG some phones write
_MEDIA_TYPES = {"jpg": "image/jpeg", "png": "image/png"}
_IN_URL = re.compile(r"/v1/photos/([0-9a-f]{64}\.(?:jpg|png))$")
_PHOTO_ERRORS = {
    413: "a photo is larger than 10 MB, or the request larger than the photos allow",
    429: "too many uploads from this address; send again after Retry-After",
}

PhotoName = Annotated[
    str, Path(pattern=NAME.pattern, description="the photo's id: its content hash and type, e.g. 3f…a9.jpg")
]
router = APIRouter(prefix="/v1/photos", tags=["photos"])


class PhotoRefused(Exception):
    """A photo that is not stored, and why (in words a resident reads)."""

    def __init__(self, reason: str, too_large: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.too_large = too_large

    def error(self, location: tuple[str | int, ...]) -> ApiError:
        if self.too_large:
            return ApiError(status.HTTP_413_CONTENT_TOO_LARGE, self.reason)
        return FieldError(location, self.reason, "photo_refused")


@dataclass(frozen=True)
class Prepared:
    """A photo as it is kept: re-encoded, with its thumbnail."""

    name: str  # <sha256 of content>.<jpg|png>
    content: bytes
    thumbnail: bytes
    width: int
    height: int

    @property
    def thumbnail_name(self) -> str:
        return thumbnail_of(self.name)


def thumbnail_of(name: str) -> str:
    return name.rsplit(".", 1)[0] + ".thumb.jpg"


def store_for(settings: Settings) -> PhotoStore:
    return FileStore(settings.photos)


def prepare(raw: bytes, label: str) -> Prepared:
    """Decode `raw` and re-encode it with its pixels only; `label` names it in a refusal ("photo 2")."""
    try:
        with Image.open(BytesIO(raw)) as opened:
            if opened.format not in _FORMATS:
                raise PhotoRefused(_("%(photo)s is not a photo: send JPEG, PNG or WebP") % {"photo": label})
            width, height = opened.size
            if width * height > MAX_PIXELS:
                raise PhotoRefused(
                    _("%(photo)s has %(pixels)s million pixels; at most %(most)s million")
                    % {"photo": label, "pixels": width * height // 1_000_000, "most": MAX_PIXELS // 1_000_000}
                )
            keep_png = opened.format == "PNG"
            image = ImageOps.exif_transpose(opened)  # upright as shot: the orientation tag goes with the rest
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        raise PhotoRefused(_("%(photo)s is not a readable photo (JPEG, PNG or WebP)") % {"photo": label}) from None
    image.info.clear()  # EXIF, ICC profile, text chunks: nothing but pixels is written
    image.thumbnail((LONG_SIDE, LONG_SIDE))
    content = _encoded(image, keep_png)
    small = image.copy()
    small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    name = f"{hashlib.sha256(content).hexdigest()}.{'png' if keep_png else 'jpg'}"
    return Prepared(name, content, _encoded(small, png=False), image.width, image.height)


def _encoded(image: Image.Image, png: bool) -> bytes:
    out = BytesIO()
    if png:
        image.convert("RGBA" if image.mode in ("RGBA", "LA", "P", "PA") else "RGB").save(out, "PNG", optimize=True)
    else:
        if image.mode in ("RGBA", "LA", "P", "PA"):
            image = image.convert("RGBA")
            flat = Image.new("RGB", image.size, "white")
            flat.paste(image, mask=image.getchannel("A"))
            image = flat
        image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


async def keep(store: PhotoStore, files: list[UploadFile]) -> list[Prepared]:
    """Check every photo, then store them all: a refused one (too many, too large, not a photo) stores none."""
    if len(files) > MAX_PHOTOS:
        raise PhotoRefused(_("at most %(most)s photos; this was %(count)s") % {"most": MAX_PHOTOS, "count": len(files)})
    raws: list[bytes] = []
    for number, upload in enumerate(files, 1):
        label = _("photo %(number)s") % {"number": number}
        if upload.size is not None and upload.size > MAX_PHOTO_BYTES:
            raise PhotoRefused(_too_large(label, upload.size), too_large=True)
        raw = await upload.read(MAX_PHOTO_BYTES + 1)
        if len(raw) > MAX_PHOTO_BYTES:
            raise PhotoRefused(_too_large(label, upload.size or len(raw)), too_large=True)
        raws.append(raw)
    prepared = [
        await asyncio.to_thread(prepare, raw, _("photo %(number)s") % {"number": n}) for n, raw in enumerate(raws, 1)
    ]
    for photo in prepared:
        await asyncio.to_thread(_save, store, photo)
    return prepared


def _too_large(label: str, size: int) -> str:
    return _("%(photo)s is %(size).1f MB; at most %(most)s MB") % {
        "photo": label,
        "size": size / 1024 / 1024,
        "most": MAX_PHOTO_BYTES // 1024 // 1024,
    }


def _save(store: PhotoStore, photo: Prepared) -> None:
    store.save(photo.name, photo.content)
    try:
        store.save(photo.thumbnail_name, photo.thumbnail)
    except OSError:
        store.delete(photo.name)  # a photo without its thumbnail is not kept
        raise


def named_in(urls: list) -> list[str]:
    """The stored photos among `urls` (any host: the API may be reached under more than one name)."""
    return [found.group(1) for url in urls if (found := _IN_URL.search(urlsplit(str(url)).path))]


async def check_stored(store: PhotoStore, names: list[str], field: str) -> None:
    for name in names:
        if await asyncio.to_thread(store.open, name) is None:
            raise FieldError(("body", field), _("unknown photo %(photo)s: upload it first") % {"photo": name})


async def attach(pool: asyncpg.Pool, case_id: str, names: list[str]) -> None:
    if names:
        await pool.executemany(
            "INSERT INTO case_photos (photo, case_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            [(name, case_id) for name in names],
        )


async def attached(pool: asyncpg.Pool, name: str) -> list[str]:
    """The cases a photo is attached to."""
    rows = await pool.fetch("SELECT case_id FROM case_photos WHERE photo = $1 ORDER BY attached_at", name)
    return [row["case_id"] for row in rows]


async def of_case(pool: asyncpg.Pool, case_id: str) -> list[str]:
    """A case's photos, first attached first: the report's, then what handlers and departments added."""
    rows = await pool.fetch("SELECT photo FROM case_photos WHERE case_id = $1 ORDER BY attached_at, photo", case_id)
    return [row["photo"] for row in rows]


def base_url(request: Request, settings: Settings) -> str:
    return (settings.public_url or str(request.base_url)).rstrip("/")


def photo_url(base: str, name: str) -> str:
    return f"{base}/v1/photos/{name}"


async def served(store: PhotoStore, name: str, thumbnail: bool) -> Response:
    content = await asyncio.to_thread(store.open, thumbnail_of(name) if thumbnail else name)
    if content is None:
        raise ApiError(404, _("unknown photo %(photo)s") % {"photo": name})
    media_type = "image/jpeg" if thumbnail else _MEDIA_TYPES[name.rsplit(".", 1)[1]]
    # content-addressed: a name always means the same bytes; private: only for those allowed to see the case
    headers = {"Cache-Control": "private, max-age=86400, immutable", "X-Content-Type-Options": "nosniff"}
    return Response(content, media_type=media_type, headers=headers)


class PhotoReceipt(BaseModel):
    photo_id: str
    url: str
    thumbnail_url: str
    width: int
    height: int


class Uploaded(BaseModel):
    photos: list[PhotoReceipt]


@router.post(
    "",
    response_model=Uploaded,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 404, 413, 429, 503, meaning=_PHOTO_ERRORS),
    dependencies=[access.declared(access.UPLOADING)],
    summary="Upload photos (1–4, at most 10 MB each; 422: not a photo, unreadable or too many); put their URLs in "
    "a report's photo_urls or a task's evidence_urls. An organisation attaches them to a case it may view (`case`)",
)
async def upload(
    request: Request,
    photo: Annotated[list[UploadFile], File(description="the photos (JPEG, PNG or WebP)")],
    caller: OptionalCaller,
    client: TemporalClient,
    pool: DbPool,
    settings: AppSettings,
    case: Annotated[CaseId | None, Form(description="organisations: the case the photos are for")] = None,
) -> Uploaded:
    if caller is None:
        await upload_limit(request)
        if case is not None:
            raise unauthorized(_("photos for a case come from an organisation's API key"))
    elif case is not None:
        check_view(caller, await calls.case_view(client, pool, case))
    try:
        prepared = await keep(store_for(settings), photo)
    except PhotoRefused as refused:
        raise refused.error(("body", "photo")) from None
    if case is not None:
        await attach(pool, case, [p.name for p in prepared])
    base = base_url(request, settings)
    return Uploaded(
        photos=[
            PhotoReceipt(
                photo_id=p.name,
                url=photo_url(base, p.name),
                thumbnail_url=f"{photo_url(base, p.name)}/thumbnail",
                width=p.width,
                height=p.height,
            )
            for p in prepared
        ]
    )


CaseTokenHeader = Annotated[
    str | None, Header(alias="X-Case-Token", description="a resident's access token for a case the photo is in")
]
_SERVED = {200: {"content": {"image/jpeg": {}, "image/png": {}}, "description": "the photo"}}


@router.get(
    "/{photo_id}",
    response_class=Response,
    responses={**_SERVED, **responses(401, 403, 404, 503)},
    dependencies=[access.declared(access.PHOTO)],
    summary="A photo, for the residents of a case it is in and the organisations that may view that case",
)
async def photo(
    photo_id: PhotoName,
    caller: OptionalCaller,
    client: TemporalClient,
    pool: DbPool,
    settings: AppSettings,
    case_token: CaseTokenHeader = None,
) -> Response:
    await _may_see(client, pool, photo_id, caller, case_token)
    return await served(store_for(settings), photo_id, thumbnail=False)


@router.get(
    "/{photo_id}/thumbnail",
    response_class=Response,
    responses={**_SERVED, **responses(401, 403, 404, 503)},
    dependencies=[access.declared(access.PHOTO)],
    summary=f"The photo's thumbnail (JPEG, at most {THUMBNAIL_SIDE} pixels a side)",
)
async def thumbnail(
    photo_id: PhotoName,
    caller: OptionalCaller,
    client: TemporalClient,
    pool: DbPool,
    settings: AppSettings,
    case_token: CaseTokenHeader = None,
) -> Response:
    await _may_see(client, pool, photo_id, caller, case_token)
    return await served(store_for(settings), photo_id, thumbnail=True)


async def _may_see(client: Client, pool: asyncpg.Pool, name: str, caller: Principal | None, token: str | None) -> None:
    if caller is None and not token:
        raise unauthorized(_("photos are shown to the residents of their case (X-Case-Token) and to organisations"))
    for case_id in await attached(pool, name):
        if caller is not None and caller.may_view(await calls.case_view(client, pool, case_id)):
            return
        if token and await calls.resident_role(client, pool, case_id, token) is not None:
            return
    raise ApiError(403, _("this photo belongs to no case you may see"))
