"""Open311's rate limit: an anonymous client is held to PUBLIC_RATE_LIMIT and refused in
GeoReport's error shape with Retry-After; a partner app with a valid key files for many
citizens from one address and is not held to it."""

from __future__ import annotations

import pytest

from tests.lapor.public_seed import T0
from tests.lapor.support import backend_env

KEY = "kunci-mitra-batas-0123456789"


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    with backend_env("sqlite", tmp_path_factory, PUBLIC_RATE_LIMIT="3/minute",
                     LAPOR_OPEN311_API_KEYS=KEY) as env:
        env.clock.set(T0)
        yield env


def test_an_anonymous_client_is_limited_in_georeport_shape(limited):
    answers = [limited.client.get("/open311/v2/services.xml") for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    refused = answers[-1]
    assert refused.mimetype == "text/xml"
    assert b"<errors><error><code>429</code>" in refused.get_data()
    assert "Retry-After" in refused.headers
    # Counted per endpoint, whatever the format asked for.
    more = [limited.client.get("/open311/v2/discovery.json") for _ in range(4)]
    assert [a.status_code for a in more] == [200, 200, 200, 429]
    assert more[-1].get_json()[0]["code"] == 429


def test_posts_without_a_valid_key_are_limited_and_a_key_holder_is_not(limited):
    wrong = [limited.client.post("/open311/v2/requests.json", data={"api_key": "salah"}).status_code
             for _ in range(5)]
    assert wrong == [403, 403, 403, 429, 429]
    form = {"api_key": KEY, "service_code": "infrastruktur", "lat": "-3.0", "long": "114.39",
            "description": "Jembatan kayu di ujung desa mulai lapuk dan berbahaya.",
            "first_name": "Sari", "email": "sari@example.org"}
    filed = [limited.client.post("/open311/v2/requests.json", data=form).status_code for _ in range(5)]
    assert filed == [201] * 5
