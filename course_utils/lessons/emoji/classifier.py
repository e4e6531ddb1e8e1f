"""Emoji prediction (lesson 08): the trained model with its tokeniser: sentences in, emoji out;
saved and loaded together.

The classifier is the LSTM, and optionally a second opinion averaged with it: a logistic regression on
the sentence vectors of a pre-trained encoder (:mod:`course_utils.lessons.emoji.sentence_head`).

A saved model is two files: ``emoji_lstm.keras`` (the Keras model, frozen table included) and the
*sidecar* ``emoji_lstm.json`` beside it: how to tokenise (``embeddings``, ``standardized``, ``max_len``),
what the outputs mean (``labels``), the SHA-256 of the ``.keras`` file (``weights_sha256``), so that
a model file swapped or damaged after saving is caught, and the sentence head's weights (``sentence_head``,
or ``null`` for the LSTM alone). :meth:`EmojiClassifier.load` checks every field.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from course_utils.embeddings import (
    PretrainedEmbeddings,
)
from course_utils.keras_setup import import_keras
from course_utils.lessons.emoji.data import EMOJIS, NAMES
from course_utils.lessons.emoji.model import (
    EMBEDDING_LAYER,
    is_embedding_source,
    load_embeddings,
    predict_probabilities,
)
from course_utils.lessons.emoji.sentence_head import SentenceHead, sentence_vectors
from course_utils.sentence_encoder import load_sentence_encoder

DEFAULT_MODEL = Path("models") / "emoji_lstm.keras"


FORMAT = "course_utils.emoji/3"  # written into the metadata file, checked when loading
# Older sidecars are refused with a request to train again, saying what they lack.
_OLDER_FORMATS = {"course_utils.emoji/1": "without a checksum of the weights",
                  "course_utils.emoji/2": "without the sentence head"}
MAX_LEN_LIMIT = 512          # the longest max_len a classifier accepts (the lesson's is under 20 tokens)
_SIDECAR_MAX_BYTES = 1 << 20  # a sidecar is a few hundred bytes; anything over 1 MiB is not one
_REPR_LIMIT = 40             # error messages quote at most this many characters of a value


class ModelLoadError(RuntimeError):
    """A saved emoji model is missing, damaged, or does not match this machine's embeddings."""


class NoTokenError(ValueError):
    """A text in which the tokeniser finds nothing to read; ``index`` is its position in the list."""

    def __init__(self, message: str, index: int):
        super().__init__(message)
        self.index = index


def metadata_path(path: str | os.PathLike) -> Path:
    """The metadata file saved beside a model: ``emoji_lstm.keras`` -> ``emoji_lstm.json``."""
    return Path(path).with_suffix(".json")


def _short(value) -> str:
    """``repr(value)``, cut to :data:`_REPR_LIMIT` characters: safe to put in an error message."""
    text = repr(value)
    return text if len(text) <= _REPR_LIMIT else text[:_REPR_LIMIT - 3] + "..."


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- the sidecar's fields: name -> (what is expected, the check) ---------------------------------------

def _int_in(low: int, high: int | None = None) -> Callable[[object], bool]:
    """A check: an integer (not a bool: JSON's ``true`` is not a number) from ``low`` to ``high``."""
    return lambda v: (isinstance(v, int) and not isinstance(v, bool)
                      and v >= low and (high is None or v <= high))


def _is(kind: type) -> Callable[[object], bool]:
    return lambda v: isinstance(v, kind)


_HEX64 = re.compile(r"[0-9a-f]{64}")


def _label_list() -> list[dict]:
    return [{"label": i, "name": n, "emoji": e} for i, (n, e) in enumerate(zip(NAMES, EMOJIS))]


_FIELDS: dict[str, tuple[str, Callable[[object], bool]]] = {
    "embeddings": ("'minilm', 'glove.6B.<50|100|200|300>d' or 'glove:<path>.txt'", is_embedding_source),
    "embeddings_name": ("a string", _is(str)),
    "vocab_size": ("an integer >= 2", _int_in(2)),
    "dim": ("an integer >= 1", _int_in(1)),
    "standardized": ("true or false", _is(bool)),
    "pad_id": ("0 (padding is row 0)", _int_in(0, 0)),
    "unk_id": ("an integer >= 1", _int_in(1)),
    "max_len": (f"an integer from 1 to {MAX_LEN_LIMIT}", _int_in(1, MAX_LEN_LIMIT)),
    "labels": (f"this course's labels {', '.join(NAMES)} with their emoji, in order",
               lambda v: v == _label_list()),
    "weights_sha256": ("the SHA-256 of the .keras file: 64 hexadecimal digits",
                       lambda v: isinstance(v, str) and _HEX64.fullmatch(v) is not None),
    "keras_version": ("a string", _is(str)),
    "backend": ("a string", _is(str)),
    "info": ("a JSON object", _is(dict)),
    "sentence_head": ("null, or {encoder, C, coef (5 x 384 numbers), intercept (5 numbers)}",
                      lambda v: v is None or _is_sentence_head(v)),
}


def _is_sentence_head(value) -> bool:
    try:
        SentenceHead.from_dict(value)
    except ValueError:
        return False
    return True


def _read_sidecar(meta_file: Path, hint: str) -> dict:
    """The sidecar's fields, every one checked; :class:`ModelLoadError` names the first wrong one."""
    size = meta_file.stat().st_size
    if size > _SIDECAR_MAX_BYTES:
        raise ModelLoadError(f"{meta_file}: expected a metadata file of at most {_SIDECAR_MAX_BYTES:,} "
                             f"bytes, found {size:,} bytes; {hint}")
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8-sig"))   # -sig: a text editor's BOM is fine
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as err:
        # ValueError: bad JSON, or an integer of thousands of digits; RecursionError: absurd nesting
        raise ModelLoadError(f"{meta_file} is not readable JSON ({type(err).__name__}: "
                             f"{str(err)[:80]}); {hint}") from None
    if not isinstance(meta, dict):
        raise ModelLoadError(f"{meta_file}: expected a JSON object {{...}}, found {_short(meta)}; {hint}")
    _check_format(meta, meta_file, hint)
    for name, (expected, ok) in _FIELDS.items():
        if name not in meta:
            raise ModelLoadError(f"{meta_file}: field {name!r} is missing: expected {expected}; {hint}")
        if not ok(meta[name]):
            raise ModelLoadError(f"{meta_file}: field {name!r}: expected {expected}, "
                                 f"found {_short(meta[name])}; {hint}")
    return meta


def _check_format(meta: dict, meta_file: Path, hint: str) -> None:
    found = meta.get("format")
    if found == FORMAT:
        return
    if isinstance(found, str) and found in _OLDER_FORMATS:
        raise ModelLoadError(f"{meta_file}: field 'format': {found!r} is an older format "
                             f"{_OLDER_FORMATS[found]}, which this version refuses; expected {FORMAT!r}. "
                             f"Train the model again: {hint}")
    what = "found nothing (the key is missing)" if "format" not in meta else f"found {_short(found)}"
    raise ModelLoadError(f"{meta_file}: field 'format': expected {FORMAT!r}, {what}; {hint}")


def _check_weights_file(path: Path, meta: dict, meta_file: Path, hint: str) -> None:
    if not zipfile.is_zipfile(path):  # a .keras file is a zip archive; catch a damaged one early
        raise ModelLoadError(f"{path} is not a Keras model file (damaged or not a .keras archive); {hint}")
    found, recorded = _sha256(path), meta["weights_sha256"]
    if found != recorded:
        raise ModelLoadError(f"{path}: the weights file does not match its sidecar {meta_file.name} "
                             f"(SHA-256 {found[:12]}..., the sidecar records {recorded[:12]}...): it was "
                             f"replaced or changed after saving; save the two together, or {hint}")


def _load_keras_model(path: Path):
    keras = import_keras()
    try:
        # compile=False: loaded for prediction (no optimizer state); model.compile(...) to train it further.
        return keras.saving.load_model(path, compile=False)
    except Exception as err:  # noqa: BLE001 (Keras raises many kinds of errors for a bad file)
        raise ModelLoadError(f"could not read the Keras model {path}: "
                             f"{type(err).__name__}: {str(err)[:200]}") from None


def _sidecar_embeddings(meta: dict, path: Path, meta_file: Path) -> PretrainedEmbeddings:
    """The table the sidecar names, raw or standardised, checked against the sidecar's sizes."""
    source = meta["embeddings"]
    try:
        emb = load_embeddings(source)
    except Exception as err:  # noqa: BLE001 (a damaged file: safetensors and tokenizers raise their own errors)
        if source.startswith("glove:") and not isinstance(err, FileNotFoundError):
            # Never quote what a file named by the sidecar contains: the name could be any file's.
            raise ModelLoadError(f"{meta_file}: field 'embeddings': expected a GloVe table ('word v1 ... vD' "
                                 f"per line), found {_short(source)}, which cannot be read as one "
                                 f"({type(err).__name__}); {path} needs it") from None
        raise ModelLoadError(f"{meta_file}: field 'embeddings': expected a table available on this machine, "
                             f"found {_short(source)}, which is not ({str(err)[:200]}); "
                             f"{path} needs it") from None
    if meta["standardized"]:
        emb = emb.standardized()  # recomputed from the table itself (up to rounding: see load)
    for field, here in (("vocab_size", emb.vocab_size), ("dim", emb.dim), ("unk_id", emb.unk_id)):
        if meta[field] != here:
            raise ModelLoadError(f"{meta_file}: field {field!r}: expected {here}, as in {emb.name} on this "
                                 f"machine, found {meta[field]}: the model was saved with another table")
    return emb


def _check_table(model, emb: PretrainedEmbeddings, path: Path) -> None:
    try:
        table = model.get_layer(EMBEDDING_LAYER).get_weights()[0]
    except ValueError:
        raise ModelLoadError(f"{path}: the model has no layer {EMBEDDING_LAYER!r}") from None
    # The model's table must be the tokeniser's: the same ids must mean the same rows. A tolerance, not
    # equality: a standardised table recomputed on another machine may differ in the last digit.
    if table.shape != emb.matrix.shape or not np.allclose(table, emb.matrix, rtol=1e-5, atol=1e-5):
        raise ModelLoadError(f"{path}: its embedding table {table.shape} differs from {emb.name} "
                             f"{emb.matrix.shape} on this machine, so its token ids would mean other words")


def check_texts_have_tokens(texts: Sequence[str], embeddings: PretrainedEmbeddings) -> None:
    """Raise ``ValueError`` for a list that is not of strings, and :class:`NoTokenError` naming the first
    text (index and a short prefix) in which the tokeniser of ``embeddings`` finds no token."""
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise ValueError(f"texts: expected a list of strings, got {type(texts).__name__}")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(f"texts[{i}]: expected a string, got {type(text).__name__}")
        if not embeddings.ids(text):
            raise NoTokenError(f"texts[{i}] {_short(text)}: expected at least one word, found no token: "
                               "to the tokeniser the text is empty (whitespace, zero-width and control "
                               "characters are not tokens)", index=i)


def _read_model_files(path: Path) -> tuple[dict, PretrainedEmbeddings]:
    """The checks of :meth:`EmojiClassifier.load` that come before Keras: both files, the sidecar's fields,
    the weights' checksum and the embeddings. Returns ``(sidecar, embeddings)``; :class:`ModelLoadError`."""
    meta_file = metadata_path(path)
    hint = f"train one with: python -m course_utils.lessons.emoji train --out {path}"
    if not path.is_file():
        raise ModelLoadError(f"no emoji model at {path}; {hint}")
    if not meta_file.is_file():
        raise ModelLoadError(f"{path} has no metadata file {meta_file.name} beside it (max_len, labels, "
                             f"embeddings); save models with EmojiClassifier.save, or {hint}")
    meta = _read_sidecar(meta_file, hint)
    _check_weights_file(path, meta, meta_file, hint)
    return meta, _sidecar_embeddings(meta, path, meta_file)


class EmojiClassifier:
    """A trained model with everything needed to go from raw text to an emoji.

    ``model`` (Keras, ids -> probabilities), ``embeddings`` (the table *and* its tokeniser, which the
    model cannot do without), ``max_len`` (1 to :data:`MAX_LEN_LIMIT`) and ``source`` (the name
    :func:`load_embeddings` reloads). ``sentence_head``: if given, the probabilities are the mean of the
    LSTM's and the head's (on the sentence vectors of :func:`load_sentence_encoder`); ``None``: the LSTM
    alone.
    Safe to call from several threads (a web server's worker threads): calls to the models take turns.
    """

    def __init__(self, model, embeddings: PretrainedEmbeddings, max_len: int, source: str = "minilm",
                 info: dict | None = None, sentence_head: SentenceHead | None = None):
        if not _int_in(1, MAX_LEN_LIMIT)(int(max_len) if isinstance(max_len, np.integer) else max_len):
            raise ValueError(f"max_len: expected an integer from 1 to {MAX_LEN_LIMIT}, got {_short(max_len)}")
        if not is_embedding_source(source):
            raise ValueError(f"source: expected {_FIELDS['embeddings'][0]}, got {_short(source)}")
        if sentence_head is not None and not isinstance(sentence_head, SentenceHead):
            raise ValueError(f"sentence_head: expected a SentenceHead or None, "
                             f"got {type(sentence_head).__name__}")
        self.model, self.embeddings, self.max_len, self.source = model, embeddings, int(max_len), source
        self.sentence_head = sentence_head
        self.info = dict(info or {})  # free-form notes saved with the model (validation accuracy, ...)
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], max_len: int | None = None) -> np.ndarray:
        """Texts -> (N, max_len) int64 ids, cut and padded as in training.

        A text in which the tokeniser finds no token at all (empty, only whitespace, zero-width or
        control characters such as U+200B or U+FEFF) raises ``ValueError``: there is nothing to classify,
        and the model would answer the padding with a confident-looking guess.
        """
        self.check_texts(texts)
        return self.embeddings.encode(texts, self.max_len if max_len is None else max_len)

    def check_texts(self, texts: Sequence[str]) -> None:
        """Raise ``ValueError`` for a list that is not of strings, and :class:`NoTokenError` naming the first
        text (index and a short prefix) that has no token (see :func:`check_texts_have_tokens`)."""
        check_texts_have_tokens(texts, self.embeddings)

    def component_probabilities(self, texts: Sequence[str],
                                max_len: int | None = None) -> dict[str, np.ndarray]:
        """Each part's opinion: ``{"lstm": (N, 5)}``, plus ``"sentence_head": (N, 5)`` if there is one.

        A text without a token (see :meth:`encode`) raises ``ValueError``."""
        X = self.encode(texts, max_len)
        with self._lock:   # one batch however many texts, on the lesson's fixed number of threads
            parts = {"lstm": predict_probabilities(self.model, X)}
            if self.sentence_head is not None:
                parts["sentence_head"] = self.sentence_head.predict_proba(sentence_vectors(texts))
        return parts

    def predict_proba(self, texts: Sequence[str], max_len: int | None = None) -> np.ndarray:
        """(N,) texts -> (N, 5) probabilities: the LSTM's, or the mean of the LSTM's and the sentence head's.

        A text without a token (see :meth:`encode`) raises ``ValueError``."""
        return np.mean(list(self.component_probabilities(texts, max_len).values()), axis=0)

    def predict(self, texts: Sequence[str]) -> list[dict]:
        """One dict per text, in order: ``text``, ``label``, ``emoji``, ``emoji_meaning``, ``confidence``,
        ``all_predictions`` ({emoji: probability}). The same objects the REST API returns.
        A text without a token (see :meth:`encode`) raises ``ValueError``."""
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

        The metadata says how to tokenise (the embedding source, ``max_len``), what the outputs
        mean (the labels), and the SHA-256 of the ``.keras`` file just written (``weights_sha256``).
        The metadata file is written last, in one piece (a temporary file renamed). Returns the model's path.
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
                "labels": _label_list(), "weights_sha256": _sha256(path),
                "keras_version": keras.__version__, "backend": keras.backend.backend(), "info": self.info,
                "sentence_head": None if self.sentence_head is None else self.sentence_head.to_dict()}
        meta_file = metadata_path(path)
        part = meta_file.with_name(meta_file.name + ".part")
        part.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(part, meta_file)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike = DEFAULT_MODEL,
             check_texts: Sequence[str] | None = None) -> EmojiClassifier:
        """Load a model saved by :meth:`save`. Anything missing or wrong raises :class:`ModelLoadError`.

        ``check_texts``: texts to check with the saved tokeniser before Keras reads the model (a fraction of
        a second, where Keras takes seconds): one without a token raises :class:`NoTokenError`, as
        :meth:`predict` would, but before the wait. The command line's ``predict`` uses it.

        Checked, in this order (the first problem found is reported, naming the file and the field, what
        was expected and a short quote of what was found):

        - both files exist; the sidecar is a JSON object of at most 1 MiB;
        - ``format`` is :data:`FORMAT`. Sidecars of format 1 (before ``weights_sha256``) and 2 (before
          ``sentence_head``) are refused: train the model again;
        - every field of the sidecar is present, of its type and in its range (``max_len`` an integer
          from 1 to :data:`MAX_LEN_LIMIT`, not ``true``; ``embeddings`` a known table name; the
          course's labels in order; ``sentence_head`` null or a head of the right sizes with finite
          weights; ...); keys this version does not know are ignored;
        - the ``.keras`` file is a zip archive whose SHA-256 is the sidecar's ``weights_sha256``;
        - the embeddings named load on this machine (the content of a file named by a ``glove:`` path is
          never quoted), with the sidecar's sizes;
        - (``check_texts``, if given: each has a token;)
        - Keras reads the ``.keras`` file, and its table equals the embeddings;
        - if there is a sentence head, its encoder loads on this machine.
        """
        path, meta_file = Path(path), metadata_path(path)
        meta, emb = _read_model_files(path)
        if check_texts is not None:
            check_texts_have_tokens(check_texts, emb)
        model = _load_keras_model(path)
        _check_table(model, emb, path)
        head = None if meta["sentence_head"] is None else SentenceHead.from_dict(meta["sentence_head"])
        if head is not None:   # load the encoder now: a server that cannot use it must not start
            try:
                load_sentence_encoder()
            except Exception as err:  # noqa: BLE001 (a damaged file: safetensors, tokenizers, JSON errors)
                raise ModelLoadError(f"{meta_file}: field 'sentence_head' needs the sentence encoder "
                                     f"{head.encoder}, which does not load on this machine: "
                                     f"{str(err)[:200]}") from None
        return cls(model, emb, meta["max_len"], meta["embeddings"], meta["info"], head)
