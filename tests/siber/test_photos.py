"""Photos: uploaded with caption and credit, checked by their real type, stripped of EXIF
GPS, refused as a decompression bomb or a non-image, renditions made by the worker."""

from __future__ import annotations

import base64
import io

from PIL import Image

from services.siber import photos
from tests.siber.support import API, EDITOR, HUMAS, headers


def jpeg_with_gps(size=(2400, 1600)) -> bytes:
    image = Image.new("RGB", size, (30, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "KameraDinas"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "S", (3.0, 0.0, 0.0)
    gps[3], gps[4] = "E", (114.0, 23.0, 0.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def png_bytes(size=(64, 48), mode="RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (10, 200, 10, 128) if mode == "RGBA" else 0).save(out, format="PNG")
    return out.getvalue()


def upload(siber, article_id, data: bytes, filename="foto.jpg", opd="dinkes", role=HUMAS, **fields):
    body = {"filename": filename, "content_base64": base64.b64encode(data).decode(), "caption": "Petugas menimbang balita",
            "credit": "Humas Dinkes", **fields}
    return siber.http.post(f"{API}/articles/{article_id}/photos", json=body, headers=headers(role, opd))


def test_a_photo_is_stored_without_gps_and_its_renditions_are_made_by_the_worker(siber):
    article = siber.create("dinkes")
    response = upload(siber, article["id"], jpeg_with_gps())
    assert response.status_code == 201, response.get_json()
    photo = response.get_json()
    assert photo["content_type"] == "image/jpeg" and (photo["width"], photo["height"]) == (2400, 1600)
    assert photo["renditions_ready"] is False and photo["web_url"] is None

    original = siber.http.get(photo["url"], headers=headers(HUMAS, "dinkes"))
    assert original.status_code == 200
    with Image.open(io.BytesIO(original.data)) as stored:
        assert not stored.getexif().get_ifd(0x8825)
        assert "exif" not in stored.info

    assert photos.make_renditions(siber.rt) == [photo["id"]]
    view = siber.get(article["id"]).get_json()["photos"][0]
    assert view["renditions_ready"] is True
    web = siber.http.get(view["web_url"], headers=headers(EDITOR))
    thumb = siber.http.get(view["thumb_url"], headers=headers(EDITOR))
    with Image.open(io.BytesIO(web.data)) as w, Image.open(io.BytesIO(thumb.data)) as t:
        assert w.format == "JPEG" and max(w.size) == 1600
        assert t.format == "JPEG" and max(t.size) == 480
    assert photos.make_renditions(siber.rt) == []


def test_a_png_with_transparency_gets_jpeg_renditions(siber):
    article = siber.create("dinkes")
    response = upload(siber, article["id"], png_bytes(), filename="logo.png")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["content_type"] == "image/png"
    assert photos.make_renditions(siber.rt) == [response.get_json()["id"]]


def test_what_is_not_an_image_is_refused(siber):
    article = siber.create("dinkes")
    for data, name in ((b"<html><script>alert(1)</script></html>", "foto.jpg"), (b"%PDF-1.4 fake", "foto.pdf"),
                       (b"\xff\xd8\xff\xe0 broken jpeg", "foto.jpg")):
        response = upload(siber, article["id"], data, filename=name)
        assert response.status_code == 422, (name, response.get_json())
        assert "content_base64" in response.get_json()["errors"]
    not_base64 = siber.http.post(f"{API}/articles/{article['id']}/photos", headers=headers(HUMAS, "dinkes"), json={
        "filename": "a.jpg", "content_base64": "***", "caption": "Keterangan foto", "credit": "Humas"})
    assert not_base64.status_code == 422


def test_a_decompression_bomb_is_refused_before_decoding(siber):
    article = siber.create("dinkes")
    bomb = png_bytes(size=(10_000, 10_000), mode="1")  # 100 million pixels in a few kilobytes
    assert len(bomb) < 100_000
    response = upload(siber, article["id"], bomb, filename="bom.png")
    assert response.status_code == 422
    assert "piksel" in response.get_json()["errors"]["content_base64"][0]


def test_photos_follow_the_articles_rules_of_who_edits_and_who_sees(siber):
    article = siber.create("dinkes")
    assert upload(siber, article["id"], png_bytes(), filename="a.png", opd="disdik").status_code == 404
    photo = upload(siber, article["id"], png_bytes(), filename="a.png").get_json()
    # a draft's photo is not public
    assert siber.http.get(photo["url"]).status_code == 404
    siber.submit(article["id"])
    assert upload(siber, article["id"], png_bytes(), filename="b.png").status_code == 403  # with the editors now
    changed = siber.http.patch(f"{API}/photos/{photo['id']}", json={"caption": "Keterangan baru"}, headers=headers(EDITOR))
    assert changed.status_code == 200 and changed.get_json()["caption"] == "Keterangan baru"
    siber.act(article["id"], "publish")
    public = siber.http.get(photo["url"])
    assert public.status_code == 200 and public.mimetype == "image/png"
    assert siber.http.get(f"{API}/photos/{photo['id']}/nothing").status_code == 404
