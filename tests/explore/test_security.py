"""The explore server refuses what does not come from its own page: no token, a wrong token,
another Host (DNS rebinding) or another Origin (a page elsewhere posting to it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from treemarket.examples import example_path
from treemarket.explore.server import create_app

PORT = 45678
TOKEN = "secret-token"
BASE = f"http://127.0.0.1:{PORT}"


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app(None, TOKEN, PORT), base_url=BASE)


def test_the_page_and_the_api_need_the_token(client):
    assert client.get("/").status_code == 403
    assert client.get("/", params={"token": "wrong"}).status_code == 403
    assert client.post("/api/start", json={}).status_code == 403
    assert (
        client.post("/api/start", json={}, headers={"X-Treemarket-Token": "x"}).status_code == 403
    )
    page = client.get("/", params={"token": TOKEN})
    assert page.status_code == 200 and "app.js" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["referrer-policy"] == "no-referrer"
    ok = client.post("/api/start", json={}, headers={"X-Treemarket-Token": TOKEN})
    assert ok.status_code == 200 and "weather" in ok.json()["file"]
    # the page's own assets need no token, but the right host
    assert client.get("/static/app.js").status_code == 200


@pytest.mark.parametrize("host", ["evil.example:45678", "127.0.0.1:1", "localhost", "[::1]:45678"])
def test_another_host_is_refused(client, host):
    response = client.get("/", params={"token": TOKEN}, headers={"Host": host})
    assert response.status_code == 403
    assert client.get("/static/app.js", headers={"Host": host}).status_code == 403


def test_localhost_is_the_same_page(client):
    response = client.get("/", params={"token": TOKEN}, headers={"Host": f"localhost:{PORT}"})
    assert response.status_code == 200


@pytest.mark.parametrize("origin", ["http://evil.example", f"http://127.0.0.1:{PORT + 1}", "null"])
def test_another_origin_is_refused(client, origin):
    text = example_path("weather.yaml").read_text()
    response = client.post(
        "/api/solve",
        json={"text": text, "method": "auto"},
        headers={"X-Treemarket-Token": TOKEN, "Origin": origin},
    )
    assert response.status_code == 403
    own = client.post(
        "/api/check",
        json={"text": text},
        headers={"X-Treemarket-Token": TOKEN, "Origin": BASE},
    )
    assert own.status_code == 200 and own.json()["name"] == "weather"


def test_a_model_sent_is_validated_like_a_file(client, tmp_path: Path):
    text = example_path("weather.yaml").read_text().replace("supply: [1, 1, 1]", "supply: [1, -1]")
    path = tmp_path / "weather.yaml"
    path.write_text(text)
    response = client.post(
        "/api/check",
        json={"text": text, "file": str(path)},
        headers={"X-Treemarket-Token": TOKEN},
    )
    assert response.status_code == 200
    from treemarket.errors import ModelError
    from treemarket.io.ttp_file import load_ttp

    with pytest.raises(ModelError) as info:
        load_ttp(path)
    assert response.json()["error"] == {"message": f"error: {info.value}", "line": info.value.line}


def test_saving_needs_a_file_and_a_valid_model(client, tmp_path: Path):
    headers = {"X-Treemarket-Token": TOKEN}
    text = example_path("weather.yaml").read_text()
    refused = client.post("/api/save", json={"text": text}, headers=headers)
    assert refused.status_code == 200 and "download" in refused.json()["error"]["message"]
    path = tmp_path / "m.yaml"
    path.write_text(text)
    with TestClient(create_app(path, TOKEN, PORT), base_url=BASE) as own:
        mine = {"file": str(path)}
        bad = own.post("/api/save", json={"text": "model: ttp\n", **mine}, headers=headers)
        assert "error" in bad.json() and path.read_text() == text
        edited = text.replace("A: 8", "A: 9")
        other = {"text": edited, "file": str(example_path("weather.yaml"))}
        assert "error" in own.post("/api/save", json=other, headers=headers).json()
        assert path.read_text() == text
        saved = own.post("/api/save", json={"text": edited, **mine}, headers=headers)
        assert saved.json() == {"wrote": str(path)}
        assert path.read_text() == edited
