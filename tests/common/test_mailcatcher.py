"""The mail catcher of `make run`: a real SMTP conversation ends as an .eml file under its
directory, readable by any mail program."""

from __future__ import annotations

import email
import email.policy
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port


def _wait_listening(port: int, process: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the catcher exited: {process.communicate()[1]!r}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the catcher never listened")


@pytest.fixture
def catcher(tmp_path):
    """`python -m services.common.mailcatcher` as `make run` starts it, on a free port."""
    port = free_port()
    directory = tmp_path / "mail"
    env = {**os.environ, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "services.common.mailcatcher", "--dir", str(directory)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        _wait_listening(port, process)
        yield port, directory, process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def _letter() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Simpul (pengembangan) <simpul@localhost>"
    message["To"] = "ppid.dinkes@kapuaskab.go.id"
    message["Subject"] = "Tenggat permohonan PPID-2026-000123 tinggal 2 hari kerja"
    message.set_content("Yth. PPID Pelaksana,\n\nPermohonan informasi menunggu jawaban Anda.\n")
    return message


def test_a_mail_sent_over_smtp_is_kept_as_an_eml_file(catcher):
    port, directory, _ = catcher
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        refused = smtp.send_message(
            _letter(), to_addrs=["ppid.dinkes@kapuaskab.go.id", "atasan@kapuaskab.go.id"]
        )
    assert refused == {}

    files = sorted(directory.glob("*.eml"))
    assert len(files) == 1
    kept = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert kept["Subject"] == "Tenggat permohonan PPID-2026-000123 tinggal 2 hari kerja"
    assert kept["To"] == "ppid.dinkes@kapuaskab.go.id"
    assert "Permohonan informasi menunggu jawaban Anda." in kept.get_content()
    # The envelope's recipients, the one only in the envelope (as a Bcc is) included.
    assert kept["X-RcptTo"] == "ppid.dinkes@kapuaskab.go.id, atasan@kapuaskab.go.id"


def test_each_mail_gets_its_own_file_in_arrival_order(catcher):
    port, directory, _ = catcher
    subjects = [f"Pesan ke-{n}" for n in range(3)]
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        for subject in subjects:
            letter = _letter()
            letter.replace_header("Subject", subject)
            smtp.send_message(letter)
    files = sorted(directory.glob("*.eml"))
    kept = [email.message_from_bytes(f.read_bytes(), policy=email.policy.default)["Subject"]
            for f in files]
    assert kept == subjects


def test_the_catcher_stops_cleanly_when_honcho_stops_it(catcher):
    _, _, process = catcher
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0


def test_a_taken_port_is_one_clear_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "services.common.mailcatcher", "--port", str(port),
             "--dir", str(tmp_path)],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert Path(tmp_path).is_dir()
