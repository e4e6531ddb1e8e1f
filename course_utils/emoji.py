"""Lesson 08: an emoji for a short sentence, from a Keras 3 LSTM on frozen pre-trained word embeddings.

The whole pipeline, as the notebook and the command line run it::

    splits = load_emoji_data()                         # {"train", "val", "test"}: DataFrames (text, label)
    emb = load_embeddings("minilm")                    # the frozen (30522, 384) table and its tokeniser
    max_len = choose_max_len(emb, splits["train"]["text"])
    X = {s: emb.encode(list(df["text"]), max_len) for s, df in splits.items()}   # (N, max_len) int64
    lstm_emb = emb.standardized() if STANDARDIZE else emb      # the table the LSTM reads (chosen on val)
    model = build_lstm(lstm_emb, learning_rate=LEARNING_RATE)   # frozen Embedding -> LSTM -> LSTM -> Dense(5)
    history = train_lstm(model, X["train"], y_train, X["val"], y_val)            # early stopping on val
    clf = EmojiClassifier(model, lstm_emb, max_len)
    clf.predict(["I love you"])                        # [{"text": ..., "label": 0, "emoji": "❤️", ...}]
    clf.save("models/emoji_lstm.keras")                # + models/emoji_lstm.json (how to tokenise)
    clf = EmojiClassifier.load("models/emoji_lstm.keras")

and the baseline it has to beat: the mean of a sentence's word vectors -> softmax regression
(:func:`fit_baseline`, in NumPy).

Command line (``python -m course_utils.emoji --help``)::

    python -m course_utils.emoji train --out models/emoji_lstm.keras
    python -m course_utils.emoji predict "I love you" "Let's play ball"
    python -m course_utils.emoji serve --model models/emoji_lstm.keras --host 127.0.0.1 --port 7860

Always get Keras through :func:`course_utils.keras_setup.import_keras` (it selects the PyTorch backend).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .embeddings import PretrainedEmbeddings, find_glove, keras_embedding, load_glove, load_minilm_wordpiece
from .hardware import limit_blas_threads, set_threads
from .keras_setup import fit_with_early_stopping, import_keras, seed_keras
from .losses import softmax, softmax_cross_entropy
from .optim import Adam
from .paths import data_dir

# The five classes. The label is the row of the model's output (and the ``label`` column of the CSVs).
NAMES = ("love", "sports", "happy", "sad", "food")
EMOJIS = ("❤️", "⚾", "😄", "😞", "🍴")
N_CLASSES = len(NAMES)
SPLITS = ("train", "val", "test")

DEFAULT_MODEL = Path("models") / "emoji_lstm.keras"
FORMAT = "course_utils.emoji/1"  # written into the metadata file, checked when loading
EMBEDDING_LAYER = "frozen_embedding"
# The recipe's two settings, chosen on the validation split by tools/emoji_selection.py (lesson 08 shows
# its table): does the LSTM read the embedding table with standardised columns (see
# PretrainedEmbeddings.standardized for why the size of the inputs matters to Adam), and Adam's learning
# rate. The raw table with a larger learning rate won: 3e-3 makes up for MiniLM's small entries.
STANDARDIZE = False
LEARNING_RATE = 3e-3


def label_table() -> pd.DataFrame:
    """The five classes: ``label``, ``name``, ``emoji``."""
    return pd.DataFrame({"label": range(N_CLASSES), "name": NAMES, "emoji": EMOJIS})


# --------------------------------------------------------------------------------------- the data


def emoji_dir() -> Path:
    """``data/emoji``: ``train.csv``, ``val.csv``, ``test.csv``."""
    return data_dir() / "emoji"


def load_emoji_split(path: str | os.PathLike) -> pd.DataFrame:
    """Read one CSV with columns ``text,label`` and check it.

    Checks: exactly those two columns; every text a non-empty string; every label an integer 0..4.
    A failed check raises ``ValueError`` naming the file and the line, instead of surfacing later
    as a strange loss or a tokeniser error.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"emoji data file not found: {path}")
    # keep_default_na=False: a sentence such as "None" or "NA" stays text; an empty field stays "".
    df = pd.read_csv(path, encoding="utf-8", keep_default_na=False, dtype=str)
    if list(df.columns) != ["text", "label"]:
        raise ValueError(f"{path}: expected the columns ['text', 'label'], got {list(df.columns)}")
    if df.empty:
        raise ValueError(f"{path}: no rows")
    blank = df.index[df["text"].str.strip() == ""]
    if len(blank):
        raise ValueError(f"{path}, line {blank[0] + 2}: empty text")  # + 2: the header, and lines count from 1
    labels = pd.to_numeric(df["label"].str.strip(), errors="coerce")
    bad = df.index[labels.isna() | (labels % 1 != 0) | ~labels.between(0, N_CLASSES - 1)]
    if len(bad):
        raise ValueError(f"{path}, line {bad[0] + 2}: label {df['label'][bad[0]]!r} is not one of 0..{N_CLASSES - 1}")
    return df.assign(label=labels.astype(np.int64))


def load_emoji_data(folder: str | os.PathLike | None = None) -> dict[str, pd.DataFrame]:
    """The three splits, checked: ``{"train": df, "val": df, "test": df}`` with columns ``text, label``.

    Also checks that no sentence is in two splits (lower case, spaces collapsed).
    """
    folder = emoji_dir() if folder is None else Path(folder)
    splits = {s: load_emoji_split(folder / f"{s}.csv") for s in SPLITS}
    seen: dict[str, str] = {}
    for split, df in splits.items():
        for text in df["text"]:
            key = " ".join(text.lower().split())
            if seen.setdefault(key, split) != split:
                raise ValueError(f"{folder}: the sentence {text!r} is in both {seen[key]} and {split}")
    return splits


def class_counts(splits: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Sentences per class (rows: emoji and name) and split (columns), with totals."""
    table = pd.DataFrame({s: df["label"].value_counts().reindex(range(N_CLASSES), fill_value=0)
                          for s, df in splits.items()})
    table.index = [f"{e} {n}" for e, n in zip(EMOJIS, NAMES)]
    table.loc["total"] = table.sum()
    table["total"] = table.sum(axis=1)
    return table


# --------------------------------------------------------------------------------- the embeddings


def load_embeddings(source: str = "minilm") -> PretrainedEmbeddings:
    """The frozen table named by ``source``, the name a saved model records.

    - ``"minilm"``: the WordPiece table of all-MiniLM-L6-v2 (offline, from the installed package);
    - ``"glove.6B.50d"`` (or 100d, 200d, 300d): GloVe 6B, found by :func:`find_glove`;
    - ``"glove:<path>"``: any GloVe-format text file.
    """
    if source == "minilm":
        return load_minilm_wordpiece()
    if source.startswith("glove:"):
        return load_glove(source.removeprefix("glove:"))
    if source.startswith("glove.6B.") and source.endswith("d") and source[9:-1].isdigit():
        return load_glove(find_glove(int(source[9:-1])))
    raise ValueError(f"embedding source: expected 'minilm', 'glove.6B.50d' or 'glove:<path>', got {source!r}")


def choose_max_len(emb: PretrainedEmbeddings, texts: Sequence[str]) -> int:
    """The longest training sentence, in tokens: no training sentence is cut.

    Longer sentences met later are cut to this length (their first ``max_len`` tokens are read).
    Shorter ones are padded, and the padding is masked, so a generous ``max_len`` costs only time.
    """
    return int(emb.lengths(list(texts)).max())


def one_hot(labels) -> np.ndarray:
    """Integer labels (N,) -> one-hot float32 (N, 5), the targets of categorical cross-entropy."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() >= N_CLASSES:
        raise ValueError(f"labels: expected a 1-D integer array of values 0..{N_CLASSES - 1}, "
                         f"got {labels.dtype} {labels.shape}")
    return np.eye(N_CLASSES, dtype=np.float32)[labels]


# ------------------------------------------------------------------------------------ the baseline


def mean_embeddings(emb: PretrainedEmbeddings, X: np.ndarray) -> np.ndarray:
    """The mean of each sentence's token vectors, padding left out: (N, T) ids -> (N, D) floats."""
    X = np.asarray(X)
    real = (X != emb.pad_id)[..., None]                                    # (N, T, 1): 1 for a real token
    total = (emb.matrix[X] * real).sum(axis=1)                             # (N, D)
    return total / np.maximum(real.sum(axis=1), 1)                         # an empty row stays zeros


class SoftmaxRegression:
    """Multinomial logistic regression in NumPy: ``softmax(standardise(F) @ W + b)``.

    Fitted by full-batch Adam on the mean cross-entropy plus ``l2 * ||W||^2 / 2``. The features are
    standardised with the training set's mean and standard deviation (kept for prediction).
    """

    def __init__(self, l2: float = 1e-3, steps: int = 500, lr: float = 0.05):
        self.l2, self.steps, self.lr = l2, steps, lr

    def fit(self, F: np.ndarray, y: np.ndarray) -> SoftmaxRegression:
        F = np.asarray(F, dtype=np.float64)
        self.mean, self.std = F.mean(axis=0), F.std(axis=0) + 1e-8
        Z = (F - self.mean) / self.std                                      # (N, D)
        Zt = np.ascontiguousarray(Z.T)                                      # (D, N), for the gradient
        self.params = {"W": np.zeros((Z.shape[1], N_CLASSES)), "b": np.zeros(N_CLASSES)}
        opt = Adam(self.params, lr=self.lr)
        # Products with only 5 columns are too small to share between CPU threads: one BLAS thread is
        # as fast on an idle machine and many times faster on a busy one.
        with limit_blas_threads(1):
            for _ in range(self.steps):
                _, dlogits = softmax_cross_entropy(Z @ self.params["W"] + self.params["b"], y)   # mean loss, gradient
                opt.step({"W": Zt @ dlogits + self.l2 * self.params["W"], "b": dlogits.sum(axis=0)})
        return self

    def predict_proba(self, F: np.ndarray) -> np.ndarray:
        """(N, D) features -> (N, 5) probabilities."""
        Z = (np.asarray(F, dtype=np.float64) - self.mean) / self.std
        return softmax(Z @ self.params["W"] + self.params["b"])


def fit_baseline(F_train, y_train, F_val, y_val, l2_grid=(1e-4, 1e-3, 1e-2, 1e-1, 1.0), steps: int = 500):
    """Fit :class:`SoftmaxRegression` (``steps`` of Adam) for each L2 strength; keep the best on *validation* accuracy.

    Ties go to the lower validation loss. Returns ``(best_model, table)``, the table having one row
    per strength (``l2``, ``train_accuracy``, ``val_accuracy``, ``val_loss``).
    """
    rows, models = [], []
    for l2 in l2_grid:
        model = SoftmaxRegression(l2=l2, steps=steps).fit(F_train, y_train)
        p_val = model.predict_proba(F_val)
        rows.append({"l2": l2,
                     "train_accuracy": float(np.mean(model.predict_proba(F_train).argmax(1) == y_train)),
                     "val_accuracy": float(np.mean(p_val.argmax(1) == y_val)),
                     "val_loss": float(-np.mean(np.log(p_val[np.arange(len(y_val)), y_val] + 1e-12)))})
        models.append(model)
    table = pd.DataFrame(rows)
    best = table.sort_values(["val_accuracy", "val_loss"], ascending=[False, True]).index[0]
    table["chosen"] = table.index == best
    return models[best], table


# ---------------------------------------------------------------------------------- the LSTM model


def build_lstm(emb: PretrainedEmbeddings, *, units: int = 128, dropout: float = 0.5,
               learning_rate: float = 1e-3):
    """The seed design, compiled: ids (N, T) -> probabilities (N, 5).

    ``Embedding`` (frozen, ``mask_zero=True``) -> ``LSTM(units, return_sequences=True)`` -> ``Dropout``
    -> ``LSTM(units)`` -> ``Dropout`` -> ``Dense(5, softmax)``; Adam, categorical cross-entropy.

    The softmax sits in the last layer only, and the loss is told it receives probabilities
    (``from_logits=False``, Keras's default): a second softmax would squash every output towards 1/5.
    The input length is left open (``None``): padding is masked, so a sentence padded to 12 or to
    20 tokens gives the same output. Call :func:`course_utils.keras_setup.seed_keras` first to make
    the initial weights repeatable.
    """
    keras = import_keras()
    ids = keras.Input(shape=(None,), dtype="int64", name="token_ids")           # (N, T)
    x = keras_embedding(emb, name=EMBEDDING_LAYER)(ids)                          # (N, T, D), mask: ids != 0
    x = keras.layers.LSTM(units, return_sequences=True, name="lstm_1")(x)       # (N, T, units)
    x = keras.layers.Dropout(dropout, name="dropout_1")(x)
    x = keras.layers.LSTM(units, name="lstm_2")(x)                               # (N, units): after the last word
    x = keras.layers.Dropout(dropout, name="dropout_2")(x)
    probs = keras.layers.Dense(N_CLASSES, activation="softmax", name="probabilities")(x)   # (N, 5)
    model = keras.Model(ids, probs, name="emoji_lstm")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def embedding_weights(model) -> np.ndarray:
    """A copy of the (frozen) embedding table inside ``model``: (V, D)."""
    return np.array(model.get_layer(EMBEDDING_LAYER).get_weights()[0])


def train_lstm(model, X_train, y_train, X_val, y_val, *, epochs: int = 100, batch_size: int = 32,
               patience: int = 10, seed: int | None = None, desc: str = "emoji LSTM") -> pd.DataFrame:
    """Fit with early stopping on the validation loss; the best epoch's weights are restored.

    ``X_*``: (N, T) int64 ids; ``y_*``: (N,) integer labels (one-hot encoded here).
    ``seed``: if given, everything is seeded again just before fitting, so that the order of the
    batches and the dropout masks do not depend on random numbers drawn since the model was built.
    The notebook and :func:`train_emoji_model` then train the same model from the same seed (the
    notebook checks it against the selection log). Calling ``model.evaluate`` before fitting still
    changes the result (seen with Keras 3.15 on PyTorch), so the notebook's sanity check uses
    ``predict_on_batch`` instead.
    Returns the history: one row per epoch with ``train_loss``, ``train_accuracy``, ``val_loss``,
    ``val_accuracy``, ``seconds``, and ``best`` (True on the epoch whose weights were kept).
    ``train_*`` are Keras's running means over the epoch (dropout on); ``val_*`` are measured at the
    end of the epoch with dropout off.
    """
    if seed is not None:
        seed_keras(seed)
    return fit_with_early_stopping(model, (X_train, one_hot(y_train)), (X_val, one_hot(y_val)), epochs=epochs,
                                   batch_size=batch_size, patience=patience, desc=desc)


# --------------------------------------------------------------------------- a model you can ship


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
        keras = import_keras()
        with self._lock:
            # predict_on_batch: no dropout, no gradients, no progress bar; one batch however many texts.
            probs = self.model.predict_on_batch(X)
        return np.asarray(keras.ops.convert_to_numpy(probs), dtype=np.float64)

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
                "labels": [{"label": i, "name": n, "emoji": e} for i, (n, e) in enumerate(zip(NAMES, EMOJIS))],
                "keras_version": keras.__version__, "backend": keras.backend.backend(), "info": self.info}
        metadata_path(path).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike = DEFAULT_MODEL) -> EmojiClassifier:
        """Load a model saved by :meth:`save`. Anything missing or wrong raises :class:`ModelLoadError`."""
        path, meta_file = Path(path), metadata_path(path)
        hint = f"train one with: python -m course_utils.emoji train --out {path}"
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
            raise ModelLoadError(f"{meta_file}: the model's labels {labels} are not this course's {list(NAMES)}")
        if not zipfile.is_zipfile(path):  # a .keras file is a zip archive; catch a damaged one early
            raise ModelLoadError(f"{path} is not a Keras model file (damaged or not a .keras archive); {hint}")
        keras = import_keras()
        try:
            # compile=False: loaded for prediction (no optimizer state); model.compile(...) to train it further.
            model = keras.saving.load_model(path, compile=False)
        except Exception as err:  # noqa: BLE001 (Keras raises many kinds of errors for a bad file)
            raise ModelLoadError(f"could not read the Keras model {path}: {type(err).__name__}: {err}") from None
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
                                 f"{emb.matrix.shape} on this machine, so its token ids would mean other words")
        return cls(model, emb, int(meta["max_len"]), meta["embeddings"], meta.get("info"))


def train_emoji_model(*, emb: PretrainedEmbeddings | None = None, source: str = "minilm",
                      standardize: bool = STANDARDIZE, learning_rate: float = LEARNING_RATE,
                      splits: dict[str, pd.DataFrame] | None = None,
                      seed: int = 0, epochs: int = 100, patience: int = 10, max_train: int | None = None,
                      desc: str = "emoji LSTM") -> tuple[EmojiClassifier, pd.DataFrame]:
    """Load the data, build and train the LSTM, and return ``(classifier, history)``.

    The steps of the notebook in one call (the command line and the tests use it). ``standardize``:
    feed the LSTM the table with standardised columns (:meth:`PretrainedEmbeddings.standardized`);
    ``learning_rate``: Adam's. The defaults are the setting chosen on validation
    (``tools/emoji_selection.py``).
    ``max_train`` keeps only the first sentences of the training split (quick runs).
    """
    emb = load_embeddings(source) if emb is None else emb
    if emb.is_standardized and not standardize:
        raise ValueError("emb is already standardised but standardize=False: "
                         "pass the raw table, or standardize=True")
    if standardize:
        emb = emb.standardized()
    splits = load_emoji_data() if splits is None else splits
    train, val = splits["train"], splits["val"]
    if max_train is not None:
        train = train.iloc[:max_train]
    max_len = choose_max_len(emb, train["text"])
    seed_keras(seed)
    model = build_lstm(emb, learning_rate=learning_rate)
    history = train_lstm(model, emb.encode(list(train["text"]), max_len), train["label"].to_numpy(),
                         emb.encode(list(val["text"]), max_len), val["label"].to_numpy(),
                         epochs=epochs, patience=patience, seed=seed, desc=desc)
    best = history[history["best"]].iloc[0]
    info = {"seed": seed, "standardized": emb.is_standardized, "learning_rate": learning_rate,
            "train_sentences": len(train),
            "epochs_run": len(history), "best_epoch": int(best.epoch),
            "val_accuracy": float(best.val_accuracy), "val_loss": float(best.val_loss)}
    return EmojiClassifier(model, emb, max_len, source, info), history


def selection_summary(runs: pd.DataFrame, tie: float = 0.002) -> pd.DataFrame:
    """The rule that chose the recipe, applied to the runs of ``tools/emoji_selection.py``.

    ``runs``: one row per training run, with ``table``, ``learning_rate``, ``seed``, ``val_accuracy``,
    ``val_loss``. Returns one row per setting: mean, lowest and highest validation accuracy over the
    seeds, mean validation loss, and ``chosen``: the highest mean validation accuracy wins; settings
    within ``tie`` of it are told apart by the lower mean validation loss.
    """
    summary = (runs.groupby(["table", "learning_rate"], sort=False)
               .agg(val_accuracy=("val_accuracy", "mean"), min_val_accuracy=("val_accuracy", "min"),
                    max_val_accuracy=("val_accuracy", "max"), val_loss=("val_loss", "mean"),
                    seeds=("seed", "count"))
               .reset_index())
    contenders = summary[summary["val_accuracy"] >= summary["val_accuracy"].max() - tie]
    summary["chosen"] = summary.index == contenders["val_loss"].idxmin()
    return summary


def accuracy(clf: EmojiClassifier, df: pd.DataFrame) -> float:
    """Share of the rows of ``df`` (text, label) whose most probable class is the label."""
    return float(np.mean(clf.predict_proba(list(df["text"])).argmax(axis=1) == df["label"].to_numpy()))


def confusion_table(y_true, y_pred) -> pd.DataFrame:
    """Counts: rows = true class, columns = predicted class, labelled with emoji and name."""
    counts = np.zeros((N_CLASSES, N_CLASSES), dtype=np.int64)
    np.add.at(counts, (np.asarray(y_true), np.asarray(y_pred)), 1)
    names = [f"{e} {n}" for e, n in zip(EMOJIS, NAMES)]
    return pd.DataFrame(counts, index=pd.Index(names, name="true"), columns=pd.Index(names, name="predicted"))


def mistakes_table(texts: Sequence[str], y_true, probs: np.ndarray) -> pd.DataFrame:
    """The misclassified sentences, most confident mistakes first: text, true, predicted, confidence."""
    y_true, pred = np.asarray(y_true), probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != y_true)
    table = pd.DataFrame({"text": np.asarray(texts, dtype=object)[wrong],
                          "true": [f"{EMOJIS[i]} {NAMES[i]}" for i in y_true[wrong]],
                          "predicted": [f"{EMOJIS[i]} {NAMES[i]}" for i in pred[wrong]],
                          "confidence": probs[wrong, pred[wrong]].round(3),
                          "p(true)": probs[wrong, y_true[wrong]].round(3)})
    return table.sort_values("confidence", ascending=False).reset_index(drop=True)


# ----------------------------------------------------------------------------------- command line


def _load_or_exit(path: str) -> EmojiClassifier:
    """Load a model for the command line; on failure print why on stderr and exit with status 2."""
    try:
        return EmojiClassifier.load(path)
    except ModelLoadError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None


def _cmd_train(args) -> int:
    start = time.perf_counter()
    clf, history = train_emoji_model(seed=args.seed, epochs=args.epochs, patience=args.patience)
    splits = load_emoji_data()
    clf.info["train_seconds"] = round(float(history["seconds"].sum()), 1)
    out = clf.save(args.out)
    print(f"trained in {time.perf_counter() - start:.0f} s: {len(history)} epochs, best epoch "
          f"{clf.info['best_epoch']}, validation accuracy {clf.info['val_accuracy']:.3f}, "
          f"test accuracy {accuracy(clf, splits['test']):.3f}")
    print(f"saved {out} and {metadata_path(out).name}")
    return 0


def _cmd_predict(args) -> int:
    clf = _load_or_exit(args.model)
    try:
        results = clf.predict(args.texts)
    except ValueError as err:  # an empty sentence
        print(f"error: {err}", file=sys.stderr)
        return 2
    for r in results:
        print(f"{r['emoji']}\t{r['emoji_meaning']}\t{r['confidence']:.3f}\t{r['text']}")
    return 0


def _cmd_serve(args) -> int:
    clf = _load_or_exit(args.model)  # load first: a bad model stops here, before the server starts
    import uvicorn

    from .emoji_api import create_app

    uvicorn.run(create_app(clf), host=args.host, port=args.port, log_level=args.log_level)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.emoji",
                                     description="Emoji prediction with a Keras LSTM (lesson 08).")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train on data/emoji and save the model (full mode: up to 100 epochs)")
    p.add_argument("--out", default=str(DEFAULT_MODEL), help="where to save the .keras file (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=100, help="at most this many epochs (default: %(default)s)")
    p.add_argument("--patience", type=int, default=10, help="early-stopping patience (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=_cmd_train)
    p = sub.add_parser("predict", help="print the emoji of each sentence, one line each")
    p.add_argument("texts", nargs="+", metavar="TEXT")
    p.add_argument("--model", default=str(DEFAULT_MODEL), help="a model saved by train (default: %(default)s)")
    p.set_defaults(run=_cmd_predict)
    p = sub.add_parser("serve", help="serve the model as a REST API (FastAPI + uvicorn; docs at /docs)")
    p.add_argument("--model", default=str(DEFAULT_MODEL), help="a model saved by train (default: %(default)s)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(run=_cmd_serve)
    args = parser.parse_args(argv)
    set_threads()   # the course's thread policy: $COURSE_THREADS, else half the CPUs
    return args.run(args)


if __name__ == "__main__":
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")  # a terminal that cannot show emoji gets "?" instead
    # ``python -m`` runs this file as ``__main__``, a second copy of the module with classes of its own;
    # run the package's copy, so that the API (which imports course_utils.emoji) sees the same classes.
    from course_utils.emoji import main as package_main

    sys.exit(package_main())
