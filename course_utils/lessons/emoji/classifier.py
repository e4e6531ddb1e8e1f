"""Emoji prediction (lesson 08): the trained model with its tokeniser: sentences in, emoji out;
saved and loaded together.
"""

from __future__ import annotations

import json
import os
import threading
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from course_utils.embeddings import (
    PretrainedEmbeddings,
)
from course_utils.keras_setup import import_keras
from course_utils.lessons.emoji.data import EMOJIS, NAMES
from course_utils.lessons.emoji.model import EMBEDDING_LAYER, load_embeddings, predict_probabilities

DEFAULT_MODEL = Path("models") / "emoji_lstm.keras"


FORMAT = "course_utils.emoji/1"  # written into the metadata file, checked when loading


class ModelLoadError(RuntimeError):
    """A saved emoji model is missing, damaged, or does not match this machine's embeddings."""


def metadata_path(path: str | os.PathLike) -> Path:
    """The metadata file saved beside a model: ``emoji_lstm.keras`` -> ``emoji_lstm.json``."""
    return Path(path).with_suffix(".json")


class EmojiClassifier:
    """A trained model with everything needed to go from raw text to an emoji.

    ``model`` (Keras, ids -> probabilities), ``embeddings`` (the table *and* its tokeniser, which the
    model cannot do without), ``max_len`` and ``source`` (the name :func:`load_embeddings` reloads).
    Safe to call from several threads (a web server's worker threads): calls to the model take turns.
    """

    def __init__(self, model, embeddings: PretrainedEmbeddings, max_len: int, source: str = "minilm",
                 info: dict | None = None):
        if not isinstance(max_len, (int, np.integer)) or max_len < 1:
            raise ValueError(f"max_len: expected a positive integer, got {max_len!r}")
        self.model, self.embeddings, self.max_len, self.source = model, embeddings, int(max_len), source
        self.info = dict(info or {})  # free-form notes saved with the model (validation accuracy, ...)
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], max_len: int | None = None) -> np.ndarray:
        """Texts -> (N, max_len) int64 ids, cut and padded as in training."""
        return self.embeddings.encode(texts, self.max_len if max_len is None else max_len)

    def predict_proba(self, texts: Sequence[str], max_len: int | None = None) -> np.ndarray:
        """(N,) texts -> (N, 5) probabilities, in one call of the model. Empty texts raise ``ValueError``."""
        X = self.encode(texts, max_len)
        with self._lock:   # one batch however many texts, on the lesson's fixed number of threads
            return predict_probabilities(self.model, X)

    def predict(self, texts: Sequence[str]) -> list[dict]:
        """One dict per text, in order: ``text``, ``label``, ``emoji``, ``emoji_meaning``, ``confidence``,
        ``all_predictions`` ({emoji: probability}). The same objects the REST API returns."""
        return [self.describe(text, p) for text, p in zip(texts, self.predict_proba(texts))]

    @staticmethod
    def describe(text: str, probs: np.ndarray) -> dict:
        label = int(np.argmax(probs))
        return {"text": text, "label": label, "emoji": EMOJIS[label], "emoji_meaning": NAMES[label],
                "confidence": float(probs[label]),
                "all_predictions": {e: float(p) for e, p in zip(EMOJIS, probs)}}

    # -- saving and loading ---------------------------------------------------------------------

    def save(self, path: str | os.PathLike = DEFAULT_MODEL) -> Path:
        """Write ``path`` (the Keras model, ``.keras``) and the metadata file beside it (``.json``).

        The metadata says how to tokenise (the embedding source, ``max_len``) and what the outputs
        mean (the labels). Returns the model's path.
        """
        path = Path(path)
        if path.suffix != ".keras":
            raise ValueError(f"path: expected a file name ending in .keras, got {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        keras = import_keras()
        self.model.save(path)
        meta = {"format": FORMAT, "embeddings": self.source, "embeddings_name": self.embeddings.name,
                "vocab_size": self.embeddings.vocab_size, "dim": self.embeddings.dim,
                "standardized": self.embeddings.is_standardized,
                "pad_id": self.embeddings.pad_id, "unk_id": self.embeddings.unk_id, "max_len": self.max_len,
                "labels": [{"label": i, "name": n, "emoji": e}
                           for i, (n, e) in enumerate(zip(NAMES, EMOJIS))],
                "keras_version": keras.__version__, "backend": keras.backend.backend(), "info": self.info}
        metadata_path(path).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike = DEFAULT_MODEL) -> EmojiClassifier:
        """Load a model saved by :meth:`save`. Anything missing or wrong raises :class:`ModelLoadError`."""
        path, meta_file = Path(path), metadata_path(path)
        hint = f"train one with: python -m course_utils.lessons.emoji train --out {path}"
        if not path.is_file():
            raise ModelLoadError(f"no emoji model at {path}; {hint}")
        if not meta_file.is_file():
            raise ModelLoadError(f"{path} has no metadata file {meta_file.name} beside it (max_len, labels, "
                                 f"embeddings); save models with EmojiClassifier.save, or {hint}")
        try:
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ModelLoadError(f"{meta_file} is not readable JSON ({err}); {hint}") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ModelLoadError(f"{meta_file}: expected metadata of format {FORMAT!r}; {hint}")
        labels = [(d.get("name"), d.get("emoji")) for d in meta.get("labels", []) if isinstance(d, dict)]
        if labels != list(zip(NAMES, EMOJIS)):
            raise ModelLoadError(f"{meta_file}: the model's labels {labels} "
                                 f"are not this course's {list(NAMES)}")
        if not zipfile.is_zipfile(path):  # a .keras file is a zip archive; catch a damaged one early
            raise ModelLoadError(f"{path} is not a Keras model file "
                                 f"(damaged or not a .keras archive); {hint}")
        keras = import_keras()
        try:
            # compile=False: loaded for prediction (no optimizer state);
            # model.compile(...) to train it further.
            model = keras.saving.load_model(path, compile=False)
        except Exception as err:  # noqa: BLE001 (Keras raises many kinds of errors for a bad file)
            raise ModelLoadError(f"could not read the Keras model {path}: "
                                 f"{type(err).__name__}: {err}") from None
        try:
            emb = load_embeddings(meta["embeddings"])
            if meta.get("standardized"):
                emb = emb.standardized()  # recomputed from the table itself (up to rounding: see below)
        except (OSError, ValueError, ImportError) as err:
            raise ModelLoadError(f"{path} needs the embeddings {meta.get('embeddings')!r}: {err}") from None
        try:
            table = model.get_layer(EMBEDDING_LAYER).get_weights()[0]
        except ValueError:
            raise ModelLoadError(f"{path}: the model has no layer {EMBEDDING_LAYER!r}") from None
        # The model's table must be the tokeniser's: the same ids must mean the same rows. A tolerance, not
        # equality: a standardised table recomputed on another machine may differ in the last digit.
        if table.shape != emb.matrix.shape or not np.allclose(table, emb.matrix, rtol=1e-5, atol=1e-5):
            raise ModelLoadError(f"{path}: its embedding table {table.shape} differs from {emb.name} "
                                 f"{emb.matrix.shape} on this machine, so its token ids would mean "
                                 "other words")
        return cls(model, emb, int(meta["max_len"]), meta["embeddings"], meta.get("info"))
