"""Run mode, seeding, paths, plotting and the lesson helper."""

import json

import matplotlib
import numpy as np
import pandas as pd
import pytest

from course_utils import LSTM, Dense, Dropout, get_rng, pick, run_mode, seed_everything
from course_utils.lesson import start_lesson
from course_utils.paths import figures_dir, project_root
from course_utils.plotting import plot_history, save_figure

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture
def tmp_root(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_ROOT", str(tmp_path))
    return tmp_path


def test_run_mode(monkeypatch):
    monkeypatch.delenv("COURSE_MODE", raising=False)
    assert run_mode() == "full" and pick(quick=1, full=2) == 2
    monkeypatch.setenv("COURSE_MODE", " Quick ")
    assert run_mode() == "quick" and pick(quick=1, full=2) == 1
    monkeypatch.setenv("COURSE_MODE", "fast")
    with pytest.raises(ValueError, match=r"COURSE_MODE must be one of \('quick', 'full'\), got 'fast'"):
        run_mode()


def test_seed_everything_makes_layers_and_dropout_repeatable():
    def draw():
        seed_everything(5)
        x = np.ones((2, 3, 4), np.float32)
        return LSTM(4, 3).params["W_h"], Dense(4, 2).params["W"], Dropout(0.5).forward(x)

    for a, b in zip(draw(), draw()):
        np.testing.assert_array_equal(a, b)
    seed_everything(6)
    assert not np.array_equal(LSTM(4, 3).params["W_h"], draw()[0])
    with pytest.raises(ValueError, match="non-negative integer"):
        seed_everything(-1)
    with pytest.raises(ValueError, match="numpy.random.Generator"):
        get_rng(42)


def test_paths_follow_course_root_and_mode(tmp_root, monkeypatch):
    assert project_root() == tmp_root
    monkeypatch.setenv("COURSE_MODE", "full")
    assert figures_dir("01_x") == tmp_root / "figures" / "01_x" and (tmp_root / "figures" / "01_x").is_dir()
    monkeypatch.setenv("COURSE_MODE", "quick")
    assert figures_dir("01_x") == tmp_root / "figures" / "_quick" / "01_x"
    assert figures_dir() == tmp_root / "figures"  # results.json stays at the top in both modes


def test_save_figure_and_plot_history(tmp_root, monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "full")
    history = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [2.0, 1.5, 1.2], "val_loss": [2.1, 1.7, 1.6]})
    ax = plot_history(history, baselines={"unigram": 1.9})
    assert len(ax.get_lines()) == 3 and [t.get_text() for t in ax.get_legend().get_texts()][-1] == "unigram"
    path = save_figure(ax.figure, "01_x", "loss")
    assert path == tmp_root / "figures" / "01_x" / "loss.png" and path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="plain file name"):
        save_figure(ax.figure, "01_x", "../escape")
    with pytest.raises(ValueError, match="no column 'val_accuracy'"):
        plot_history(history, columns=("val_accuracy",))
    plt.close("all")


def test_lesson_seeds_and_records(tmp_root, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_MODE", "quick")
    lesson = start_lesson("01_x", seed=3)
    assert "mode=quick" in capsys.readouterr().out
    first = np.random.default_rng(3).standard_normal(2)
    np.testing.assert_array_equal(lesson.rng.standard_normal(2), first)
    entry = lesson.record({"accuracy": np.float32(0.5)})
    saved = json.loads((tmp_root / "figures" / "results.json").read_text())
    assert saved["01_x"]["mode"] == "quick" and saved["01_x"]["metrics"] == {"accuracy": 0.5}
    assert entry["seconds"] >= 0
