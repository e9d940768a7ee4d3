"""The chassis file store: what an upload must be to be kept, and where it is kept."""

from __future__ import annotations

import hashlib
import io
import random
import struct
import threading
import zipfile
import zlib

import boto3
import pytest
from moto.server import ThreadedMotoServer
from PIL import Image, PngImagePlugin
from sqlalchemy import MetaData

from services.common.calendar_sync import calendar_state_table
from services.common.errors import Invalid
from services.common.files import (
    IMAGE_TYPES,
    PDF,
    FileMissing,
    InvalidFileKey,
    LocalFileStore,
    S3FileStore,
    StoredFile,
    UploadRules,
    content_key,
    inspect_upload,
    open_file_store,
    store_upload,
)
from services.common.outbox import plumbing_tables
from services.common.settings import REPO_ROOT, Settings, SettingsError
from tests.conftest import free_port

MB = 1024 * 1024
PHOTOS = UploadRules(max_bytes=5 * MB, allowed_types=IMAGE_TYPES)
ATTACHMENTS = UploadRules(max_bytes=10 * MB, allowed_types=IMAGE_TYPES | {PDF})
GPS_IFD, ORIENTATION, MAKE = 0x8825, 0x0112, 0x010F


def jpeg_with_gps(size=(40, 20), orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    exif[MAKE] = "KameraWarga"
    if orientation:
        exif[ORIENTATION] = orientation
    # GPSLatitudeRef, GPSLatitude, GPSLongitudeRef, GPSLongitude: somewhere in Java.
    exif[GPS_IFD] = {1: "S", 2: (7.0, 15.0, 30.0), 3: "E", 4: (110.0, 24.0, 12.0)}
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((30, 30, 200), (0, 0, size[0] // 2, size[1]))
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"rumah Bu Siti", icc_profile=b"\0" * 128)
    return out.getvalue()


def png_with_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Budi Santoso")
    info.add_itxt("Comment", "Jl. Melati 5", lang="id")
    out = io.BytesIO()
    Image.new("RGBA", (16, 16), (0, 128, 0, 128)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def webp_with_exif() -> bytes:
    exif = Image.Exif()
    exif[MAKE] = "KameraWarga"
    exif[GPS_IFD] = {1: "S", 2: (7.0, 15.0, 30.0)}
    out = io.BytesIO()
    Image.new("RGB", (16, 16), "white").save(out, "WEBP", exif=exif, xmp=b"<x:xmpmeta/>")
    return out.getvalue()


def minimal_pdf() -> bytes:
    body = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
    xref = len(body)
    body += b"xref\n0 2\n0000000000 65535 f \n0000000009 00000 n \n"
    return body + b"trailer\n<< /Size 2 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header promises `width` x `height` pixels over a few bytes of data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def refusal(data: bytes, filename: str, rules: UploadRules = ATTACHMENTS, field: str = "file"):
    with pytest.raises(Invalid) as caught:
        inspect_upload(data, filename, rules, field=field)
    assert caught.value.status == 422
    assert list(caught.value.errors) == [field]
    assert caught.value.errors[field] == [caught.value.message]
    return caught.value.message


# --- metadata --------------------------------------------------------------------------------


def test_a_jpeg_loses_its_exif_gps_comment_and_icc_profile():
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)
    assert b"KameraWarga" in original and b"Bu Siti" in original

    clean, content_type = inspect_upload(original, "foto.jpg", PHOTOS)

    assert content_type == "image/jpeg"
    image = Image.open(io.BytesIO(clean))
    assert image.format == "JPEG" and image.size == (40, 20)
    assert not image.getexif() and not image.getexif().get_ifd(GPS_IFD)
    assert not {"exif", "comment", "icc_profile", "xmp"} & set(image.info)
    for trace in (b"KameraWarga", b"Bu Siti", b"Exif\0\0"):
        assert trace not in clean


def test_the_recorded_orientation_is_applied_to_the_pixels():
    # 6: the camera was turned a quarter; a viewer shows the picture upright.
    clean, _ = inspect_upload(jpeg_with_gps(size=(40, 20), orientation=6), "foto.jpg", PHOTOS)
    image = Image.open(io.BytesIO(clean))
    assert image.size == (20, 40)
    assert ORIENTATION not in image.getexif()


def test_a_png_loses_its_text_chunks_and_keeps_its_transparency():
    assert b"Budi" in png_with_text()
    clean, content_type = inspect_upload(png_with_text(), "peta.png", PHOTOS)
    image = Image.open(io.BytesIO(clean))
    assert content_type == "image/png" and image.mode == "RGBA"
    assert image.getpixel((3, 3)) == (0, 128, 0, 128)
    assert not getattr(image, "text", {})
    for chunk in (b"tEXt", b"iTXt", b"zTXt", b"eXIf", b"Budi"):
        assert chunk not in clean


def test_a_webp_loses_its_exif_and_xmp():
    assert b"KameraWarga" in webp_with_exif() and b"xmpmeta" in webp_with_exif()
    clean, content_type = inspect_upload(webp_with_exif(), "foto.webp", PHOTOS)
    assert content_type == "image/webp"
    image = Image.open(io.BytesIO(clean))
    assert image.format == "WEBP"
    assert not {"exif", "xmp", "icc_profile"} & set(image.info)
    assert b"KameraWarga" not in clean and b"xmpmeta" not in clean


# --- types -------------------------------------------------------------------------------------


def test_a_pdf_is_accepted_as_it_was_sent():
    pdf = minimal_pdf()
    assert inspect_upload(pdf, "surat.pdf", ATTACHMENTS) == (pdf, PDF)


def test_a_pdf_printed_by_reportlab_is_accepted():
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, "Surat kuasa")
    page.save()
    assert inspect_upload(out.getvalue(), "kuasa.pdf", ATTACHMENTS)[1] == PDF


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n<script>alert(1)</script>",  # no trailer at all
        minimal_pdf().replace(b"startxref\n45", b"startxref\n99999"),  # past the end
        minimal_pdf().replace(b"startxref\n45", b"startxref\n3"),  # not at a cross-reference
        minimal_pdf()[:-20],  # cut short
    ],
)
def test_a_pdf_without_a_trailer_a_reader_can_follow_is_refused(data):
    assert "PDF rusak" in refusal(data, "surat.pdf")


def test_a_pdf_is_refused_where_only_images_are_allowed():
    message = refusal(minimal_pdf(), "foto.pdf", PHOTOS)
    assert message == "Jenis berkas tidak diizinkan; gunakan JPEG, PNG atau WebP."


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.txt", "isi")
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>",
        b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
        _zip(),
        b"MZ\x90\x00" + b"\0" * 60,
        b"GIF89a\x01\x00\x01\x00",
    ],
    ids=["html", "svg", "zip", "exe", "gif"],
)
def test_bytes_of_another_type_named_jpg_are_refused(data):
    assert refusal(data, "foto.jpg").startswith("Jenis berkas tidak diizinkan; gunakan JPEG, PDF")


@pytest.mark.parametrize("name", ["foto.jpg", "foto.png", "gambar.html", "C:\\Users\\x\\foto.exe"])
def test_a_name_that_claims_another_type_than_the_bytes_is_refused(name):
    data = minimal_pdf() if name.endswith(".jpg") else jpeg_with_gps()
    message = refusal(data, name)
    assert "tetapi isinya" in message


def test_a_truncated_or_corrupt_image_is_refused():
    photo = jpeg_with_gps()
    assert "tidak dapat dibaca" in refusal(photo[: len(photo) // 2], "foto.jpg")
    assert "tidak dapat dibaca" in refusal(b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "foto.png")
    assert "tidak dapat dibaca" in refusal(b"RIFF\0\0\0\0WEBPVP8 garbage", "foto.webp")


def test_a_decompression_bomb_is_refused_not_a_server_error():
    # Twice Pillow's limit and more: Pillow itself raises while opening.
    assert "jumlah piksel" in refusal(png_claiming(100_000, 100_000), "bom.png")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_an_image_between_the_limit_and_twice_the_limit_is_refused_too(monkeypatch):
    # Pillow only warns there; the store refuses it all the same.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 30 * 30)
    image = io.BytesIO()
    Image.new("RGB", (40, 40)).save(image, "PNG")
    assert "jumlah piksel" in refusal(image.getvalue(), "besar.png")


def test_a_service_may_allow_fewer_pixels_than_pillow():
    rules = UploadRules(max_bytes=MB, allowed_types=IMAGE_TYPES, max_pixels=1_500_000)
    image = io.BytesIO()
    Image.new("L", (1500, 1001)).save(image, "PNG")
    message = refusal(image.getvalue(), "besar.png", rules)
    assert "paling banyak 1,5 megapiksel" in message
    small = io.BytesIO()
    Image.new("L", (1500, 1000)).save(small, "PNG")
    assert inspect_upload(small.getvalue(), "pas.png", rules)[1] == "image/png"


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow's notes on damaged EXIF
def test_damaged_uploads_are_refused_or_accepted_never_a_server_error():
    rng = random.Random(20261130)
    seeds = [(jpeg_with_gps(), "a.jpg"), (png_with_text(), "a.png"), (webp_with_exif(), "a.webp"),
             (minimal_pdf(), "a.pdf")]
    for _ in range(400):
        data, name = rng.choice(seeds)
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(len(damaged))
            if rng.random() < 0.7:
                damaged[at] = rng.randrange(256)
            else:
                del damaged[at : at + rng.randint(1, 40)]
        try:
            inspect_upload(bytes(damaged), name, ATTACHMENTS)
        except Invalid:
            pass


# --- size --------------------------------------------------------------------------------------


def test_an_empty_file_is_refused_under_the_given_field():
    assert refusal(b"", "foto.jpg", field="attachments.0") == "Berkas kosong; pilih berkas yang berisi."


def test_a_file_over_the_limit_is_refused_with_the_limit_in_mb():
    rules = UploadRules(max_bytes=2 * MB, allowed_types=IMAGE_TYPES)
    message = refusal(b"\xff\xd8\xff" + b"\0" * (3 * MB - 3), "foto.jpg", rules)
    assert message == "Berkas terlalu besar (3 MB); paling besar 2 MB."
    half = UploadRules(max_bytes=MB // 2, allowed_types=IMAGE_TYPES)
    assert "paling besar 0,5 MB" in refusal(b"\0" * MB, "foto.jpg", half)
    just_over = refusal(b"\xff\xd8\xff" + b"\0" * (2 * MB), "foto.jpg", rules)
    assert just_over == "Berkas terlalu besar (2,1 MB); paling besar 2 MB."


def test_a_file_of_exactly_the_limit_is_accepted():
    photo = jpeg_with_gps()
    rules = UploadRules(max_bytes=len(photo), allowed_types=IMAGE_TYPES)
    assert inspect_upload(photo, "foto.jpg", rules)[1] == "image/jpeg"


# --- storing -----------------------------------------------------------------------------------


def test_store_upload_describes_the_cleaned_bytes(tmp_path):
    store = LocalFileStore(tmp_path / "files")
    stored = store_upload(store, jpeg_with_gps(), "C:\\fakepath\\Foto\u200b Jalan  Rusak.JPG", PHOTOS)

    clean = store.get(stored.key)
    digest = hashlib.sha256(clean).hexdigest()
    assert stored == StoredFile(
        key=f"sha256/{digest[:2]}/{digest[2:4]}/{digest}",
        size=len(clean),
        content_type="image/jpeg",
        sha256=digest,
        filename="Foto Jalan Rusak.JPG",
    )
    assert b"KameraWarga" not in clean


@pytest.mark.parametrize(
    ("name", "kept"),
    [("", "berkas.pdf"), ("scan 12.05.2024", "scan 12.05.2024.pdf"), ("../../etc/surat", "surat.pdf"),
     ("surat.pdf.", "surat.pdf"), ("..", "berkas.pdf"), ("x" * 300, "x" * 196 + ".pdf")],
)
def test_a_name_without_an_extension_gets_the_real_one(tmp_path, name, kept):
    stored = store_upload(LocalFileStore(tmp_path), minimal_pdf(), name, ATTACHMENTS)
    assert stored.filename == kept


def test_keys_are_content_addressed_and_putting_twice_keeps_one_copy(tmp_path):
    store = LocalFileStore(tmp_path)
    first = store.put(b"isi yang sama", "application/pdf")
    assert first == content_key(b"isi yang sama") == store.put(b"isi yang sama", "application/pdf")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [tmp_path.joinpath(*first.split("/"))]
    assert store.put(b"isi lain", "application/pdf") != first


def test_local_store_round_trip(tmp_path):
    store = LocalFileStore(tmp_path / "belum" / "ada")
    assert not (tmp_path / "belum").exists()  # nothing is touched before the first file
    key = store.put(b"\x00\x01 isi", "application/pdf")
    assert store.exists(key) and store.get(key) == b"\x00\x01 isi"
    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(FileMissing):
        store.get(key)
    store.delete(key)  # deleting what is gone is no error


def test_concurrent_writers_of_the_same_bytes_both_succeed(tmp_path):
    store, data, keys = LocalFileStore(tmp_path), b"x" * 200_000, []
    threads = [threading.Thread(target=lambda: keys.append(store.put(data, PDF))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(keys)) == 1 and store.get(keys[0]) == data
    assert not [p for p in tmp_path.rglob(".incoming-*")]


BAD_KEYS = [
    "../../etc/passwd",
    "sha256/../../../../etc/passwd",
    "/etc/passwd",
    "sha256/ab/cd/" + "0" * 64,  # the fan-out does not match the hash
    "sha256/AB/CD/" + "AB" * 32,
    "sha256/00/00/" + "0" * 63,
    "sha256/00/00/" + "0" * 64 + "/..",
    "sha256\\00\\00\\" + "0" * 64,
    "",
]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_a_key_the_store_never_gave_out_reaches_no_file(tmp_path, key):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("root")
    store = LocalFileStore(tmp_path / "files")
    assert not store.exists(key)
    with pytest.raises(InvalidFileKey):
        store.get(key)
    with pytest.raises(FileMissing):
        store.get(key)
    with pytest.raises(InvalidFileKey):
        store.delete(key)
    assert (tmp_path / "etc" / "passwd").exists()


# --- opening a store by URL --------------------------------------------------------------------


def test_open_file_store_reads_paths_and_file_urls(tmp_path, monkeypatch):
    relative = open_file_store("var/files/lapor", base_dir=tmp_path)
    assert isinstance(relative, LocalFileStore) and relative.root == tmp_path / "var/files/lapor"
    monkeypatch.chdir(tmp_path)
    assert open_file_store("berkas").root == tmp_path / "berkas"
    assert open_file_store(f"file://{tmp_path}/a%20b").root == tmp_path / "a b"
    assert open_file_store(str(tmp_path / "abs"), base_dir=tmp_path / "x").root == tmp_path / "abs"


def test_open_file_store_reads_s3_urls():
    store = open_file_store("s3://bukti/lapor/lampiran?endpoint_url=http://minio:9000&region=us-east-1")
    assert isinstance(store, S3FileStore)
    assert (store.bucket, store.prefix) == ("bukti", "lapor/lampiran")
    assert (store._endpoint_url, store._region) == ("http://minio:9000", "us-east-1")


@pytest.mark.parametrize(
    "url", ["", "  ", "http://example.org/berkas", "s3:///tanpa-bucket", "file://host/dir",
            "s3://bukti?endpoint=http://x"],
)
def test_open_file_store_refuses_what_it_cannot_open(url):
    with pytest.raises(ValueError):
        open_file_store(url)


# --- S3 ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_endpoint():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_store(s3_endpoint, monkeypatch, unique):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "simpul-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "simpul-test-secret")
    bucket = f"simpul-{unique}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    return open_file_store(f"s3://{bucket}/lapor?endpoint_url={s3_endpoint}&region=us-east-1")


def test_s3_store_round_trip_over_http(s3_store):
    stored = store_upload(s3_store, jpeg_with_gps(), "foto.jpg", PHOTOS)
    assert s3_store.exists(stored.key)
    clean = s3_store.get(stored.key)
    assert hashlib.sha256(clean).hexdigest() == stored.sha256 and b"KameraWarga" not in clean

    head = s3_store.client.head_object(Bucket=s3_store.bucket, Key=f"lapor/{stored.key}")
    assert head["ContentType"] == "image/jpeg" and head["ContentLength"] == stored.size
    assert store_upload(s3_store, jpeg_with_gps(), "lagi.jpg", PHOTOS).key == stored.key

    s3_store.delete(stored.key)
    assert not s3_store.exists(stored.key)
    with pytest.raises(FileMissing):
        s3_store.get(stored.key)


@pytest.mark.parametrize("key", BAD_KEYS[:3])
def test_s3_store_refuses_keys_it_never_gave_out(s3_store, key):
    assert not s3_store.exists(key)
    with pytest.raises(InvalidFileKey):
        s3_store.get(key)


# --- settings and runtime --------------------------------------------------------------------


def test_each_service_keeps_its_files_under_var_by_default(make_settings, sqlite_url):
    settings = make_settings(Settings, "lapor", sqlite_url)
    assert settings.files_url == str(REPO_ROOT / "var" / "files" / "lapor")
    assert "LAPOR_FILES_URL" in Settings.env_names("lapor")


def test_the_files_url_is_read_per_service_and_checked(make_settings, sqlite_url):
    url = "s3://bukti/siber?endpoint_url=http://minio:9000"
    assert make_settings(Settings, "siber", sqlite_url, SIBER_FILES_URL=url).files_url == url
    with pytest.raises(SettingsError, match="SIBER_FILES_URL"):
        make_settings(Settings, "siber", sqlite_url, SIBER_FILES_URL="ftp://berkas/siber")


chassis_metadata = MetaData()
plumbing_tables(chassis_metadata)
calendar_state_table(chassis_metadata)


def test_the_runtime_opens_its_store_on_first_use(make_chassis_runtime, sqlite_url, tmp_path):
    root = tmp_path / "berkas"
    rt = make_chassis_runtime(chassis_metadata, sqlite_url, TEST_FILES_URL=str(root))
    assert not root.exists()
    store = rt.files
    assert isinstance(store, LocalFileStore) and store.root == root and rt.files is store
    assert not root.exists()  # opening a store writes nothing
    assert rt.files.get(rt.files.put(b"isi", PDF)) == b"isi"


def test_a_relative_files_url_is_under_the_repository(make_chassis_runtime, sqlite_url):
    rt = make_chassis_runtime(chassis_metadata, sqlite_url, TEST_FILES_URL="var/files/uji")
    assert rt.files.root == REPO_ROOT / "var" / "files" / "uji"
