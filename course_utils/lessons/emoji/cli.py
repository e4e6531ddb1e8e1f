"""Emoji prediction (lesson 08): the command line: train, predict, serve.

    python -m course_utils.lessons.emoji train --out models/emoji_lstm.keras
    python -m course_utils.lessons.emoji predict "I love you" "Let's play ball"
    python -m course_utils.lessons.emoji serve --model models/emoji_lstm.keras --host 127.0.0.1 --port 7860

Arguments are checked before anything slow starts (a wrong ``--out`` is reported before training, a wrong
``--port`` before the model is loaded): a bad one prints one line, ``...: error: ...``, on stderr, and the
command exits with status 2, as it does for a model that cannot be loaded or a sentence without a word.
``COURSE_MODE=quick`` makes ``train`` a smoke test of a few seconds (a small part of the data, few epochs).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

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
from course_utils.mode import pick, run_mode

# What ``train`` does in quick mode (COURSE_MODE=quick): the first sentences of the training split, and
# at most a few epochs (unless --epochs says otherwise). Full mode: every sentence, up to 100 epochs.
QUICK_TRAIN_SENTENCES = 128
QUICK_EPOCHS = 2
FULL_EPOCHS = 100


class _Parser(argparse.ArgumentParser):
    """argparse, with errors on one line: ``prog: error: message (see prog --help)``, exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _int_from(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer from ``low`` to ``high`` (``None``: no upper bound)."""
    expected = f"an integer >= {low}" if high is None else f"an integer from {low} to {high}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text[:40]!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return value

    return parse


def _host(text: str) -> str:
    """An argparse type: a host name or address, not empty and without spaces."""
    if not text.strip() or any(c.isspace() for c in text):
        raise argparse.ArgumentTypeError(f"expected a host name or address such as 127.0.0.1, "
                                         f"got {text[:40]!r}")
    return text


def _out_problem(out: Path) -> str | None:
    """Why the model cannot be saved at ``out`` (None if it can): checked before training starts.

    The folder need not exist yet (``save`` creates it), but the nearest folder above it that does exist
    must take a new file: a temporary file is created there and deleted.
    """
    if out.suffix != ".keras":
        return f"expected a file name ending in .keras, got {str(out)[:60]!r}"
    for target in (out, metadata_path(out)):
        if target.is_dir():
            return f"{target} is a folder; expected a file name ending in .keras"
    existing = out.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"cannot create the folder {out.parent}: {existing} is not a folder"
    try:
        handle, name = tempfile.mkstemp(dir=existing, prefix=".emoji-write-test-")
        os.close(handle)
        os.unlink(name)
    except OSError as err:
        return f"cannot write in the folder {existing} ({err.strerror or type(err).__name__})"
    return None


def _train_settings(args, parser: argparse.ArgumentParser) -> dict:
    """train_emoji_model's settings from the arguments and the run mode; a bad one stops here."""
    problem = _out_problem(Path(args.out))
    if problem:
        parser.error(f"argument --out: {problem}")
    try:
        mode = run_mode()
    except ValueError as err:
        parser.error(str(err))
    epochs = args.epochs if args.epochs is not None else pick(quick=QUICK_EPOCHS, full=FULL_EPOCHS)
    return {"mode": mode, "epochs": epochs, "patience": args.patience, "seed": args.seed,
            "max_train": pick(quick=QUICK_TRAIN_SENTENCES, full=None)}


def _load_or_exit(path: str, check_texts: Sequence[str] | None = None) -> EmojiClassifier:
    """Load a model for the command line; on failure print why on stderr and exit with status 2.
    ``check_texts``: see :meth:`EmojiClassifier.load` (a text without a token raises ``NoTokenError``)."""
    try:
        return EmojiClassifier.load(path, check_texts=check_texts)
    except ModelLoadError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None


def _cmd_train(args) -> int:
    start = time.perf_counter()
    settings = dict(args.settings)
    mode, n = settings.pop("mode"), settings["max_train"]
    sentences = "every training sentence" if n is None else f"the first {n} training sentences"
    print(f"mode: {mode} ({sentences}, at most {settings['epochs']} epochs)", flush=True)
    clf, history = train_emoji_model(**settings)
    test = load_emoji_data()["test"]
    test_accuracy = accuracy(clf.predict_proba(list(test["text"])), test["label"].to_numpy())
    clf.info["train_seconds"] = round(float(history["seconds"].sum()), 1)
    clf.info["mode"] = mode
    out = clf.save(args.out)
    print(f"trained in {time.perf_counter() - start:.0f} s: {len(history)} epochs, best epoch "
          f"{clf.info['best_epoch']}, validation accuracy "
          f"{clf.info.get('val_accuracy_combined', clf.info['val_accuracy']):.3f} "
          f"(the LSTM alone {clf.info['val_accuracy']:.3f}), test accuracy {test_accuracy:.3f}")
    print(f"saved {out} and {metadata_path(out).name}")
    return 0


def _cmd_predict(args) -> int:
    try:
        # The texts are checked with the saved tokeniser before Keras loads the model: a sentence without a
        # word is refused in a fraction of a second, not after seconds of loading.
        results = _load_or_exit(args.model, check_texts=args.texts).predict(args.texts)
    except ValueError as err:  # a sentence without a single token
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


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser: ``train``, ``predict``, ``serve``; every value checked as it is read."""
    parser = _Parser(prog="python -m course_utils.lessons.emoji",
                     description="Emoji prediction with a Keras LSTM and a sentence head (lesson 08).")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train on data/emoji and save the model (COURSE_MODE=quick: seconds)",
                       description="Train the lesson's LSTM and its sentence head on data/emoji and save "
                       "them (.keras + .json). "
                       f"COURSE_MODE=full (the default): every training sentence, up to {FULL_EPOCHS} epochs "
                       f"with early stopping (a minute or more on a CPU). COURSE_MODE=quick: the first "
                       f"{QUICK_TRAIN_SENTENCES} sentences and {QUICK_EPOCHS} epochs unless --epochs says "
                       "otherwise, a smoke test that takes seconds and gives a poor model.")
    p.add_argument("--out", default=str(DEFAULT_MODEL),
                   help="where to save the .keras file; its folder is created if needed, and must be "
                   "writable (default: %(default)s)")
    p.add_argument("--epochs", type=_int_from(1), default=None,
                   help=f"at most this many epochs (default: {FULL_EPOCHS}; {QUICK_EPOCHS} in quick mode)")
    p.add_argument("--patience", type=_int_from(1), default=10,
                   help="early-stopping patience, in epochs (default: %(default)s)")
    p.add_argument("--seed", type=_int_from(0, 2**32 - 1), default=0,
                   help="the random seed: the same seed trains the same model (default: %(default)s)")
    p.set_defaults(run=_cmd_train, train_parser=p)
    p = sub.add_parser("predict", help="print the emoji of each sentence, one line each")
    p.add_argument("texts", nargs="+", metavar="TEXT")
    p.add_argument("--model", default=str(DEFAULT_MODEL),
                   help="a model saved by train (default: %(default)s)")
    p.set_defaults(run=_cmd_predict)
    p = sub.add_parser("serve", help="serve the model as a REST API (FastAPI + uvicorn; docs at /docs)")
    p.add_argument("--model", default=str(DEFAULT_MODEL),
                   help="a model saved by train (default: %(default)s)")
    p.add_argument("--host", type=_host, default="127.0.0.1",
                   help="the address to listen on; 0.0.0.0 for every network (default: %(default)s)")
    p.add_argument("--port", type=_int_from(1, 65535), default=7860, help="1 to 65535 (default: %(default)s)")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(run=_cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "train":   # the checks argparse cannot make alone: --out, the run mode
        args.settings = _train_settings(args, args.train_parser)
    # Every argument is checked by here: nothing has been loaded, trained or served yet.
    set_threads()   # the course's thread policy: $COURSE_THREADS, else half the CPUs
    return args.run(args)
