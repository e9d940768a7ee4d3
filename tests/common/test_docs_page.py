"""`/docs` works with no way out to the internet: a real headless Chromium opens the PPID
app's Swagger UI, served on a local port, and finds its operations listed.

Chromium is a test requirement (`make test` installs the Debian package `chromium`); where
it is missing the test fails rather than skips, so a green run means the page was seen.
"""

from __future__ import annotations

import shutil
import subprocess
import threading

import pytest
from werkzeug.serving import make_server

from services.common.http import DOCS_ASSETS
from tests.ppid.support import build_env

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
OPERATION = "/api/v1/requests"
INTRANET_HOST = "simpul.intranet"


def chromium() -> str:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("Chromium is not installed (apt-get install chromium); `make test` installs it")


@pytest.fixture(scope="module")
def served_ppid(tmp_path_factory):
    env = build_env(f"sqlite:///{tmp_path_factory.mktemp('docs') / 'ppid.db'}", "sqlite")
    server = make_server("127.0.0.1", 0, env.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    env.rt.dispose()


def _chromium(url: str, profile, *extra: str) -> subprocess.CompletedProcess:
    url = url.replace("127.0.0.1", INTRANET_HOST)
    return subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            # Nothing but the local server is reachable, under an intranet name: a page that
            # still reached for a CDN would stay blank, as it does on a regency intranet.
            f"--host-resolver-rules=MAP {INTRANET_HOST} 127.0.0.1, MAP * ~NOTFOUND",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=10000",
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_the_docs_page_refers_only_to_local_assets(served_ppid):
    import urllib.request

    with urllib.request.urlopen(f"{served_ppid}/docs") as page:
        html = page.read().decode()
    assert f'{DOCS_ASSETS}swagger-ui-bundle.js' in html
    assert "//cdn" not in html and "https://" not in html
    with urllib.request.urlopen(f"{served_ppid}{DOCS_ASSETS}swagger-ui-bundle.js") as script:
        assert script.status == 200 and len(script.read()) > 100_000


def test_swagger_ui_renders_the_operations_in_a_real_browser(served_ppid, tmp_path):
    result = _chromium(f"{served_ppid}/docs", tmp_path / "profile", "--dump-dom")
    dom = result.stdout
    assert result.returncode == 0, result.stderr[-2000:]
    # Swagger UI has rendered the document: the operations with their paths and methods.
    assert 'class="swagger-ui"' in dom, dom[:2000]
    assert "opblock-summary-path" in dom, dom[:2000]
    assert f'data-path="{OPERATION}"' in dom
    assert "PPID" in dom


def test_a_screenshot_of_the_docs_page_can_be_taken(served_ppid, tmp_path):
    shot = tmp_path / "docs.png"
    result = _chromium(
        f"{served_ppid}/docs", tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,1600"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
