"""A REST API for the emoji model of lesson 08, with FastAPI.

    app = create_app("models/emoji_lstm.keras")      # or create_app(classifier)
    # python -m course_utils.lessons.emoji serve --model models/emoji_lstm.keras   (uvicorn, port 7860)

Endpoints (interactive documentation at ``/docs``, the OpenAPI schema at ``/openapi.json``):

- ``GET /health`` -> ``{"status": "healthy", "model_loaded": true}``
- ``POST /predict`` with ``{"text": "I love you"}`` -> ``{"text", "label", "emoji", "emoji_meaning",
  "confidence", "all_predictions": {emoji: probability}}``
- ``POST /predict/batch`` with ``["I love you", "Let's eat"]`` (1 to 100 texts) -> a list of the same
  objects, in the same order, from one call of the model.

A bad request gets status 422 and says what was wrong: ``{"message": "text: ...", "detail": [...]}``
(``detail`` is FastAPI's usual list of errors, ``message`` the same in one line). Texts must be
strings of 1 to 500 characters that are not only whitespace. The server keeps serving.
"""

from __future__ import annotations

import os
from typing import Annotated

from fastapi import Body, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from course_utils.lessons.emoji.classifier import EmojiClassifier
from course_utils.lessons.emoji.data import EMOJIS, NAMES

MAX_CHARS = 500


MAX_BATCH = 100


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("text is empty or only whitespace; send a sentence")
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


def _where(loc) -> str:
    """``("body", "text")`` -> ``"text"``; ``("body", 3)`` -> ``"item 3"``; ``("body",)`` -> ``"body"``."""
    parts = ([f"item {p}" if isinstance(p, int) else str(p) for p in loc[1:]]
             if loc and loc[0] == "body" else loc)
    return ".".join(parts) or "body"


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with FastAPI's error list plus a one-line ``message``, e.g. ``"text: Field required"``."""
    errors = exc.errors()
    lines = []
    for err in errors:
        if err.get("type") == "json_invalid":  # FastAPI's loc is ("body", position): say where the JSON broke
            position = err.get("loc", (None, "?"))[-1]
            reason = (err.get("ctx") or {}).get("error", "decode error")
            lines.append(f"body: not valid JSON at character {position} ({reason})")
        else:
            lines.append(f"{_where(err.get('loc', ()))}: {err.get('msg', 'invalid')}")
    if "json" not in request.headers.get("content-type", ""):
        lines.append("send JSON with the header Content-Type: application/json")
    for err in errors:  # pydantic keeps the exception object of a failed check; JSON gets its text
        if isinstance((err.get("ctx") or {}).get("error"), Exception):
            err["ctx"] = {**err["ctx"], "error": str(err["ctx"]["error"])}
    return JSONResponse(status_code=422,
                        content={"message": "; ".join(lines), "detail": jsonable_encoder(errors)})


def create_app(model_or_path: EmojiClassifier | str | os.PathLike) -> FastAPI:
    """The FastAPI app serving one classifier (given, or loaded now from a saved ``.keras`` file).

    Loading happens here, not at the first request, so a missing or damaged model stops the
    server before it starts (:class:`~course_utils.lessons.emoji.classifier.ModelLoadError`).
    """
    clf = model_or_path if isinstance(model_or_path, EmojiClassifier) else EmojiClassifier.load(model_or_path)
    app = FastAPI(title="Emoji predictor",
                  description="Lesson 08 of the course: a 2-layer LSTM on frozen pre-trained word embeddings "
                              "picks one of " + " ".join(f"{e} {n}" for e, n in zip(EMOJIS, NAMES)) + ".",
                  version="1.0")
    app.state.classifier = clf
    app.add_exception_handler(RequestValidationError, _validation_error)

    # Plain ``def`` endpoints: FastAPI runs them in a thread pool, so a slow model call does not
    # block the server's event loop; the classifier's lock makes the model calls take turns.

    @app.get("/health", response_model=Health, summary="Is the server up, with its model?")
    def health() -> Health:
        return Health(status="healthy", model_loaded=app.state.classifier is not None)

    @app.post("/predict", response_model=Prediction, summary="The emoji of one sentence")
    def predict(request: PredictRequest) -> dict:
        return clf.predict([request.text])[0]

    @app.post("/predict/batch", response_model=list[Prediction],
              summary="The emoji of each sentence, in order")
    def predict_batch(
        texts: Annotated[list[Text], Body(min_length=1, max_length=MAX_BATCH,
                                          description=f"a JSON list of 1 to {MAX_BATCH} sentences",
                                          examples=[["I love you", "Let's play baseball",
                                                     "What's for dinner?"]])],
    ) -> list[dict]:
        return clf.predict(texts)  # one batched model call for the whole list

    return app
