"""The one file store of every service: attachments (LAPOR!), photos (SIBER), notices (PPID).

An upload is checked before anything keeps it (`inspect_upload`): its size, and its REAL
type, found from its bytes, never from the name or the type the client claims. Images are
decoded by Pillow and encoded again without any metadata (EXIF with its GPS position, XMP,
comments, PNG text chunks), the orientation the camera recorded applied to the pixels, so a
citizen's photo never carries where it was taken. A PDF must start as one and end with a
trailer a reader can follow.

Stored bytes are named by their SHA-256 (`sha256/ab/cd/<64 hex>`), so storing the same
bytes twice keeps one copy and a key says nothing about who sent it. Rows hold the key, the
size, the type and the hash (`StoredFile`); the bytes never travel in the event stream.

Where the bytes live is `<SERVICE>_FILES_URL`: a directory (`var/files/<service>` by
default, or `file:///abs/dir`), or a bucket on any S3-compatible server
(`s3://bucket/prefix?endpoint_url=http://minio:9000&region=us-east-1`, credentials from
`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from services.common.errors import Invalid
from services.common.filenames import normalise_filename

if TYPE_CHECKING:
    from PIL import Image

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
PDF = "application/pdf"

_KEY = re.compile(r"^sha256/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})$")
_MB = 1024 * 1024
# The names people know the types by, and the extensions a file of each type may carry.
_LABELS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WebP", PDF: "PDF"}
_EXTENSIONS = {
    "image/jpeg": (".jpg", ".jpeg", ".jfif"),
    "image/png": (".png",),
    "image/webp": (".webp",),
    PDF: (".pdf",),
}
# What counts as an extension: `scan 12.05.2024` has none, it gets the real one added.
_EXTENSION = re.compile(r"\.[a-z][a-z0-9]{0,5}")
_PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
# A reader looks for `%%EOF` within the last 1024 bytes; some writers leave a little more
# behind it, so a little more is searched.
_PDF_TAIL = 2048
_PDF_TRAILER = re.compile(rb"startxref\s+(\d{1,12})\s+%%EOF\s*$")
_PDF_XREF_AT = re.compile(rb"\s*(?:xref|\d{1,10}\s+\d{1,5}\s+obj)\b")


@dataclass(frozen=True)
class UploadRules:
    max_bytes: int
    allowed_types: frozenset[str]
    # Pixels an image may have, below Pillow's own limit (`Image.MAX_IMAGE_PIXELS`, which
    # applies when this is None): decoding costs memory by pixels, not by bytes.
    max_pixels: int | None = None


@dataclass(frozen=True)
class StoredFile:
    key: str
    size: int
    content_type: str
    sha256: str
    filename: str


class FileMissing(Exception):
    """No file is stored under this key."""


class InvalidFileKey(FileMissing, ValueError):
    """A key that is not one the store gives out (such as a path out of its directory)."""


class FileStore(Protocol):
    def put(self, data: bytes, content_type: str) -> str: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...


def content_key(data: bytes) -> str:
    """The key the store gives `data`: its SHA-256, fanned out over two directory levels."""
    digest = hashlib.sha256(data).hexdigest()
    return f"sha256/{digest[:2]}/{digest[2:4]}/{digest}"


def check_key(key: str) -> str:
    """`key` itself if the store could have given it out; otherwise `InvalidFileKey`."""
    match = _KEY.match(key) if isinstance(key, str) else None
    if not match or not match[3].startswith(match[1] + match[2]):
        raise InvalidFileKey(f"not a file key: {key!r}")
    return key


# --- checking an upload ---------------------------------------------------------------------


def _refuse(field: str, message: str) -> Invalid:
    return Invalid(message, errors={field: [message]})


def _megabytes(size: int, *, rounded_up: bool = False) -> str:
    # A size over the limit is rounded up, so it never reads as the limit itself.
    tenths = -(-size * 10 // _MB) if rounded_up else round(size * 10 / _MB)
    return f"{tenths / 10:.1f}".removesuffix(".0").replace(".", ",")


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:.1f}".removesuffix(".0").replace(".", ",")


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return PDF
    return None


def _allowed_labels(rules: UploadRules) -> str:
    labels = sorted(_LABELS.get(t, t) for t in rules.allowed_types)
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " atau " + labels[-1]


def clean_filename(filename: str, content_type: str) -> str:
    """The name to keep: the last part of what the browser sent (some send a whole path),
    normalised (`normalise_filename`), with the extension of `content_type` added when it
    has none."""
    base = re.split(r"[\\/]", filename or "")[-1]
    name = normalise_filename(base).strip(". ")
    extensions = _EXTENSIONS.get(content_type, ())
    if not extensions or name.lower().endswith(extensions):
        return name or "berkas"
    return normalise_filename((name or "berkas") + extensions[0])


def _check_extension(filename: str, real_type: str, field: str) -> None:
    """A name ending in another type's extension (a PDF called `foto.jpg`, a picture called
    `surat.html`) is refused: whoever downloads it would open it as what its name says."""
    name = re.split(r"[\\/]", filename or "")[-1].strip().lower()
    suffix = PurePosixPath(name).suffix
    if not _EXTENSION.fullmatch(suffix) or suffix in _EXTENSIONS[real_type]:
        return
    label = _LABELS[real_type]
    raise _refuse(
        field,
        f"Nama berkas berakhiran {suffix}, tetapi isinya {label}; "
        f"ganti namanya dengan akhiran {_EXTENSIONS[real_type][0]} atau kirim berkas yang benar.",
    )


def _check_pdf(data: bytes, field: str) -> None:
    match = _PDF_TRAILER.search(data[-_PDF_TAIL:])
    offset = int(match[1]) if match else 0
    if not match or not 0 < offset < len(data) or not _PDF_XREF_AT.match(data, offset):
        raise _refuse(field, "Berkas PDF rusak atau tidak lengkap; simpan ulang lalu kirim lagi.")


def _opened(data: bytes, real_type: str, max_pixels: int | None, field: str) -> Image.Image:
    """The image, decoded in full; refused when Pillow cannot, when it is another format than
    its first bytes say, or when it has more pixels than allowed (a decompression bomb)."""
    # Pillow and its codecs load with the first image a worker inspects: imported with the
    # app they would weigh on every web worker, most of which never see an upload.
    from PIL import Image

    limit = min(max_pixels or Image.MAX_IMAGE_PIXELS, Image.MAX_IMAGE_PIXELS)
    unreadable = _refuse(field, "Gambar tidak dapat dibaca; kirim ulang berkas gambar yang utuh.")
    too_many = _refuse(
        field,
        "Gambar terlalu besar ukurannya (jumlah piksel); paling banyak "
        f"{_megapixels(limit)} megapiksel, perkecil lalu kirim lagi.",
    )
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format != _PILLOW_FORMATS[real_type]:
                raise unreadable
            width, height = probe.size
            # Pillow only warns between its limit and twice that; here both are refused.
            if width * height > limit:
                raise too_many
            probe.verify()
        image = Image.open(io.BytesIO(data))
        image.load()
    except Image.DecompressionBombError as exc:
        raise too_many from exc
    except Invalid:
        raise
    # Whatever a decoder raises on hostile bytes (OSError, SyntaxError, ValueError, …) is
    # the sender's problem, a 422, never a 500.
    except Exception as exc:
        raise unreadable from exc
    return image


def _without_metadata(image: Image.Image, real_type: str) -> bytes:
    """The pixels alone, turned the way the camera meant, in the same format.

    The pixels are pasted into a new image, so nothing of the original's `info` (EXIF, XMP,
    ICC profile, comments, PNG text) can be written back by an encoder that reads it."""
    from PIL import Image, ImageOps

    upright = ImageOps.exif_transpose(image) or image
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
    if real_type == "image/jpeg":
        mode = "L" if upright.mode in ("1", "L") else "RGB"
    elif has_alpha:
        mode = "RGBA"
    else:
        mode = "L" if upright.mode in ("1", "L") else "RGB"
    pixels = upright if upright.mode == mode else upright.convert(mode)
    clean = Image.new(mode, pixels.size)
    clean.paste(pixels)
    out = io.BytesIO()
    options = {"quality": 90} if real_type in ("image/jpeg", "image/webp") else {}
    clean.save(out, format=_PILLOW_FORMATS[real_type], **options)
    return out.getvalue()


def inspect_upload(
    data: bytes, filename: str, rules: UploadRules, *, field: str = "file"
) -> tuple[bytes, str]:
    """(the bytes to keep, their real content type), or `Invalid` naming `field`.

    Refused: an empty file, one larger than `rules.max_bytes`, one whose bytes are of a
    type not in `rules.allowed_types` (or of no type known here: HTML, ZIP, executables), one
    whose name claims another type than its bytes, an image Pillow cannot decode or with
    more pixels than `rules.max_pixels` or `Image.MAX_IMAGE_PIXELS`, a PDF without a
    trailer. Images come back re-encoded without metadata; a PDF comes back as sent.
    """
    if not data:
        raise _refuse(field, "Berkas kosong; pilih berkas yang berisi.")
    if len(data) > rules.max_bytes:
        raise _refuse(
            field,
            f"Berkas terlalu besar ({_megabytes(len(data), rounded_up=True)} MB); "
            f"paling besar {_megabytes(rules.max_bytes)} MB.",
        )
    real_type = _sniff(data)
    if real_type is None or real_type not in rules.allowed_types:
        raise _refuse(
            field, f"Jenis berkas tidak diizinkan; gunakan {_allowed_labels(rules)}."
        )
    _check_extension(filename, real_type, field)
    if real_type == PDF:
        _check_pdf(data, field)
        return data, PDF
    with _opened(data, real_type, rules.max_pixels, field) as image:
        try:
            return _without_metadata(image, real_type), real_type
        except Exception as exc:  # hostile pixels must not become a 500
            raise _refuse(
                field, "Gambar tidak dapat diolah; simpan ulang sebagai JPEG atau PNG lalu kirim lagi."
            ) from exc


def store_upload(
    store: FileStore, data: bytes, filename: str, rules: UploadRules, *, field: str = "file"
) -> StoredFile:
    """Check `data` (`inspect_upload`), keep the cleaned bytes, and describe them for a row."""
    clean, content_type = inspect_upload(data, filename, rules, field=field)
    key = store.put(clean, content_type)
    return StoredFile(
        key=key,
        size=len(clean),
        content_type=content_type,
        sha256=hashlib.sha256(clean).hexdigest(),
        filename=clean_filename(filename, content_type),
    )


# --- where the bytes live --------------------------------------------------------------------


class LocalFileStore:
    """Files under one directory, created when the first file is stored.

    A file is written to a temporary name beside its final one and renamed into place, so a
    reader never sees half a file and two writers of the same bytes both succeed."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def put(self, data: bytes, content_type: str) -> str:
        key = content_key(data)
        path = self._path(key)
        if path.exists():
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return key

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise FileMissing(key) from exc

    def exists(self, key: str) -> bool:
        try:
            return self._path(key).is_file()
        except InvalidFileKey:
            return False

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3FileStore:
    """Files as objects in one bucket of an S3-compatible server (MinIO, Ceph, AWS, …),
    under an optional prefix. The client is made on first use."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        client=None,
    ):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._endpoint_url = endpoint_url
        self._region = region
        self._client = client

    @property
    def client(self):
        if self._client is None:
            import boto3  # only a process that stores on S3 pays for importing it

            self._client = boto3.client(
                "s3", endpoint_url=self._endpoint_url, region_name=self._region
            )
        return self._client

    def _object(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _is_missing(self, exc: Exception) -> bool:
        error = getattr(exc, "response", {}).get("Error", {})
        return str(error.get("Code")) in ("404", "NoSuchKey", "NotFound")

    def put(self, data: bytes, content_type: str) -> str:
        # Written again when present: the same key holds the same bytes, and a write needs
        # fewer rights than asking first (a missing object reads as 403 without ListBucket).
        key = content_key(data)
        self.client.put_object(
            Bucket=self.bucket, Key=self._object(key), Body=data, ContentType=content_type
        )
        return key

    def get(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._object(key))
        except self.client.exceptions.ClientError as exc:
            if self._is_missing(exc):
                raise FileMissing(key) from exc
            raise
        return response["Body"].read()

    def exists(self, key: str) -> bool:
        try:
            name = self._object(key)
        except InvalidFileKey:
            return False
        try:
            self.client.head_object(Bucket=self.bucket, Key=name)
        except self.client.exceptions.ClientError as exc:
            if self._is_missing(exc):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._object(key))


def open_file_store(url: str, *, base_dir: Path | None = None) -> FileStore:
    """The store `url` names: a directory path (relative ones under `base_dir`, or the
    working directory), `file:///abs/dir`, or `s3://bucket/prefix?endpoint_url=…&region=…`."""
    if not url or not url.strip():
        raise ValueError("a file store URL is required")
    parts = urlsplit(url)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ValueError(f"an s3:// file store URL names its bucket: {url!r}")
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        unknown = set(query) - {"endpoint_url", "region"}
        if unknown:
            raise ValueError(f"unknown option(s) {sorted(unknown)} in file store URL {url!r}")
        return S3FileStore(
            parts.netloc,
            unquote(parts.path),
            endpoint_url=query.get("endpoint_url"),
            region=query.get("region"),
        )
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"a file:// store URL names a local directory: {url!r}")
        return LocalFileStore(Path(unquote(parts.path)))
    if "://" in url:
        raise ValueError(f"a file store URL is a directory, file:// or s3://, not {url!r}")
    path = Path(url)
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    return LocalFileStore(path)
