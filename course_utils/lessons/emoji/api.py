"""A REST API for the emoji model of lesson 08, with FastAPI, and a demo page.

    app = create_app("models/emoji_lstm.keras")      # or create_app(classifier)
    # python -m course_utils.lessons.emoji serve --model models/emoji_lstm.keras   (uvicorn, port 7860)

Endpoints:

- ``GET /`` -> the demo page: type a sentence, see its emoji and the five probabilities as bars.
- ``GET /health`` -> ``{"status": "healthy", "model_loaded": true}`` (``HEAD /health``: 200, no body)
- ``POST /predict`` with ``{"text": "I love you"}`` -> ``{"text", "label", "emoji", "emoji_meaning",
  "confidence", "all_predictions": {emoji: probability}}``
- ``POST /predict/batch`` with ``["I love you", "Let's eat"]`` (1 to 100 texts) -> a list of the same
  objects, in the same order, from one call of the model.
- ``GET /docs`` (Swagger UI) and ``GET /redoc``: interactive documentation whose scripts and styles are
  served by this app (from the ``fastapi-offline`` package), so they work offline; ``GET /openapi.json``.

Every answer is JSON except the pages. A bad request gets status 422 and says what was wrong:
``{"message": "text: ...", "detail": [...]}`` (``detail`` is FastAPI's usual list of errors, ``message``
the same in one line); that includes bodies that are not JSON at all. Texts must be strings of 1 to 500
characters with at least one visible character (not only whitespace, zero-width or control characters),
and valid Unicode (no lone surrogates). A body over 64 KB (``MAX_BODY_BYTES``; 100 texts of 500 ASCII
characters fit, other scripts take 2 to 4 bytes a character) gets 413 before the rest of it is read.
A wrong path or method keeps its 404 or 405, also as JSON with ``detail`` and ``message``. No error
repeats more than the first 40 characters of what was sent. The server keeps serving.
"""

from __future__ import annotations

import json
import math
import os
import unicodedata
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import fastapi_offline
from fastapi import Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from starlette.exceptions import HTTPException as StarletteHTTPException

from course_utils.lessons.emoji.classifier import EmojiClassifier, NoTokenError
from course_utils.lessons.emoji.data import EMOJIS, NAMES

MAX_CHARS = 500
MAX_BATCH = 100
MAX_BODY_BYTES = 64 * 1024
ECHO_CHARS = 40  # an error repeats at most this much of the input, then "…"
INVISIBLE = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})  # control, format (zero-width), separators
EXAMPLES = ("I love you so much", "Let's play baseball tonight", "I passed my exam!", "My dog died",
            "What's for dinner?")  # the demo page's examples, one per class in the order of NAMES
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"  # Swagger UI and ReDoc, served locally
PAGE_POLICY = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
               "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'")


def _not_blank(text: str) -> str:
    if all(unicodedata.category(ch) in INVISIBLE for ch in text):
        raise ValueError("text is empty or only whitespace, zero-width or control characters; "
                         "send a sentence")
    return text


# A text to classify: a JSON string (strict: 42 or null is not turned into "42"), at most 500 characters,
# not blank. The checks run in this order, so "" and "   " get the "empty" message.
Text = Annotated[str, StringConstraints(strict=True, max_length=MAX_CHARS), AfterValidator(_not_blank)]


class PredictRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"text": "I love you"}]})
    text: Text = Field(description=f"the sentence to classify, 1 to {MAX_CHARS} characters")


class Prediction(BaseModel):
    text: str = Field(description="the text, as sent")
    label: int = Field(description="the class id, 0 to 4: "
                                   + ", ".join(f"{i} {n}" for i, n in enumerate(NAMES)))
    emoji: str
    emoji_meaning: str = Field(description="the class name: " + ", ".join(NAMES))
    confidence: float = Field(description="the probability of the chosen emoji")
    all_predictions: dict[str, float] = Field(description="the probability of every emoji (they sum to 1)")


class Health(BaseModel):
    status: str
    model_loaded: bool


# ------------------------------------------------------------------------------------------ error answers


class SafeJSONResponse(JSONResponse):
    """JSON that is always valid UTF-8: text with a lone surrogate (``"\\ud800"`` sent in the JSON) is
    written with ``\\uXXXX`` escapes instead of failing the answer with a 500."""

    def render(self, content: Any) -> bytes:
        try:
            return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
        except UnicodeEncodeError:
            return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


def clip(value: Any) -> Any:
    """What an error may repeat of the input: short numbers as they are, anything else as text of at
    most ``ECHO_CHARS`` characters plus "…" (a 64 KB body is not sent back)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, int) and abs(value) < 10 ** ECHO_CHARS:
        return value
    if isinstance(value, (bytes, bytearray)):
        text = bytes(value[:4 * ECHO_CHARS + 4]).decode("utf-8", "replace")
    elif isinstance(value, str):
        text = value
    elif isinstance(value, (list, dict)):
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (ValueError, RecursionError):  # absurdly nested
            text = f"a JSON {'list' if isinstance(value, list) else 'object'}"
    else:
        text = str(value)
    return text if len(text) <= ECHO_CHARS else text[:ECHO_CHARS] + "…"


def _scrub(message: str, texts: list[str]) -> str:
    """A message that may quote the texts sent, with each long text cut to its first 40 characters."""
    for text in sorted(texts, key=len, reverse=True):
        if len(text) > ECHO_CHARS:
            for form in (text, repr(text)[1:-1]):
                message = message.replace(form, clip(text))
    return message if len(message) <= 300 else message[:300] + "…"


def error_answer(status: int, detail: Any, message: str, headers: dict | None = None) -> SafeJSONResponse:
    return SafeJSONResponse(status_code=status, content={"message": message, "detail": detail},
                            headers=headers)


def _where(loc) -> str:
    """``("body", "text")`` -> ``"text"``; ``("body", 3)`` -> ``"item 3"``; ``("body",)`` -> ``"body"``."""
    parts = ([f"item {p}" if isinstance(p, int) else str(p) for p in loc[1:]]
             if loc and loc[0] == "body" else [str(p) for p in loc])
    return ".".join(parts) or "body"


def _tidy(err: dict) -> dict:
    """One of FastAPI's errors made safe to send: the input cut short, exceptions turned into their text."""
    out = {k: v for k, v in err.items() if k in ("type", "loc", "msg")}
    out["loc"] = [p if isinstance(p, int) else clip(str(p)) for p in err.get("loc", ())]
    if "input" in err:
        out["input"] = clip(err["input"])
    if err.get("ctx"):
        out["ctx"] = {k: v if type(v) is int else clip(str(v)) for k, v in err["ctx"].items()}
    return out


def _line(err: dict) -> str:
    if err.get("type") == "json_invalid":  # FastAPI's loc is ("body", position): say where the JSON broke
        position = err["loc"][-1] if err.get("loc") else "?"
        reason = (err.get("ctx") or {}).get("error", "decode error")
        return f"body: not valid JSON at character {position} ({reason})"
    return f"{_where(err.get('loc', ()))}: {err.get('msg', 'invalid')}"


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with FastAPI's error list plus a one-line ``message``, e.g. ``"text: Field required"``."""
    errors = [_tidy(err) for err in exc.errors()]
    lines = [_line(err) for err in errors[:5]]
    if len(errors) > 5:
        lines.append(f"and {len(errors) - 5} more (see detail)")
    if "json" not in request.headers.get("content-type", ""):
        lines.append("send JSON with the header Content-Type: application/json")
    return error_answer(422, errors, "; ".join(lines))


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """404 and 405 as JSON with a ``message``; FastAPI's 400 for a body it could not parse becomes 422."""
    method, path = clip(request.method), clip(request.url.path)
    if exc.status_code == 400:  # FastAPI: "There was an error parsing the body" (bad UTF-8, a huge number)
        cause = exc.__cause__
        reason = f"{type(cause).__name__}: {clip(str(cause))}" if cause else str(exc.detail)
        errors = [{"type": "body_unreadable", "loc": ["body"], "msg": f"could not read the body ({reason})"}]
        return error_answer(422, errors, f"body: could not be read as JSON ({reason}); send UTF-8 JSON with "
                                         "the header Content-Type: application/json")
    if exc.status_code == 404:
        message = (f"no such page: {path}; the API has GET / (demo page), GET /health, POST /predict, "
                   "POST /predict/batch, and its documentation at /docs")
    elif exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        message = f"{path} does not answer {method}; use {allowed or 'another method'}"
    else:
        message = str(exc.detail)
    return error_answer(exc.status_code, exc.detail, message, headers=exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    return error_answer(500, "Internal Server Error",
                        f"the server failed on this request ({type(exc).__name__}); it keeps serving")


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` gets 413 and is not read further.

    A ``Content-Length`` over the limit is refused before any of the body is read; a body without one
    (chunked) is counted as it arrives. The body read is then handed to the app unchanged.
    """

    def __init__(self, app, max_bytes: int = MAX_BODY_BYTES):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        pending = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay():
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope, receive, send):
        kb = self.max_bytes // 1024
        answer = error_answer(413, "Content Too Large",
                              f"body: more than {self.max_bytes} bytes ({kb} KB); send one text of at most "
                              f"{MAX_CHARS} characters, or a list of at most {MAX_BATCH} of them")
        await answer(scope, receive, send)


# ---------------------------------------------------------------------------------------------- the app


def _refused_by_the_model(err: NoTokenError, texts: list[str], batch: bool) -> RequestValidationError:
    """The classifier's :class:`NoTokenError` (a text without a single token) as the validator's 422."""
    message = _scrub(str(err), texts)
    loc = ("body", err.index) if batch else ("body", "text")
    return RequestValidationError([{"type": "value_error", "loc": loc, "msg": f"Value error, {message}",
                                    "input": texts[err.index]}])


def demo_page() -> str:
    """The demo page (``demo.html`` beside this module) with the labels and examples filled in."""
    config = {"labels": [{"emoji": e, "name": n} for e, n in zip(EMOJIS, NAMES)], "examples": list(EXAMPLES),
              "maxChars": MAX_CHARS}
    page = (resources.files("course_utils.lessons.emoji") / "demo.html").read_text(encoding="utf-8")
    return page.replace("__CONFIG__", json.dumps(config, ensure_ascii=False).replace("<", "\\u003c"))


def _add_docs(app: FastAPI) -> None:
    """``/docs`` and ``/redoc`` with their scripts, styles and icon served from ``/docs-assets``."""
    app.mount("/docs-assets", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - Swagger UI",
                                   swagger_js_url=f"{root}/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url=f"{root}/docs-assets/swagger-ui.css",
                                   swagger_favicon_url=f"{root}/docs-assets/favicon.png",
                                   oauth2_redirect_url=f"{root}{app.swagger_ui_oauth2_redirect_url}")

    @app.get(app.swagger_ui_oauth2_redirect_url, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - ReDoc",
                              redoc_js_url=f"{root}/docs-assets/redoc.standalone.js",
                              redoc_favicon_url=f"{root}/docs-assets/favicon.png", with_google_fonts=False)


def create_app(model_or_path: EmojiClassifier | str | os.PathLike) -> FastAPI:
    """The FastAPI app serving one classifier (given, or loaded now from a saved ``.keras`` file).

    Loading happens here, not at the first request, so a missing or damaged model stops the
    server before it starts (:class:`~course_utils.lessons.emoji.classifier.ModelLoadError`).
    """
    clf = model_or_path if isinstance(model_or_path, EmojiClassifier) else EmojiClassifier.load(model_or_path)
    app = FastAPI(title="Emoji predictor",
                  description="Lesson 08 of the course: a 2-layer LSTM on frozen pre-trained word "
                              "embeddings, "
                              "averaged with a logistic regression on pre-trained sentence vectors, "
                              "picks one of " + " ".join(f"{e} {n}" for e, n in zip(EMOJIS, NAMES)) + ".",
                  version="1.0", docs_url=None, redoc_url=None)
    app.state.classifier = clf
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _server_error)
    _add_docs(app)
    page = demo_page()

    # Plain ``def`` endpoints: FastAPI runs them in a thread pool, so a slow model call does not
    # block the server's event loop; the classifier's lock makes the model calls take turns.

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def home() -> HTMLResponse:   # HEAD: the same headers, no body (Starlette drops it)
        return HTMLResponse(page, headers={"Content-Security-Policy": PAGE_POLICY})

    @app.get("/health", response_model=Health, summary="Is the server up, with its model?")
    def health() -> Health:
        return Health(status="healthy", model_loaded=app.state.classifier is not None)

    @app.head("/health", include_in_schema=False)
    def health_head() -> Response:
        return Response(status_code=200, media_type="application/json")

    @app.post("/predict", response_model=Prediction, summary="The emoji of one sentence")
    def predict(request: PredictRequest) -> dict:
        try:
            return clf.predict([request.text])[0]
        except NoTokenError as err:  # the classifier found nothing to read in the text
            raise _refused_by_the_model(err, [request.text], batch=False) from None

    @app.post("/predict/batch", response_model=list[Prediction],
              summary="The emoji of each sentence, in order")
    def predict_batch(
        texts: Annotated[list[Text], Body(min_length=1, max_length=MAX_BATCH,
                                          description=f"a JSON list of 1 to {MAX_BATCH} sentences",
                                          examples=[["I love you", "Let's play baseball",
                                                     "What's for dinner?"]])],
    ) -> list[dict]:
        try:
            return clf.predict(texts)  # one batched model call for the whole list
        except NoTokenError as err:
            raise _refused_by_the_model(err, texts, batch=True) from None

    return app
