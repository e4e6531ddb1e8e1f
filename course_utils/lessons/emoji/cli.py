"""Emoji prediction (lesson 08): the command line: train, predict, serve.

    python -m course_utils.lessons.emoji train --out models/emoji_lstm.keras
    python -m course_utils.lessons.emoji predict "I love you" "Let's play ball"
    python -m course_utils.lessons.emoji serve --model models/emoji_lstm.keras --host 127.0.0.1 --port 7860
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from course_utils.hardware import set_threads
from course_utils.lessons.emoji.classifier import (
    DEFAULT_MODEL,
    EmojiClassifier,
    ModelLoadError,
    metadata_path,
)
from course_utils.lessons.emoji.data import load_emoji_data
from course_utils.lessons.emoji.training import train_emoji_model
from course_utils.metrics import accuracy


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
    test = load_emoji_data()["test"]
    test_accuracy = accuracy(clf.predict_proba(list(test["text"])), test["label"].to_numpy())
    clf.info["train_seconds"] = round(float(history["seconds"].sum()), 1)
    out = clf.save(args.out)
    print(f"trained in {time.perf_counter() - start:.0f} s: {len(history)} epochs, best epoch "
          f"{clf.info['best_epoch']}, validation accuracy {clf.info['val_accuracy']:.3f}, "
          f"test accuracy {test_accuracy:.3f}")
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

    from course_utils.lessons.emoji.api import create_app

    uvicorn.run(create_app(clf), host=args.host, port=args.port, log_level=args.log_level)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.lessons.emoji",
                                     description="Emoji prediction with a Keras LSTM (lesson 08).")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train on data/emoji and save the model (full mode: up to 100 epochs)")
    p.add_argument("--out", default=str(DEFAULT_MODEL),
                   help="where to save the .keras file (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=100, help="at most this many epochs (default: %(default)s)")
    p.add_argument("--patience", type=int, default=10, help="early-stopping patience (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=_cmd_train)
    p = sub.add_parser("predict", help="print the emoji of each sentence, one line each")
    p.add_argument("texts", nargs="+", metavar="TEXT")
    p.add_argument("--model", default=str(DEFAULT_MODEL),
                   help="a model saved by train (default: %(default)s)")
    p.set_defaults(run=_cmd_predict)
    p = sub.add_parser("serve", help="serve the model as a REST API (FastAPI + uvicorn; docs at /docs)")
    p.add_argument("--model", default=str(DEFAULT_MODEL),
                   help="a model saved by train (default: %(default)s)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(run=_cmd_serve)
    args = parser.parse_args(argv)
    set_threads()   # the course's thread policy: $COURSE_THREADS, else half the CPUs
    return args.run(args)
