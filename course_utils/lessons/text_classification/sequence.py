"""News-sentence classification (lesson 09): Keras sequence models on word ids,
used like a scikit-learn pipeline.

    vocab = word_vocab(splits.train.text)              # <PAD>=0, <UNK>=1, the training words, at most 5,000
    lstm = TextSequenceClassifier(build_text_lstm(len(vocab)), WordEncoder(vocab, max_len=32))
    history = lstm.fit(splits, epochs=30, patience=5)  # early stopping on validation, best weights restored
    lstm.predict(["Shares fell sharply."])
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from course_utils.lessons.text_classification.data import CLASSES, Splits, encode_labels
from course_utils.text import build_vocab, pad_sequences, texts_to_sequences


def word_vocab(train_texts, max_words: int = 5000, min_freq: int = 1) -> dict[str, int]:
    """The LSTM's word ids: ``<PAD>`` = 0, ``<UNK>`` = 1, then the training words, most frequent first.

    At most ``max_words`` ids in all (the ``Embedding`` has that many rows). Built from the training
    split only, by :func:`~course_utils.text.build_vocab`; its ids are sorted by frequency, so cutting at
    ``max_words`` keeps the most frequent words and the ids stay ``0..V-1``.
    """
    vocab = build_vocab(list(train_texts), min_freq=min_freq)
    return {w: i for w, i in vocab.items() if i < max_words}


@dataclass
class WordEncoder:
    """Sentences -> word ids with the LSTM's own vocabulary (:func:`word_vocab`): (N, max_len) int64."""

    vocab: dict
    max_len: int

    def encode(self, texts) -> np.ndarray:
        return pad_sequences(texts_to_sequences(list(texts), self.vocab), self.max_len)


@dataclass
class PieceEncoder:
    """Sentences -> WordPiece ids of a pre-trained table
    (:func:`course_utils.embeddings.load_minilm_wordpiece`)."""

    embeddings: object
    max_len: int

    def encode(self, texts) -> np.ndarray:
        return self.embeddings.encode(list(texts), self.max_len)


def build_text_lstm(vocab_size: int = 5000, embed_dim: int = 100, units: int = 64,
                    n_classes: int = len(CLASSES), embedding=None, name: str = "lstm"):
    """``Embedding -> LSTM(units) -> Dense(n_classes, softmax)``, a Keras model on ids
    (N, T) -> (N, n_classes).

    - default: a trainable ``Embedding(vocab_size, embed_dim)``, learnt from the training sentences alone;
    - ``embedding=`` a ready layer instead, e.g. the frozen MiniLM table
      (:func:`course_utils.embeddings.keras_embedding`).

    ``mask_zero=True``: padding (id 0) is masked, so the LSTM skips it. The LSTM returns its last hidden
    state (N, units): a summary of the whole sentence that the Dense layer turns into 4 probabilities.
    Call ``seed_keras`` first for reproducible initial weights.
    """
    from course_utils.keras_setup import import_keras

    keras = import_keras()
    if embedding is None:
        embedding = keras.layers.Embedding(vocab_size, embed_dim, mask_zero=True, name="embedding")
    model = keras.Sequential([
        keras.Input(shape=(None,), dtype="int64"),              # (N, T) word ids
        embedding,                                              # (N, T, E), with a mask for padding
        keras.layers.LSTM(units, name="lstm"),                  # (N, units): the last hidden state
        keras.layers.Dense(n_classes, activation="softmax", name="classes"),   # (N, n_classes)
    ], name=name)
    return model


@dataclass
class TextSequenceClassifier:
    """A Keras model with its encoder: raw sentences in, class names out (like a scikit-learn pipeline)."""

    model: object                       # ids (N, T) -> probabilities (N, n_classes)
    encoder: object                     # .encode(texts) -> ids (N, T)
    classes: tuple = CLASSES
    train_seconds: float = field(default=float("nan"))

    def predict_proba(self, texts) -> np.ndarray:
        """(N, n_classes) float32, rows sum to 1."""
        return self.model.predict(self.encoder.encode(texts), batch_size=256, verbose=0)

    def predict(self, texts) -> np.ndarray:
        """(N,) class names."""
        return np.asarray(self.classes, dtype=object)[self.predict_proba(texts).argmax(axis=1)]

    def cross_entropy(self, texts, labels) -> float:
        """The mean cross-entropy on ``texts`` with the true ``labels`` (class names).

        The sanity anchor before training: an untrained model gives every class about 1/4, so about
        ln 4 = 1.386. Far more would point to a bug (wrong labels, a softmax applied twice).
        """
        y = encode_labels(labels, self.classes)
        p = self.predict_proba(texts)[np.arange(len(y)), y]
        return float(-np.mean(np.log(np.maximum(p, 1e-12))))

    def fit(self, splits: Splits, *, epochs: int = 30, batch_size: int = 32, patience: int = 5,
            learning_rate: float = 1e-3, seed: int = 0, desc: str = "LSTM") -> pd.DataFrame:
        """Train on ``splits.train`` with Adam; early stopping on ``splits.val`` (the test split is not used).

        EarlyStopping watches the validation loss and, after ``patience`` epochs without improvement,
        stops and puts back the weights of the best epoch (``restore_best_weights=True``). Returns the
        history of :func:`course_utils.keras_setup.fit_with_early_stopping` (epoch, train_loss,
        train_accuracy, val_loss, val_accuracy, seconds, best); the wall time of
        training is kept in ``train_seconds``.
        """
        from course_utils.keras_setup import fit_with_early_stopping, import_keras, seed_keras

        keras = import_keras()
        seed_keras(seed)                                        # batch order of every epoch
        X_train, X_val = self.encoder.encode(splits.train["text"]), self.encoder.encode(splits.val["text"])
        y_train = encode_labels(splits.train["label"], self.classes)
        y_val = encode_labels(splits.val["label"], self.classes)
        self.model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                           loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        start = time.perf_counter()
        history = fit_with_early_stopping(self.model, (X_train, y_train), (X_val, y_val), epochs=epochs,
                                          batch_size=batch_size, patience=patience, desc=desc)
        self.train_seconds = time.perf_counter() - start
        return history
