"""Photos of an article: uploaded through the chassis's file store (real type checked,
metadata and EXIF GPS removed), renditions for the web and thumbnails made by the worker.

An upload is refused before it is decoded when its header declares more pixels than
`SIBER_PHOTO_MAX_PIXELS` (a decompression bomb); the store decodes the rest in full.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import warnings
from typing import Any

from sqlalchemy import func, select

from services.common.errors import Invalid, NotFound
from services.common.files import IMAGE_TYPES, FileMissing, UploadRules, store_upload
from services.common.runtime import Runtime
from services.siber import articles, domain, presenters
from services.siber.models import Article, Photo

log = logging.getLogger("simpul.siber.photos")

WEB_SIZE = (1600, 1600)
THUMB_SIZE = (480, 480)
VARIANTS = ("original", "web", "thumb")
FIELD = "content_base64"
NOT_FOUND = "Foto tidak ditemukan."


def _decoded(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Invalid("Isian tidak valid.", {FIELD: ["Bukan base64 yang sah."]}) from exc


def _check_pixels(data: bytes, limit: int) -> None:
    """Refuse what declares too many pixels, reading the header only; what cannot even be
    opened is left to the store, which names the problem."""
    # Pillow loads with the first photo a worker handles, not with the app (see
    # `services.common.files`).
    from PIL import Image

    try:
        with warnings.catch_warnings():
            # Pillow warns of a possible bomb on opening; the count below decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                width, height = probe.size
    except Exception:  # noqa: BLE001 - hostile bytes: the store refuses them with its own words
        return
    if width * height > limit:
        raise Invalid(
            "Isian tidak valid.",
            {FIELD: ["Gambar terlalu besar ukurannya (jumlah piksel); perkecil lalu kirim lagi."]},
        )


def _size_of(data: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return image.size


def upload(rt: Runtime, principal, article_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """Add a photo to an article its principal may edit now."""
    settings = rt.settings
    raw = _decoded(data[FIELD])
    _check_pixels(raw, settings.photo_max_pixels)
    now = articles.now_of(rt)
    with rt.uow() as uow:
        article = articles.load_for_staff(uow.session, principal, article_id, lock=True)
        domain.check_author_opd(principal, article.opd)
        domain.check_editable(article.status, domain.actor_of(principal))
        count = uow.session.scalar(select(func.count()).select_from(Photo).where(Photo.article_id == article.id))
        if count >= settings.photo_max_count:
            raise Invalid("Isian tidak valid.", {FIELD: [f"Paling banyak {settings.photo_max_count} foto per berita."]})
        rules = UploadRules(max_bytes=settings.photo_max_bytes, allowed_types=IMAGE_TYPES)
        stored = store_upload(rt.files, raw, data["filename"], rules, field=FIELD)
        width, height = _size_of(rt.files.get(stored.key))
        photo = Photo(
            article_id=article.id,
            key=stored.key,
            size=stored.size,
            content_type=stored.content_type,
            sha256=stored.sha256,
            width=width,
            height=height,
            caption=data["caption"],
            credit=data["credit"],
            position=data.get("position", count),
            renditions_ready=False,
            uploaded_by=principal.sub,
            created_at=now,
        )
        uow.session.add(photo)
        article.updated_at = now
        uow.session.flush()
        view = presenters.photo_view(photo)
        uow.commit()
        return view


def _photo_for_staff(session, principal, photo_id: int, *, lock: bool = False) -> tuple[Photo, Article]:
    statement = select(Photo).where(Photo.id == photo_id)
    if lock:
        statement = statement.with_for_update()
    photo = session.scalar(statement)
    if photo is None:
        raise NotFound(NOT_FOUND)
    try:
        article = articles.load_for_staff(session, principal, photo.article_id, lock=lock)
    except NotFound as exc:
        raise NotFound(NOT_FOUND) from exc
    return photo, article


def update(rt: Runtime, principal, photo_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """Change a photo's caption, credit or position."""
    with rt.uow() as uow:
        photo, article = _photo_for_staff(uow.session, principal, photo_id, lock=True)
        domain.check_author_opd(principal, article.opd)
        domain.check_editable(article.status, domain.actor_of(principal))
        for field in ("caption", "credit", "position"):
            if data.get(field) is not None:
                setattr(photo, field, data[field])
        article.updated_at = articles.now_of(rt)
        view = presenters.photo_view(photo)
        uow.commit()
        return view


def remove(rt: Runtime, principal, photo_id: int) -> None:
    """Take a photo off an article (the stored bytes stay: another row may share them)."""
    with rt.uow() as uow:
        photo, article = _photo_for_staff(uow.session, principal, photo_id, lock=True)
        domain.check_author_opd(principal, article.opd)
        domain.check_editable(article.status, domain.actor_of(principal))
        uow.session.delete(photo)
        article.updated_at = articles.now_of(rt)
        uow.commit()


def content(rt: Runtime, principal, photo_id: int, variant: str) -> tuple[bytes, str]:
    """The bytes of one variant: staff see their scope's photos, everyone a published
    article's. A rendition not made yet is not found (the original is there)."""
    with rt.uow() as uow:
        photo = uow.session.scalar(select(Photo).where(Photo.id == photo_id))
        if photo is None:
            raise NotFound(NOT_FOUND)
        article = uow.session.get(Article, photo.article_id)
        visible = domain.is_public(article.status) or (
            principal is not None and domain.scope_of(principal).allows(article.opd)
        )
        if not visible:
            raise NotFound(NOT_FOUND)
        key = {"original": photo.key, "web": photo.web_key, "thumb": photo.thumb_key}[variant]
        content_type = photo.content_type if variant == "original" else "image/jpeg"
    if key is None:
        raise NotFound("Versi foto ini belum tersedia; coba lagi sebentar lagi.")
    try:
        return rt.files.get(key), content_type
    except FileMissing as exc:
        raise NotFound(NOT_FOUND) from exc


# -- renditions (worker) ----------------------------------------------------------------------


def rendition(data: bytes, size: tuple[int, int]) -> bytes:
    """A JPEG no larger than `size`, the camera's orientation applied, without metadata."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as image:
        upright = ImageOps.exif_transpose(image) or image
        if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info:
            rgba = upright.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.split()[-1])
        else:
            flat = upright.convert("RGB")
        flat.thumbnail(size, Image.Resampling.LANCZOS)
        out = io.BytesIO()
        flat.save(out, format="JPEG", quality=85, optimize=True, progressive=True)
        return out.getvalue()


def make_renditions(rt: Runtime, *, limit: int = 5) -> list[int]:
    """Make the web and thumbnail versions of photos that lack them; the ids done.

    Rows are claimed with `FOR UPDATE SKIP LOCKED` (PostgreSQL), so two workers share the
    work; a photo whose bytes cannot be processed is marked and not tried again.
    """
    done: list[int] = []
    with rt.uow() as uow:
        pending = list(
            uow.session.scalars(
                select(Photo)
                .where(Photo.renditions_ready.is_(False), Photo.rendition_error.is_(None))
                .order_by(Photo.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        for photo in pending:
            try:
                original = rt.files.get(photo.key)
                photo.web_key = rt.files.put(rendition(original, WEB_SIZE), "image/jpeg")
                photo.thumb_key = rt.files.put(rendition(original, THUMB_SIZE), "image/jpeg")
                photo.renditions_ready = True
                done.append(photo.id)
            except FileMissing:
                photo.rendition_error = "Berkas asli tidak ditemukan di penyimpanan."
                log.warning("photo original missing", extra={"photo_id": photo.id})
            except Exception:  # noqa: BLE001 - one bad photo must not stop the others
                photo.rendition_error = "Gambar tidak dapat diolah."
                log.exception("photo rendition failed", extra={"photo_id": photo.id})
        uow.commit()
    return done
