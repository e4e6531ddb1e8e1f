"""Lesson 08: the REST API. Every endpoint and every bad request through FastAPI's TestClient, hostile
input (oversize bodies, lone surrogates, invisible texts, bodies that are not JSON), then the real server
(uvicorn, started by the command line) over HTTP: 400 requests from 8 threads, a quarter of them bad,
with its memory measured.

The model is the lesson's LSTM, untrained (seeded): the API's behaviour does not depend on its skill.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from course_utils.keras_setup import seed_keras
from course_utils.lessons.emoji.api import (
    ECHO_CHARS,
    EXAMPLES,
    MAX_BATCH,
    MAX_BODY_BYTES,
    MAX_CHARS,
    BodyLimit,
    create_app,
)
from course_utils.lessons.emoji.classifier import EmojiClassifier, ModelLoadError, NoTokenError
from course_utils.lessons.emoji.data import EMOJIS, NAMES
from course_utils.lessons.emoji.model import build_emoji_lstm, load_embeddings
from course_utils.lessons.emoji.sentence_head import SentenceHead

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("one_torch_thread")
SENTENCES = ["I love you", "Let's play baseball", "I passed my exam!", "my dog died", "What's for dinner?"]
KEYS = {"text", "label", "emoji", "emoji_meaning", "confidence", "all_predictions"}


@pytest.fixture(scope="session")
def classifier():
    """The lesson's service, untrained (what the API does does not depend on its skill): the LSTM and a
    sentence head with random weights, so every request also runs the sentence encoder."""
    emb = load_embeddings("minilm")
    seed_keras(0)
    rng = np.random.default_rng(0)
    head = SentenceHead(rng.normal(size=(5, 384)), rng.normal(size=5), C=1.0)
    return EmojiClassifier(build_emoji_lstm(emb), emb, max_len=16, sentence_head=head)


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


def test_docs_and_openapi_are_served_without_another_host(client):
    for page, marker in (("/docs", "swagger"), ("/redoc", "redoc")):
        r = client.get(page)
        assert r.status_code == 200 and marker in r.text.lower()
        urls = re.findall(r"(?:src|href)=[\"']([^\"']+)", r.text)
        assert urls and all(u.startswith("/") for u in urls), urls  # no http(s)://, no //cdn...
        for url in urls:
            asset = client.get(url)
            assert asset.status_code == 200 and len(asset.content) > 1000, url
    assert "fonts.googleapis" not in client.get("/redoc").text
    schema = client.get("/openapi.json").json()
    assert {"/health", "/predict", "/predict/batch"} <= set(schema["paths"])
    assert "/docs" not in schema["paths"] and "/" not in schema["paths"]


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
    ("/predict", {"text": "\u200b"}, "text: Value error, text is empty or only whitespace"),
    ("/predict", {"text": "\ufeff\u200b\u200d \u2028\u00a0\u3000\x00\x1b"}, "text: Value error, text is"),
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
    ("/predict/batch", ["ok", "\u200b\u200c"], "item 1: Value error, text is empty or only whitespace"),
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


# ------------------------------------------------------------------------------------------ hostile input

JSON = {"Content-Type": "application/json"}


def check_error(r, status: int = 422) -> dict:
    """An error answer: the status, valid UTF-8 JSON, and both ``detail`` and ``message``."""
    assert r.status_code == status, r.text[:500]
    assert r.headers["content-type"].startswith("application/json")
    answer = json.loads(r.content.decode("utf-8"))  # strict: invalid UTF-8 or JSON raises here
    assert {"detail", "message"} <= set(answer) and isinstance(answer["message"], str), answer
    return answer


def test_head_health(client):
    r = client.head("/health")
    assert r.status_code == 200 and r.content == b""


@pytest.mark.parametrize("method, path, status", [("GET", "/nowhere", 404), ("GET", "/predict", 405),
                                                  ("PUT", "/predict/batch", 405), ("DELETE", "/health", 405),
                                                  ("POST", "/" + "x" * 300, 404)])
def test_wrong_paths_and_methods_answer_json(client, method, path, status):
    answer = check_error(client.request(method, path), status)
    assert "x" * (ECHO_CHARS + 1) not in answer["message"]
    if status == 405:
        assert "POST" in answer["message"] or "GET" in answer["message"]


@pytest.mark.parametrize("size", [MAX_BODY_BYTES + 1, 10 * MAX_BODY_BYTES])
def test_a_body_over_the_limit_gets_413(client, size):
    body = b'{"text": "' + b"a" * size + b'"}'
    answer = check_error(client.post("/predict", content=body, headers=JSON), 413)
    assert "64 KB" in answer["message"]
    # streamed without a Content-Length (chunked): counted as it comes
    chunks = (body[i:i + 4096] for i in range(0, len(body), 4096))
    check_error(client.post("/predict/batch", content=chunks, headers=JSON), 413)


def test_a_body_just_under_the_limit_is_read(client):
    body = {"text": "hi", "padding": "a" * (MAX_BODY_BYTES - 100)}  # an unknown field is ignored
    assert MAX_BODY_BYTES - 100 < len(json.dumps(body)) <= MAX_BODY_BYTES
    assert client.post("/predict", json=body).status_code == 200


def run_body_limit(headers: list, chunks: list[bytes]) -> tuple[list[dict], int, bool]:
    """BodyLimit alone around an app that reads the whole body: (messages sent, chunks read, app called)."""
    sent, read, called = [], [0], [False]

    async def app(scope, receive, send):
        called[0] = True
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive():
        i = read[0]
        read[0] += 1
        return {"type": "http.request", "body": chunks[i], "more_body": i + 1 < len(chunks)}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/predict", "headers": headers}
    asyncio.run(BodyLimit(app, max_bytes=1000)(scope, receive, send))
    return sent, read[0], called[0]


def test_body_limit_reads_no_more_than_the_limit():
    # a Content-Length over the limit: refused before a single byte is read
    sent, read, called = run_body_limit([(b"content-length", b"100000000")], [b"x" * 100] * 1000)
    assert sent[0]["status"] == 413 and read == 0 and not called
    # no Content-Length: 100-byte chunks are read until the 11th passes 1000 bytes, then 413
    sent, read, called = run_body_limit([], [b"x" * 100] * 1000)
    assert sent[0]["status"] == 413 and read == 11 and not called
    assert json.loads(sent[1]["body"])["detail"] == "Content Too Large"
    # up to the limit: the app gets the whole body and answers
    sent, read, called = run_body_limit([], [b"x" * 100] * 10)
    assert sent[0]["status"] == 200 and read == 10 and called


LONG = "x" * (MAX_BODY_BYTES // 2)
ECHOES = [  # bodies that hold a long text, sent in many shapes; no answer may repeat more than 40 characters
    ("/predict", {"text": LONG}),
    ("/predict", {"text": [LONG]}),
    ("/predict", {"txt": LONG}),
    ("/predict", [LONG]),
    ("/predict", LONG),
    ("/predict/batch", [LONG, 7]),
    ("/predict/batch", {"texts": [LONG]}),
    ("/predict/batch", [LONG[:MAX_CHARS + 1]] * MAX_BATCH),
    ("/predict", b'{"text": "' + LONG.encode() + b'"'),  # invalid JSON
    ("/predict", b"text=" + LONG.encode()),  # form data with a JSON content type
]


@pytest.mark.parametrize("endpoint, body", ECHOES, ids=[f"{e} {str(b)[:20]}" for e, b in ECHOES])
def test_errors_repeat_only_a_short_prefix_of_the_input(client, endpoint, body):
    if isinstance(body, bytes):
        r = client.post(endpoint, content=body, headers=JSON)
    else:
        r = client.post(endpoint, json=body)
    check_error(r)
    assert "x" * (ECHO_CHARS + 1) not in r.text
    assert len(r.content) < 40_000  # even 100 errors of a batch stay small


@pytest.mark.parametrize("content_type, body", [
    ("text/plain", b"I love you " * 1000),
    ("application/x-www-form-urlencoded", b"text=" + b"x" * 5000),
    ("multipart/form-data; boundary=zz",
     b'--zz\r\nContent-Disposition: form-data; name="text"\r\n\r\nhi\r\n--zz--'),
    ("application/json", b"\xff\xfe not UTF-8 \xff"),
    ("application/json", b'{"text": ' + b"9" * 5000 + b"}"),  # more digits than Python converts
    ("application/json", b"[" * 5000 + b"]" * 5000),  # deeper than the JSON parser goes
    ("application/json", b'{"text": NaN}'),
    ("application/json", b""),
])
def test_unparseable_bodies_get_422(client, content_type, body):
    r = client.post("/predict", content=body, headers={"Content-Type": content_type})
    answer = check_error(r)
    assert "x" * (ECHO_CHARS + 1) not in r.text and "I love you " * 5 not in r.text
    assert answer["message"] and "There was an error parsing the body" not in r.text


@pytest.mark.parametrize("endpoint, body, expected", [
    ("/predict", b'{"text": "\\ud800"}', "text: Input should be a valid string, unable to parse raw data"),
    ("/predict", b'{"text": "I love \\udfff you"}', "text: Input should be a valid string"),
    ("/predict", b'{"\\ud800": "I love you"}', "text: Field required"),
    ("/predict/batch", b'["ok", "\\udc00\\ud800"]', "item 1: Input should be a valid string"),
    ("/predict/batch", b'"\\ud83d"', "body: Input should be a valid list"),
])
def test_lone_surrogates_get_valid_json(client, endpoint, body, expected):
    r = client.post(endpoint, content=body, headers=JSON)
    answer = check_error(r)  # the answer is valid UTF-8: the surrogate comes back escaped, as \ud800
    assert expected in answer["message"]
    assert b"\\ud" in r.content


def test_a_text_the_classifier_refuses_gets_422(client):
    # a combining accent alone is a visible character, but the tokeniser drops it: no token
    answer = check_error(client.post("/predict", json={"text": "\u0301"}))
    assert answer["message"].startswith("text: Value error")
    assert answer["detail"][0]["loc"] == ["body", "text"]
    assert client.post("/predict", json={"text": "still there?"}).status_code == 200


def test_the_classifiers_value_error_names_the_item(client, classifier, monkeypatch):
    def refuse(texts):
        i = min(1, len(texts) - 1)
        raise NoTokenError(f"texts[{i}] {texts[i]!r}: expected at least one word, found no token", index=i)

    monkeypatch.setattr(classifier, "predict", refuse)
    answer = check_error(client.post("/predict/batch", json=["fine", "y" * 400, "ok"]))
    assert answer["message"].startswith("item 1: Value error, texts[1]")
    assert answer["detail"][0]["loc"] == ["body", 1] and "y" * (ECHO_CHARS + 1) not in json.dumps(answer)
    answer = check_error(client.post("/predict", json={"text": "z" * 300}))
    assert answer["detail"][0]["loc"] == ["body", "text"] and "z" * (ECHO_CHARS + 1) not in json.dumps(answer)


def test_the_servers_own_value_error_is_a_500_not_the_clients_fault(classifier, monkeypatch):
    def broken(texts):
        raise ValueError("operands could not be broadcast together with shapes (3,5) (4,5)")

    with TestClient(create_app(classifier), raise_server_exceptions=False) as c:
        monkeypatch.setattr(classifier, "predict", broken)
        check_error(c.post("/predict", json={"text": "I love you"}), 500)
        check_error(c.post("/predict/batch", json=["I love you"]), 500)


def test_a_server_error_is_json_and_the_server_keeps_serving(classifier, monkeypatch):
    with TestClient(create_app(classifier), raise_server_exceptions=False) as c:
        monkeypatch.setattr(classifier, "predict", lambda texts: 1 / 0)
        answer = check_error(c.post("/predict", json={"text": "I love you"}), 500)
        assert "ZeroDivisionError" in answer["message"]
        monkeypatch.undo()
        assert c.post("/predict", json={"text": "I love you"}).status_code == 200


def test_the_demo_page(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    page = r.text
    assert "__CONFIG__" not in page and 'aria-live="polite"' in page and '<label for="text">' in page
    assert not re.search(r"(?:src|href)=[\"'](?:https?:)?//", page)  # nothing from another host
    config = re.search(r'<script id="config" type="application/json">(.*?)</script>', page).group(1)
    config = json.loads(config)
    assert [d["emoji"] for d in config["labels"]] == list(EMOJIS) and config["examples"] == list(EXAMPLES)
    assert len(page.splitlines()) <= 150
    head = client.head("/")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"].startswith("text/html")


# ----------------------------------------------------------------------------------------- the real server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(model: str | os.PathLike, timeout: float = 120) -> Iterator[tuple[str, subprocess.Popen]]:
    """``python -m course_utils.lessons.emoji serve`` on a free local port: yields (base URL, process) once
    ``/health`` answers, and stops it with SIGTERM afterwards (uvicorn shuts down gracefully)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile("w+") as log:  # a file, not a pipe: a full pipe would block the server
        server = subprocess.Popen(
            [sys.executable, "-m", "course_utils.lessons.emoji", "serve", "--model", str(model),
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=log, text=True,
            env={**os.environ, "COURSE_MODE": "quick", "COURSE_THREADS": "1", "OMP_NUM_THREADS": "1"})
        try:
            deadline = time.monotonic() + timeout
            while True:  # wait until it answers (importing torch and Keras takes a few seconds)
                if server.poll() is not None:
                    log.seek(0)
                    raise AssertionError(f"the server stopped: {log.read()[-2000:]}")
                try:
                    if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"the server did not start within {timeout:.0f} s"
                time.sleep(0.25)
            yield base, server
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def rss_mb(pid: int) -> float:
    """The resident memory of a process, from /proc/<pid>/status, in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def big_body(size: int) -> Iterator[bytes]:
    """A JSON body of ``size`` bytes sent in chunks, without a Content-Length (chunked encoding)."""
    yield b'{"text": "'
    for _ in range(size // 8192):
        yield b"a" * 8192
    yield b'"}'


BAD_KINDS = [  # (what, request arguments, expected status): a quarter of the load test's requests
    ("oversize", dict(content=b'{"text": "' + b"a" * (4 * MAX_BODY_BYTES) + b'"}', headers=JSON), 413),
    ("oversize, chunked", dict(content=None, headers=JSON), 413),
    ("invalid JSON", dict(content=b'{"text": "I love', headers=JSON), 422),
    ("lone surrogate", dict(content=b'{"text": "\\ud800 love"}', headers=JSON), 422),
    ("blank", dict(json={"text": "\u200b \ufeff\t"}), 422),
    ("wrong type", dict(json={"text": ["I love you"]}), 422),
    ("form data", dict(data={"text": "I love you"}), 422),
    ("not JSON at all", dict(content=b"I love you", headers={"Content-Type": "text/plain"}), 422),
]
LOAD_REQUESTS, LOAD_THREADS, WARM_UP, RSS_GROWTH_MB = 400, 8, 48, 20


def test_the_real_server_under_400_requests_from_8_threads(saved, classifier):
    expected = dict(zip(SENTENCES, classifier.predict_proba(SENTENCES)))

    def call(http: httpx.Client, i: int):
        if i % 4 == 3:  # every fourth request is bad, each kind in turn
            what, kwargs, status = BAD_KINDS[(i // 4) % len(BAD_KINDS)]
            if kwargs.get("content", b"") is None:
                kwargs = {**kwargs, "content": big_body(2 * MAX_BODY_BYTES)}
            return i, what, status, http.post("/predict", **kwargs)
        if i % 8 == 1:
            return i, "batch", 200, http.post("/predict/batch", json=SENTENCES)
        return i, "one", 200, http.post("/predict", json={"text": SENTENCES[i % len(SENTENCES)]})

    def check(i, what, status, r):
        assert r.status_code == status, (i, what, r.status_code, r.text[:300])
        answer = json.loads(r.content.decode("utf-8"))
        if status != 200:
            assert {"detail", "message"} <= set(answer) and len(r.content) < 2000, (i, what, r.text[:300])
        elif what == "batch":
            assert [a["text"] for a in answer] == SENTENCES
            for a in answer:
                check_prediction(a, a["text"], expected[a["text"]])
        else:
            check_prediction(answer, SENTENCES[i % len(SENTENCES)], expected[SENTENCES[i % len(SENTENCES)]])

    with running_server(saved) as (base, server):
        assert httpx.get(f"{base}/health").json() == {"status": "healthy", "model_loaded": True}
        assert httpx.head(f"{base}/health").status_code == 200
        # one client (its pool keeps up to 8 connections open) shared by the 8 threads
        pool_limits = httpx.Limits(max_connections=LOAD_THREADS)
        with (httpx.Client(base_url=base, timeout=60, limits=pool_limits) as http,
              ThreadPoolExecutor(max_workers=LOAD_THREADS) as pool):
            for result in pool.map(lambda i: call(http, i), range(WARM_UP)):
                check(*result)
            rss_before = rss_mb(server.pid)
            start = time.perf_counter()
            results = list(pool.map(lambda i: call(http, i), range(LOAD_REQUESTS)))
            seconds = time.perf_counter() - start
        for result in results:
            check(*result)
        assert sum(what not in ("one", "batch") for _, what, _, _ in results) == LOAD_REQUESTS // 4
        # 32 MB announced by Content-Length: refused at once, and not kept
        r = httpx.post(f"{base}/predict", content=b"a" * (32 << 20), headers=JSON, timeout=60)
        assert r.status_code == 413 and len(r.content) < 1000
        rss_after = rss_mb(server.pid)
        print(f"\n{LOAD_REQUESTS} requests ({LOAD_REQUESTS // 4} bad) from {LOAD_THREADS} threads in "
              f"{seconds:.1f} s, 0 failures; server RSS {rss_before:.0f} MB after warm-up, "
              f"{rss_after:.0f} MB at the end")
        assert rss_after - rss_before < RSS_GROWTH_MB, (rss_before, rss_after)
        # a bad request over HTTP, then a good one: the server keeps serving
        assert httpx.post(f"{base}/predict", json={"text": "I love you"}).status_code == 200
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
