"""Files of a report: real types, metadata stripped, the per-report and per-message limit,
and who may upload, list and download what (reporter, admin, OPD, public), on both backends."""

from __future__ import annotations

import base64
import io
from types import SimpleNamespace

import pytest
from PIL import Image

from tests.common.test_files import jpeg_with_gps, minimal_pdf
from tests.lapor import steps
from tests.lapor.report_rows import add_disposition, add_message, add_report
from tests.lapor.support import LAPOR_ADMIN, LIAISON, LaporClient, backend_env, lapor_staff

GPS_IFD = 0x8825


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def files_env(request, tmp_path_factory):
    """A migrated app whose file store is a directory of this module's own."""
    store = tmp_path_factory.mktemp("lapor-files")
    with backend_env(request.param, tmp_path_factory, LAPOR_FILES_URL=str(store),
                     LAPOR_MAX_ATTACHMENTS="3") as env:
        yield env


def encoded(filename: str, data: bytes) -> dict:
    return {"filename": filename, "content_base64": base64.b64encode(data).decode()}


def path(report, *rest) -> str:
    return "/".join([f"/api/v1/reports/{report.number}/attachments", *map(str, rest)])


def as_citizen(report) -> dict:
    return {"X-Access-Token": report.token}


def upload(env, report, files, headers, message_id=None, expect=201):
    body = {"files": files} if message_id is None else {"files": files, "message_id": message_id}
    response = env.client.post(path(report), json=body, headers=headers)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def test_the_reporter_uploads_a_photo_whose_gps_is_stripped(files_env):
    report = add_report(files_env.rt)
    stored = upload(files_env, report, [encoded("foto jalan.jpg", jpeg_with_gps()),
                                        encoded("surat.pdf", minimal_pdf())], as_citizen(report))
    assert [(s["filename"], s["content_type"], s["uploaded_by"]) for s in stored] == [
        ("foto jalan.jpg", "image/jpeg", "citizen"), ("surat.pdf", "application/pdf", "citizen")]
    response = files_env.client.get(path(report, stored[0]["id"]), headers=as_citizen(report))
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "foto%20jalan.jpg" in response.headers["Content-Disposition"] or \
        "foto jalan.jpg" in response.headers["Content-Disposition"]
    with Image.open(io.BytesIO(response.data)) as image:
        assert GPS_IFD not in image.getexif() and not image.getexif()
    assert b"rumah Bu Siti" not in response.data


def test_a_file_that_lies_about_its_type_is_refused_and_nothing_is_kept(files_env):
    report = add_report(files_env.rt)
    refused = upload(files_env, report, [encoded("foto.jpg", jpeg_with_gps()),
                                         encoded("foto2.jpg", b"<html><script>x</script></html>"),
                                         encoded("surat.pdf", jpeg_with_gps())],
                     as_citizen(report), expect=422)
    assert set(refused["errors"]) == {"files.1", "files.2"}
    listed = files_env.client.get(path(report), headers=as_citizen(report)).get_json()
    assert listed == []


@pytest.mark.parametrize("files, field", [
    ([], "files"), ([{"filename": "a.jpg", "content_base64": "bukan base64!"}], "files.0.content_base64"),
    ([{"filename": "a.jpg"}], "files.0.content_base64"), ([encoded("kosong.jpg", b"")], "files.0"),
])
def test_malformed_uploads_are_422_in_indonesian(files_env, files, field):
    report = add_report(files_env.rt)
    refused = upload(files_env, report, files, as_citizen(report), expect=422)
    assert field in refused["errors"]


def test_at_most_the_configured_number_per_report_and_per_message(files_env):
    rt = files_env.rt
    report = add_report(rt, status="dispatched", lead_opd="dpupr")
    add_disposition(rt, report, "dpupr")
    photo = encoded("a.jpg", jpeg_with_gps())
    upload(files_env, report, [photo, photo], as_citizen(report))
    refused = upload(files_env, report, [photo, photo], as_citizen(report), expect=422)
    assert refused["errors"]["files"] == ["Paling banyak 3 lampiran per laporan atau per pesan; sudah ada 2."]
    upload(files_env, report, [photo], as_citizen(report))
    # Staff files waiting for their message, and each message, have their own allowance.
    upload(files_env, report, [photo, photo, photo], lapor_staff(LIAISON, "dpupr"))
    message = add_message(rt, report, author_opd="dpupr")
    upload(files_env, report, [photo, photo, photo], lapor_staff(LIAISON, "dpupr"), message_id=message)


def test_an_opd_sees_files_only_of_reports_dispositioned_to_it_and_no_reporter_names(files_env):
    rt = files_env.rt
    report = add_report(rt, privacy="anonim", status="dispatched", lead_opd="dpupr")
    stored = upload(files_env, report, [encoded("KTP Siti Aminah.jpg", jpeg_with_gps())], as_citizen(report))
    add_disposition(rt, report, "dpupr")
    add_disposition(rt, report, "dinkes", active=False)
    seen = files_env.client.get(path(report), headers=lapor_staff(LIAISON, "dpupr")).get_json()
    assert seen[0]["filename"] == f"lampiran-{stored[0]['id']}.jpg"
    download = files_env.client.get(path(report, stored[0]["id"]), headers=lapor_staff(LIAISON, "dpupr"))
    assert download.status_code == 200 and "Siti" not in download.headers["Content-Disposition"]
    for opd in ("dinkes", "disdik"):  # a former disposition, and never one
        assert files_env.client.get(path(report), headers=lapor_staff(LIAISON, opd)).status_code == 404
        assert files_env.client.get(path(report, stored[0]["id"]),
                                    headers=lapor_staff(LIAISON, opd)).status_code == 404
    admin = files_env.client.get(path(report), headers=lapor_staff(LAPOR_ADMIN)).get_json()
    assert admin[0]["filename"] == f"lampiran-{stored[0]['id']}.jpg"  # anonim: hidden from everyone
    reporter = files_env.client.get(path(report), headers=as_citizen(report)).get_json()
    assert reporter[0]["filename"] == "KTP Siti Aminah.jpg"


def test_a_rahasia_reporters_file_is_named_for_the_admins_only(files_env):
    rt = files_env.rt
    report = add_report(rt, privacy="rahasia", status="dispatched", lead_opd="dpupr")
    stored = upload(files_env, report, [encoded("Surat Budi.pdf", minimal_pdf())], as_citizen(report))
    add_disposition(rt, report, "dpupr")
    admin = files_env.client.get(path(report), headers=lapor_staff(LAPOR_ADMIN)).get_json()
    assert admin[0]["filename"] == "Surat Budi.pdf"
    opd = files_env.client.get(path(report), headers=lapor_staff(LIAISON, "dpupr")).get_json()
    assert opd[0]["filename"] == f"lampiran-{stored[0]['id']}.pdf"


def test_a_public_reporters_file_keeps_its_name_for_the_opd(files_env):
    rt = files_env.rt
    report = add_report(rt, status="dispatched", lead_opd="dpupr")
    upload(files_env, report, [encoded("jalan.jpg", jpeg_with_gps())], as_citizen(report))
    add_disposition(rt, report, "dpupr")
    seen = files_env.client.get(path(report), headers=lapor_staff(LIAISON, "dpupr")).get_json()
    assert seen[0]["filename"] == "jalan.jpg"


def test_who_may_attach_to_which_message(files_env):
    rt = files_env.rt
    report = add_report(rt, status="in_progress", lead_opd="dpupr")
    add_disposition(rt, report, "dpupr")
    add_disposition(rt, report, "dishub", role="supporting")
    pupr_message = add_message(rt, report, author_opd="dpupr")
    citizen_message = add_message(rt, report, kind="reporter_reply", author_kind="citizen")
    photo = [encoded("a.jpg", jpeg_with_gps())]
    upload(files_env, report, photo, lapor_staff(LIAISON, "dishub"), message_id=pupr_message, expect=422)
    waiting = upload(files_env, report, photo, lapor_staff(LIAISON, "dpupr"))  # for its next message
    assert files_env.client.get(path(report, waiting[0]["id"]), headers=as_citizen(report)).status_code == 404
    upload(files_env, report, photo, as_citizen(report), message_id=pupr_message, expect=422)
    upload(files_env, report, photo, as_citizen(report), message_id=citizen_message)
    upload(files_env, report, photo, as_citizen(report), message_id=999999, expect=422)
    upload(files_env, report, photo, lapor_staff(LAPOR_ADMIN), message_id=pupr_message)
    other = add_report(rt)
    upload(files_env, other, photo, as_citizen(report), expect=403)  # another report's token


def test_no_file_is_added_to_a_closed_report(files_env):
    report = add_report(files_env.rt, status="closed", closed_reason="accepted")
    refused = upload(files_env, report, [encoded("a.jpg", jpeg_with_gps())], as_citizen(report), expect=409)
    assert refused["message"].startswith("Laporan sudah selesai")


def test_the_reporter_does_not_see_files_of_internal_notes(files_env):
    rt = files_env.rt
    report = add_report(rt)
    note = add_message(rt, report, kind="note", author_kind="admin")
    stored = upload(files_env, report, [encoded("catatan.pdf", minimal_pdf())], lapor_staff(LAPOR_ADMIN),
                    message_id=note)
    assert files_env.client.get(path(report), headers=as_citizen(report)).get_json() == []
    assert files_env.client.get(path(report, stored[0]["id"]), headers=as_citizen(report)).status_code == 404


def test_credentials_are_required_and_checked(files_env):
    report = add_report(files_env.rt)
    assert files_env.client.get(path(report)).status_code == 401
    assert files_env.client.get(path(report), headers={"X-Access-Token": "salah"}).status_code == 403
    assert files_env.client.get("/api/v1/reports/LPR-2026-999999/attachments",
                                headers=lapor_staff()).status_code == 404


def _public(env, report, *rest):
    return env.client.get("/".join([f"/api/v1/public/reports/{report.number}/attachments", *map(str, rest)]))


def test_the_public_gets_only_staff_files_of_public_messages_of_published_reports(files_env):
    rt = files_env.rt
    report = add_report(rt, privacy="anonim", status="completed", lead_opd="dpupr")
    add_disposition(rt, report, "dpupr")
    upload(files_env, report, [encoded("bukti.jpg", jpeg_with_gps())], as_citizen(report))
    public_message = add_message(rt, report, kind="completion", author_opd="dpupr", public=True)
    private_message = add_message(rt, report, kind="progress", author_opd="dpupr", public=False)
    shown = upload(files_env, report, [encoded("hasil perbaikan.jpg", jpeg_with_gps())],
                   lapor_staff(LIAISON, "dpupr"), message_id=public_message)
    hidden = upload(files_env, report, [encoded("progres.jpg", jpeg_with_gps())],
                    lapor_staff(LIAISON, "dpupr"), message_id=private_message)
    listed = _public(files_env, report).get_json()
    assert [item["id"] for item in listed] == [shown[0]["id"]]
    assert _public(files_env, report, shown[0]["id"]).status_code == 200
    assert _public(files_env, report, hidden[0]["id"]).status_code == 404
    secret = add_report(rt, privacy="rahasia", status="completed", lead_opd="dpupr")
    add_disposition(rt, secret, "dpupr")
    message = add_message(rt, secret, kind="completion", author_opd="dpupr", public=True)
    stored = upload(files_env, secret, [encoded("x.jpg", jpeg_with_gps())],
                    lapor_staff(LIAISON, "dpupr"), message_id=message)
    assert _public(files_env, secret).status_code == 404
    assert _public(files_env, secret, stored[0]["id"]).status_code == 404


def test_an_opds_files_uploaded_first_are_named_by_its_completion(files_env):
    lapor = LaporClient(files_env)
    submitted = lapor.submit(privacy="public")
    number = submitted["number"]
    steps.dispatch(lapor, number)
    steps.opd_step(lapor, number, "follow-up", steps.FOLLOW_UP)
    report = SimpleNamespace(number=number, token=submitted["access_token"])
    stored = upload(lapor.env, report, [encoded("hasil.jpg", jpeg_with_gps())], lapor_staff(LIAISON, "dinkes"))
    citizen_before = lapor.http.get(path(report), headers=as_citizen(report)).get_json()
    assert stored[0]["id"] not in [a["id"] for a in citizen_before]
    steps.opd_step(lapor, number, "completion", {**steps.COMPLETION, "attachment_ids": [stored[0]["id"]]})
    citizen_after = lapor.http.get(path(report), headers=as_citizen(report)).get_json()
    assert [a["id"] for a in citizen_after if a["uploaded_by"] == "opd"] == [stored[0]["id"]]
    assert citizen_after[-1]["message_id"] is not None


def test_the_opd_detail_names_an_anonim_reporters_files_neutrally(files_env):
    lapor = LaporClient(files_env)
    submitted = lapor.submit(privacy="anonim", attachments=[encoded("KTP Siti Aminah.jpg", jpeg_with_gps())])
    number = submitted["number"]
    steps.dispatch(lapor, number)
    seen = steps.opd_get(lapor, number, "dinkes")
    assert seen.status_code == 200, seen.get_json()
    names = [a["filename"] for a in seen.get_json()["attachments"]]
    assert len(names) == 1 and names[0].startswith("lampiran-") and "Siti" not in seen.get_data(as_text=True)
    citizen = lapor.view(number, submitted["access_token"])
    assert [a["filename"] for a in citizen["attachments"]] == ["KTP Siti Aminah.jpg"]
