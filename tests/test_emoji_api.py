"""Lesson 08: the REST API. Every endpoint and every bad request through FastAPI's TestClient,
then the real server (uvicorn, started by the command line) over HTTP, from several threads.

The model is the lesson's LSTM, untrained (seeded): the API's behaviour does not depend on its skill.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from course_utils.keras_setup import seed_keras
from course_utils.lessons.emoji.api import MAX_BATCH, MAX_CHARS, create_app
from course_utils.lessons.emoji.classifier import EmojiClassifier, ModelLoadError
from course_utils.lessons.emoji.data import EMOJIS, NAMES
from course_utils.lessons.emoji.model import build_emoji_lstm, load_embeddings

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("one_torch_thread")
SENTENCES = ["I love you", "Let's play baseball", "I passed my exam!", "my dog died", "What's for dinner?"]
KEYS = {"text", "label", "emoji", "emoji_meaning", "confidence", "all_predictions"}


@pytest.fixture(scope="session")
def classifier():
    emb = load_embeddings("minilm")
    seed_keras(0)
    return EmojiClassifier(build_emoji_lstm(emb), emb, max_len=16)


@pytest.fixture(scope="session")
def client(classifier):
    with TestClient(create_app(classifier)) as c:
        yield c


@pytest.fixture(scope="session")
def saved(classifier, tmp_path_factory):
    return classifier.save(tmp_path_factory.mktemp("api_model") / "emoji.keras")


def check_prediction(answer: dict, text: str, expected_probs: np.ndarray):
    assert set(answer) == KEYS
    assert answer["text"] == text
    assert list(answer["all_predictions"]) == list(EMOJIS)
    probs = np.array(list(answer["all_predictions"].values()))
    np.testing.assert_allclose(probs, expected_probs, atol=1e-5)
    assert answer["label"] == int(np.argmax(expected_probs))
    assert answer["emoji"] == EMOJIS[answer["label"]] and answer["emoji_meaning"] == NAMES[answer["label"]]
    assert answer["confidence"] == pytest.approx(probs.max())


# ------------------------------------------------------------------------------------------ good requests


def test_health(client):
    r = client.get("/health")
    assert r.status_code == 200 and r.json() == {"status": "healthy", "model_loaded": True}


def test_predict_one(client, classifier):
    r = client.post("/predict", json={"text": "I love you"})
    assert r.status_code == 200
    check_prediction(r.json(), "I love you", classifier.predict_proba(["I love you"])[0])


def test_predict_batch_keeps_the_order(client, classifier):
    r = client.post("/predict/batch", json=SENTENCES)
    assert r.status_code == 200
    answers = r.json()
    assert [a["text"] for a in answers] == SENTENCES
    for answer, text, probs in zip(answers, SENTENCES, classifier.predict_proba(SENTENCES)):
        check_prediction(answer, text, probs)
    # the same answers as one at a time
    for answer, text in zip(answers, SENTENCES):
        single = client.post("/predict", json={"text": text}).json()
        assert single["label"] == answer["label"]
        np.testing.assert_allclose(list(single["all_predictions"].values()),
                                   list(answer["all_predictions"].values()), atol=1e-5)


def test_predict_batch_calls_the_model_once(client, classifier, monkeypatch):
    calls = []
    model = classifier.model
    original = model.predict_on_batch
    monkeypatch.setattr(model, "predict_on_batch", lambda X: calls.append(X.shape) or original(X))
    r = client.post("/predict/batch", json=[f"sentence number {i}" for i in range(MAX_BATCH)])
    assert r.status_code == 200 and len(r.json()) == MAX_BATCH
    assert calls == [(MAX_BATCH, classifier.max_len)]


def test_the_limits_themselves_are_accepted(client):
    assert client.post("/predict", json={"text": "a" * MAX_CHARS}).status_code == 200
    assert client.post("/predict", json={"text": "  padded  "}).json()["text"] == "  padded  "
    assert client.post("/predict/batch", json=["ok"]).status_code == 200


def test_docs_and_openapi(client):
    assert client.get("/docs").status_code == 200 and "swagger" in client.get("/docs").text.lower()
    schema = client.get("/openapi.json").json()
    assert {"/health", "/predict", "/predict/batch"} <= set(schema["paths"])


def test_create_app_from_a_path(saved, classifier):
    with TestClient(create_app(saved)) as c:
        r = c.post("/predict", json={"text": "I love you"})
    check_prediction(r.json(), "I love you", classifier.predict_proba(["I love you"])[0])


def test_create_app_with_a_missing_model_fails_at_once(tmp_path):
    with pytest.raises(ModelLoadError, match="no emoji model"):
        create_app(tmp_path / "missing.keras")


# ------------------------------------------------------------------------------------------- bad requests

BAD = [
    # (endpoint, JSON body or raw bytes, words the message must contain)
    ("/predict", {}, "text: Field required"),
    ("/predict", {"txt": "I love you"}, "text: Field required"),
    ("/predict", None, "body: Field required"),
    ("/predict", {"text": 42}, "text: Input should be a valid string"),
    ("/predict", {"text": None}, "text: Input should be a valid string"),
    ("/predict", {"text": ["I love you"]}, "text: Input should be a valid string"),
    ("/predict", {"text": ""}, "text: Value error, text is empty or only whitespace"),
    ("/predict", {"text": " \n\t "}, "text: Value error, text is empty or only whitespace"),
    ("/predict", {"text": "a" * (MAX_CHARS + 1)}, f"text: String should have at most {MAX_CHARS} characters"),
    ("/predict", ["I love you"], "body: Input should be a valid dictionary"),
    ("/predict", b'{"text": "I love you"', "body: not valid JSON at character"),
    ("/predict", b"text=I love you", "body: not valid JSON at character 0"),
    ("/predict/batch", [], "body: List should have at least 1 item"),
    ("/predict/batch", ["ok"] * (MAX_BATCH + 1), f"body: List should have at most {MAX_BATCH} items"),
    ("/predict/batch", ["ok", 7], "item 1: Input should be a valid string"),
    ("/predict/batch", ["ok", {"text": "hi"}], "item 1: Input should be a valid string"),
    ("/predict/batch", ["ok", "fine", "   "], "item 2: Value error, text is empty or only whitespace"),
    ("/predict/batch", ["a" * (MAX_CHARS + 1)], f"item 0: String should have at most {MAX_CHARS} characters"),
    ("/predict/batch", {"text": "I love you"}, "body: Input should be a valid list"),
    ("/predict/batch", "I love you", "body: Input should be a valid list"),
    ("/predict/batch", None, "body: Field required"),
    ("/predict/batch", b'["I love you", ', "body: not valid JSON at character"),
]


@pytest.mark.parametrize("endpoint, body, expected", BAD, ids=[f"{e} {str(b)[:30]}" for e, b, _ in BAD])
def test_bad_requests_get_422_with_a_message(client, endpoint, body, expected):
    if isinstance(body, bytes):
        r = client.post(endpoint, content=body, headers={"Content-Type": "application/json"})
    elif body is None:
        r = client.post(endpoint)
    else:
        r = client.post(endpoint, json=body)
    assert r.status_code == 422, r.text
    answer = r.json()
    assert expected in answer["message"], answer["message"]
    assert isinstance(answer["detail"], list) and answer["detail"]
    # and the server keeps serving
    assert client.post("/predict", json={"text": "still there?"}).status_code == 200


def test_a_body_that_is_not_json_says_so(client):
    r = client.post("/predict", content=b"I love you", headers={"Content-Type": "text/plain"})
    assert r.status_code == 422 and "Content-Type: application/json" in r.json()["message"]


# ----------------------------------------------------------------------------------------- the real server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_real_server_under_200_requests_from_8_threads(saved, classifier):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "course_utils.lessons.emoji", "serve", "--model", str(saved),
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COURSE_MODE": "quick", "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.monotonic() + 120
        while True:  # wait until it answers (importing torch and Keras takes a few seconds)
            assert server.poll() is None, f"the server stopped: {server.communicate()[1][-2000:]}"
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start within 120 s"
            time.sleep(0.25)
        assert httpx.get(f"{base}/health").json() == {"status": "healthy", "model_loaded": True}

        expected = dict(zip(SENTENCES, classifier.predict_proba(SENTENCES)))

        def call(i: int):
            with httpx.Client(base_url=base, timeout=60) as http:
                if i % 4 == 3:  # every fourth request: the whole batch
                    r = http.post("/predict/batch", json=SENTENCES)
                    return i, r.status_code, r.json()
                text = SENTENCES[i % len(SENTENCES)]
                r = http.post("/predict", json={"text": text})
                return i, r.status_code, r.json()

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(call, range(200)))
        assert len(results) == 200
        for i, status, answer in results:
            assert status == 200, (i, answer)
            if i % 4 == 3:
                assert [a["text"] for a in answer] == SENTENCES
                for a in answer:
                    check_prediction(a, a["text"], expected[a["text"]])
            else:
                text = SENTENCES[i % len(SENTENCES)]
                check_prediction(answer, text, expected[text])

        # a bad request over HTTP, then a good one: the server keeps serving
        bad = httpx.post(f"{base}/predict", content=b"{oops", headers={"Content-Type": "application/json"})
        assert bad.status_code == 422 and "not valid JSON" in bad.json()["message"]
        assert httpx.post(f"{base}/predict", json={"text": "I love you"}).status_code == 200
    finally:
        server.terminate()  # SIGTERM: uvicorn shuts down gracefully
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert server.returncode is not None
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/health", timeout=2)


def test_the_server_refuses_to_start_without_a_model(tmp_path):
    done = subprocess.run([sys.executable, "-m", "course_utils.lessons.emoji", "serve", "--model",
                           str(tmp_path / "none.keras"), "--port", str(free_port())],
                          check=False, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 2 and "no emoji model" in done.stderr


def test_openapi_schema_documents_the_limits(client):
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/predict/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["type"] == "array" and body["minItems"] == 1 and body["maxItems"] == MAX_BATCH
    assert body["items"]["maxLength"] == MAX_CHARS
    assert json.dumps(schema, ensure_ascii=False).count("emoji_meaning") >= 1
