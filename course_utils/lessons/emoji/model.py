"""Emoji prediction (lesson 08): the Keras LSTM on frozen pre-trained word embeddings,
and the recipe chosen on validation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from course_utils.embeddings import (
    PretrainedEmbeddings,
    find_glove,
    keras_embedding,
    load_glove,
    load_minilm_wordpiece,
)
from course_utils.hardware import torch_threads
from course_utils.keras_setup import fit_with_early_stopping, import_keras, seed_keras
from course_utils.lessons.emoji.data import N_CLASSES, one_hot

EMBEDDING_LAYER = "frozen_embedding"

# The CPU threads on which the LSTM is built, trained and asked, whatever $COURSE_THREADS says. The LSTMs'
# recurrent weights start orthogonal, from a QR decomposition that comes out different in the last bits
# on another number of threads, and training carries that into every weight and, sometimes, a prediction
# (see course_utils.hardware.torch_threads). Training and prediction run on THREADS threads too, in case
# PyTorch splits a sum between threads. One thread keeps every run bit for bit the same, and for a model
# this small it is about as fast as two.
THREADS = 1


# The recipe's two settings, chosen on the validation split by tools/emoji_selection.py (lesson 08 shows
# its table): does the LSTM read the embedding table with standardised columns (see
# PretrainedEmbeddings.standardized for why the size of the inputs matters to Adam), and Adam's learning
# rate. The raw table with a larger learning rate won: 3e-3 makes up for MiniLM's small entries.
STANDARDIZE = False


LEARNING_RATE = 3e-3


_GLOVE_6B = re.compile(r"glove\.6B\.(50|100|200|300)d")


def is_embedding_source(name) -> bool:
    """Whether ``name`` is a table :func:`load_embeddings` knows. A ``glove:`` path must name a ``.txt``
    file: a saved model's sidecar names its table, and no other kind of file is ever opened for it."""
    if not isinstance(name, str):
        return False
    if name.startswith("glove:"):
        return name.endswith(".txt") and len(name) > len("glove:.txt")
    return name == "minilm" or _GLOVE_6B.fullmatch(name) is not None


def load_embeddings(source: str = "minilm") -> PretrainedEmbeddings:
    """The frozen table named by ``source``, the name a saved model records.

    - ``"minilm"``: the WordPiece table of all-MiniLM-L6-v2 (offline, from the installed package);
    - ``"glove.6B.50d"`` (or 100d, 200d, 300d): GloVe 6B, found by :func:`find_glove`;
    - ``"glove:<path>.txt"``: any GloVe-format text file.
    """
    if not is_embedding_source(source):
        raise ValueError(f"embedding source: expected 'minilm', 'glove.6B.<50|100|200|300>d' or "
                         f"'glove:<path>.txt', got {source!r}")
    if source == "minilm":
        return load_minilm_wordpiece()
    if source.startswith("glove:"):
        return load_glove(source.removeprefix("glove:"))
    return load_glove(find_glove(int(source[9:-1])))


def choose_max_len(emb: PretrainedEmbeddings, texts: Sequence[str]) -> int:
    """The longest training sentence, in tokens: no training sentence is cut.

    Longer sentences met later are cut to this length (their first ``max_len`` tokens are read).
    Shorter ones are padded, and the padding is masked, so a generous ``max_len`` costs only time.
    """
    return int(emb.lengths(list(texts)).max())


def build_emoji_lstm(emb: PretrainedEmbeddings, *, units: int = 128, dropout: float = 0.5,
               learning_rate: float = 1e-3):
    """The lesson's two-layer LSTM, compiled: ids (N, T) -> probabilities (N, 5).

    ``Embedding`` (frozen, ``mask_zero=True``) -> ``LSTM(units, return_sequences=True)`` -> ``Dropout``
    -> ``LSTM(units)`` -> ``Dropout`` -> ``Dense(5, softmax)``; Adam, categorical cross-entropy.

    The softmax sits in the last layer only, and the loss is told it receives probabilities
    (``from_logits=False``, Keras's default): a second softmax would squash every output towards 1/5.
    The input length is left open (``None``): padding is masked, so a sentence padded to 12 or to
    20 tokens gives the same output. Call :func:`course_utils.keras_setup.seed_keras` first to make
    the initial weights repeatable (bit for bit, whatever ``$COURSE_THREADS``: built on :data:`THREADS`
    threads).
    """
    keras = import_keras()
    # On THREADS threads: the recurrent weights start orthogonal, from a QR decomposition whose last bits
    # depend on the number of threads.
    with torch_threads(THREADS):
        ids = keras.Input(shape=(None,), dtype="int64", name="token_ids")       # (N, T)
        x = keras_embedding(emb, name=EMBEDDING_LAYER)(ids)                      # (N, T, D), mask: ids != 0
        x = keras.layers.LSTM(units, return_sequences=True, name="lstm_1")(x)   # (N, T, units)
        x = keras.layers.Dropout(dropout, name="dropout_1")(x)
        # (N, units): the state after the last real token
        x = keras.layers.LSTM(units, name="lstm_2")(x)
        x = keras.layers.Dropout(dropout, name="dropout_2")(x)
        probs = keras.layers.Dense(N_CLASSES, activation="softmax", name="probabilities")(x)   # (N, 5)
        model = keras.Model(ids, probs, name="emoji_lstm")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def embedding_weights(model) -> np.ndarray:
    """A copy of the (frozen) embedding table inside ``model``: (V, D)."""
    return np.array(model.get_layer(EMBEDDING_LAYER).get_weights()[0])


def predict_probabilities(model, X) -> np.ndarray:
    """The model's outputs for the ids ``X`` (N, T): probabilities (N, 5), float64, as NumPy.

    One call of the model (``predict_on_batch``: no dropout, no gradients, no progress bar), on
    :data:`THREADS` CPU threads.
    """
    keras = import_keras()
    with torch_threads(THREADS):
        probs = model.predict_on_batch(X)
    return np.asarray(keras.ops.convert_to_numpy(probs), dtype=np.float64)


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
    Training runs on :data:`THREADS` CPU threads (then the number before is restored): the same seed
    gives the same weights bit for bit, whatever ``$COURSE_THREADS`` is.
    """
    if seed is not None:
        seed_keras(seed)
    with torch_threads(THREADS):
        return fit_with_early_stopping(model, (X_train, one_hot(y_train)), (X_val, one_hot(y_val)),
                                       epochs=epochs, batch_size=batch_size, patience=patience, desc=desc)


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
