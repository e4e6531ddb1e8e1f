"""Emoji prediction (lesson 08): the whole recipe in one call, as the notebook and the command line train it.

    clf, history = train_emoji_model(seed=0)    # load data and embeddings, build, train, wrap in a classifier

The classifier averages the LSTM with a logistic regression on pre-trained sentence vectors (the recipe
lesson 08 chooses on validation); ``sentence_head=False`` gives the LSTM alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from course_utils.embeddings import PretrainedEmbeddings
from course_utils.keras_setup import seed_keras
from course_utils.lessons.emoji.classifier import EmojiClassifier
from course_utils.lessons.emoji.data import load_emoji_data
from course_utils.lessons.emoji.model import (
    LEARNING_RATE,
    STANDARDIZE,
    build_emoji_lstm,
    choose_max_len,
    load_embeddings,
    predict_probabilities,
    train_lstm,
)
from course_utils.lessons.emoji.sentence_head import fit_sentence_head, sentence_vectors


def train_emoji_model(*, emb: PretrainedEmbeddings | None = None, source: str = "minilm",
                      standardize: bool = STANDARDIZE, learning_rate: float = LEARNING_RATE,
                      splits: dict[str, pd.DataFrame] | None = None,
                      seed: int = 0, epochs: int = 100, patience: int = 10, max_train: int | None = None,
                      sentence_head: bool = True,
                      desc: str = "emoji LSTM") -> tuple[EmojiClassifier, pd.DataFrame]:
    """Load the data, build and train the LSTM (and the sentence head), and return ``(classifier, history)``.

    The steps of the notebook in one call (the command line and the tests use it). ``standardize``:
    feed the LSTM the table with standardised columns (:meth:`PretrainedEmbeddings.standardized`);
    ``learning_rate``: Adam's. The defaults are the setting chosen on validation
    (``tools/emoji_selection.py``).
    ``max_train`` keeps only the first sentences of the training split (quick runs).
    ``sentence_head``: also fit the logistic regression on sentence vectors (its C chosen on validation)
    and average it with the LSTM; ``history`` is the LSTM's.
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
    model = build_emoji_lstm(emb, learning_rate=learning_rate)
    X_val = emb.encode(list(val["text"]), max_len)
    history = train_lstm(model, emb.encode(list(train["text"]), max_len), train["label"].to_numpy(),
                         X_val, val["label"].to_numpy(),
                         epochs=epochs, patience=patience, seed=seed, desc=desc)
    best = history[history["best"]].iloc[0]
    info = {"seed": seed, "standardized": emb.is_standardized, "learning_rate": learning_rate,
            "train_sentences": len(train),
            "epochs_run": len(history), "best_epoch": int(best.epoch),
            "val_accuracy": float(best.val_accuracy), "val_loss": float(best.val_loss)}
    head = None
    if sentence_head:
        E_train, E_val = sentence_vectors(train["text"]), sentence_vectors(val["text"])
        head, table = fit_sentence_head(E_train, train["label"].to_numpy(), E_val, val["label"].to_numpy())
        info["sentence_head_C"] = head.C
        info["sentence_head_val_accuracy"] = float(table.loc[table["chosen"], "val_accuracy"].iloc[0])
        # the pair's validation accuracy, from the vectors already computed
        combined = (predict_probabilities(model, X_val) + head.predict_proba(E_val)) / 2
        info["val_accuracy_combined"] = float(np.mean(combined.argmax(1) == val["label"].to_numpy()))
    return EmojiClassifier(model, emb, max_len, source, info, head), history
