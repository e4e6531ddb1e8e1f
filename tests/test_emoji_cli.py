"""Lesson 08: the command line checks its arguments before it loads, trains or serves anything.

A bad value prints one line on stderr and exits with status 2; the tests make sure nothing slow ran
first by replacing training, data loading and model loading with functions that fail if called.
One test runs the real ``train`` in quick mode end to end (a few seconds), then ``predict`` with its model.
(More command-line tests, with a trained model: tests/test_emoji.py.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import course_utils.lessons.emoji.classifier as classifier_module
import course_utils.lessons.emoji.cli as cli
from course_utils.keras_setup import seed_keras
from course_utils.lessons.emoji.classifier import EmojiClassifier, metadata_path
from course_utils.lessons.emoji.cli import QUICK_EPOCHS, QUICK_TRAIN_SENTENCES, main
from course_utils.lessons.emoji.model import build_emoji_lstm, load_embeddings

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """The lesson's LSTM, untrained (seeded), saved: predict's behaviour does not depend on its skill."""
    emb = load_embeddings("minilm")
    seed_keras(0)
    return EmojiClassifier(build_emoji_lstm(emb), emb, max_len=16).save(
        tmp_path_factory.mktemp("cli") / "emoji.keras")


@pytest.fixture(autouse=True)
def keep_this_processes_threads(monkeypatch):
    """main() applies the course's thread policy (tested in tests/test_emoji.py); not to this process."""
    monkeypatch.setattr(cli, "set_threads", lambda n=None: 1)


@pytest.fixture
def nothing_slow(monkeypatch):
    """Training, loading the data and loading a model fail the test if they are called."""
    def must_not_run(what):
        def run(*args, **kwargs):
            pytest.fail(f"{what} ran before the arguments were checked")
        return run

    monkeypatch.setattr(cli, "train_emoji_model", must_not_run("training"))
    monkeypatch.setattr(cli, "load_emoji_data", must_not_run("loading the data"))
    monkeypatch.setattr(cli.EmojiClassifier, "load", must_not_run("loading the model"))


def exits_with_2(argv, capsys) -> str:
    """Run the command line in this process; it must exit with 2 and print one line on stderr only."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and err.endswith("\n") and err.count("\n") == 1, err
    return err


# ----------------------------------------------------------------------------------------------- train


@pytest.mark.parametrize("args, expected", [
    (["--out", "model.txt"], "argument --out: expected a file name ending in .keras, got 'model.txt'"),
    (["--out", "model"], "argument --out: expected a file name ending in .keras"),
    (["--epochs", "0"], "argument --epochs: expected an integer >= 1, got 0"),
    (["--epochs", "-5"], "argument --epochs: expected an integer >= 1, got -5"),
    (["--epochs", "ten"], "argument --epochs: expected an integer >= 1, got 'ten'"),
    (["--epochs", "2.5"], "argument --epochs: expected an integer >= 1, got '2.5'"),
    (["--patience", "0"], "argument --patience: expected an integer >= 1, got 0"),
    (["--seed", "-1"], "argument --seed: expected an integer from 0 to 4294967295, got -1"),
    (["--seed", str(2**32)], "argument --seed: expected an integer from 0 to 4294967295"),
])
def test_train_checks_its_arguments_before_anything_else(nothing_slow, capsys, tmp_path, args, expected):
    argv = ["train", "--out", str(tmp_path / "m.keras"), *args]
    err = exits_with_2(argv, capsys)
    assert err.startswith("python -m course_utils.lessons.emoji train: error: ") and expected in err


def test_train_refuses_an_out_it_could_not_write(nothing_slow, capsys, tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder\n")
    err = exits_with_2(["train", "--out", str(a_file / "sub" / "m.keras")], capsys)
    assert f"argument --out: cannot create the folder {a_file / 'sub'}: {a_file} is not a folder" in err
    (tmp_path / "taken.keras").mkdir()
    err = exits_with_2(["train", "--out", str(tmp_path / "taken.keras")], capsys)
    assert "taken.keras is a folder" in err
    (tmp_path / "model.json").mkdir()           # where the sidecar would go
    err = exits_with_2(["train", "--out", str(tmp_path / "model.keras")], capsys)
    assert "model.json is a folder" in err


def test_train_refuses_a_folder_where_no_file_can_be_created(nothing_slow, capsys, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cli.tempfile, "mkstemp", refuse)
    err = exits_with_2(["train", "--out", str(tmp_path / "new" / "m.keras")], capsys)
    assert f"argument --out: cannot write in the folder {tmp_path} (Permission denied)" in err


def test_train_refuses_an_unknown_course_mode(nothing_slow, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "fast")
    err = exits_with_2(["train", "--out", str(tmp_path / "m.keras")], capsys)
    assert "COURSE_MODE must be one of" in err


class Stop(Exception):
    """Raised by the stand-in for training once it has seen its arguments."""


@pytest.mark.parametrize("mode, args, expected", [
    ("full", [], {"max_train": None, "epochs": 100, "patience": 10, "seed": 0}),
    ("quick", [], {"max_train": QUICK_TRAIN_SENTENCES, "epochs": QUICK_EPOCHS, "patience": 10, "seed": 0}),
    ("quick", ["--epochs", "5", "--patience", "2", "--seed", "7"],
     {"max_train": QUICK_TRAIN_SENTENCES, "epochs": 5, "patience": 2, "seed": 7}),
    ("full", ["--epochs", "3"], {"max_train": None, "epochs": 3, "patience": 10, "seed": 0}),
])
def test_train_follows_the_run_mode(monkeypatch, capsys, tmp_path, mode, args, expected):
    """Quick mode: a small part of the data and few epochs (an explicit --epochs still wins)."""
    seen = {}

    def train(**kwargs):
        seen.update(kwargs)
        raise Stop

    monkeypatch.setenv("COURSE_MODE", mode)
    monkeypatch.setattr(cli, "train_emoji_model", train)
    out = tmp_path / "not" / "yet" / "m.keras"
    with pytest.raises(Stop):
        main(["train", "--out", str(out), *args])
    assert seen == expected
    assert capsys.readouterr().out.startswith(f"mode: {mode} (")
    assert not (tmp_path / "not").exists()        # checking --out created nothing
    assert list(tmp_path.iterdir()) == []         # and left no test file behind


def test_train_help_tells_what_quick_mode_does(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "COURSE_MODE=quick" in text and f"the first {QUICK_TRAIN_SENTENCES} sentences" in text


def test_quick_train_end_to_end_then_predict(tmp_path, capsys):
    """The real command line in quick mode, in a fresh process: it trains in seconds and saves a model
    that predict can use."""
    out = tmp_path / "models" / "emoji.keras"
    env = {**os.environ, "COURSE_MODE": "quick", "COURSE_THREADS": "1", "COURSE_PROGRESS": "text"}
    done = subprocess.run([sys.executable, "-m", "course_utils.lessons.emoji", "train", "--out", str(out)],
                          check=False, capture_output=True, text=True, timeout=300, cwd=REPO, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"mode: quick (the first {QUICK_TRAIN_SENTENCES} training sentences, "
                                  f"at most {QUICK_EPOCHS} epochs)")
    assert f"saved {out} and emoji.json" in done.stdout
    info = json.loads(metadata_path(out).read_text(encoding="utf-8"))["info"]
    assert info["mode"] == "quick" and info["train_sentences"] == QUICK_TRAIN_SENTENCES
    assert 1 <= info["epochs_run"] <= QUICK_EPOCHS
    assert main(["predict", "--model", str(out), "I love you", "Let's eat"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[3] for line in lines] == ["I love you", "Let's eat"]


# --------------------------------------------------------------------------------------------- serve


@pytest.mark.parametrize("args, expected", [
    (["--port", "0"], "argument --port: expected an integer from 1 to 65535, got 0"),
    (["--port", "70000"], "argument --port: expected an integer from 1 to 65535, got 70000"),
    (["--port", "http"], "argument --port: expected an integer from 1 to 65535, got 'http'"),
    (["--host", ""], "argument --host: expected a host name or address"),
    (["--host", "   "], "argument --host: expected a host name or address"),
    (["--host", "local host"], "argument --host: expected a host name or address"),
])
def test_serve_checks_host_and_port_before_loading_the_model(nothing_slow, capsys, saved, args, expected):
    err = exits_with_2(["serve", "--model", str(saved), *args], capsys)
    assert err.startswith("python -m course_utils.lessons.emoji serve: error: ") and expected in err


@pytest.mark.parametrize("argv, expected", [
    (["train", "--epochs", "0"], "argument --epochs"),
    (["train", "--out", "model.txt"], "argument --out"),
    (["serve", "--port", "70000", "--model", "missing.keras"], "argument --port"),  # not "no emoji model"
    (["predict"], "the following arguments are required: TEXT"),
])
def test_the_real_command_exits_with_2_and_one_line(argv, expected):
    done = subprocess.run([sys.executable, "-m", "course_utils.lessons.emoji", *argv], check=False,
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and expected in done.stderr, done.stderr


# ------------------------------------------------------------------------------------------- predict


@pytest.mark.parametrize("blank", ["\u200b", "\u200c\u200d\u2060", "\ufeff", " \t ", "\x00\x1b"])
def test_predict_refuses_a_text_without_a_token(saved, capsys, monkeypatch, blank):
    """A text of zero-width or control characters gets no prediction: status 2, and which text it was,
    before Keras reads the model (the saved tokeniser alone decides)."""
    monkeypatch.setattr(classifier_module, "_load_keras_model", lambda path: pytest.fail("Keras was asked"))
    assert main(["predict", "--model", str(saved), "I love you", blank]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"error: texts[1] {blank!r}: expected at least one word, found no token")
    assert err.count("\n") == 1


def test_predict_reads_a_word_among_zero_width_characters(saved, capsys):
    assert main(["predict", "--model", str(saved), "\u200bpizza\u2060"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
