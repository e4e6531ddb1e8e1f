"""The progress bar every training loop uses (course_utils.progress)."""

import importlib.util

import numpy as np
import pytest

from course_utils import progress
from course_utils.progress import LiveBar, OneLineBar, progress_bar


def run_epochs(bar, epochs_run):
    for epoch in range(epochs_run):
        bar.set_postfix(val_loss=f"{1 / (epoch + 1):.3f}", refresh=False)
        bar.update(1)
    bar.close()


def test_text_mode_prints_one_final_line(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_PROGRESS", "text")
    bar = progress_bar(total=5, desc="training")
    assert isinstance(bar, OneLineBar)
    run_epochs(bar, 5)
    out, err = capsys.readouterr()
    assert err == "" and "\r" not in out
    assert (out.count("\n") == 1 and out.startswith("training: 100%") and "5/5" in out
            and "val_loss=0.200" in out)


def test_text_mode_early_stop_ends_complete_and_says_where(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_PROGRESS", "text")
    bar = progress_bar(total=300, desc="training")
    run_epochs(bar, 12)
    assert bar.n == bar.total == 12
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "training (stopped at 12 of 300): 100%" in out and "12/12" in out


def test_closing_twice_prints_once(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_PROGRESS", "text")
    with progress_bar(total=3, desc="x") as bar:
        run_epochs(bar, 3)
    assert capsys.readouterr().out.count("\n") == 1


def test_iterated_text_bar_counts_every_item(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_PROGRESS", "text")
    assert list(progress_bar(range(4), desc="grid")) == [0, 1, 2, 3]
    assert "4/4" in capsys.readouterr().out


def test_disabled_bar_prints_nothing(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_PROGRESS", "text")
    run_epochs(progress_bar(total=4, disable=True), 2)
    assert capsys.readouterr() == ("", "")


def test_live_bar_outside_jupyter_completes_when_stopped(monkeypatch):
    monkeypatch.delenv("COURSE_PROGRESS", raising=False)
    bar = progress_bar(total=10, desc="training")
    assert type(bar) is LiveBar
    run_epochs(bar, 3)
    assert bar.n == bar.total == 3 and "stopped at 3 of 10" in bar.desc


@pytest.mark.skipif(importlib.util.find_spec("ipywidgets") is None, reason="ipywidgets not installed")
def test_widget_in_jupyter_ends_green_when_stopped(monkeypatch):
    monkeypatch.delenv("COURSE_PROGRESS", raising=False)
    monkeypatch.setattr(progress, "_in_jupyter", lambda: True)
    bar = progress_bar(total=10, desc="training")
    assert type(bar).__name__ == "WidgetBar"
    run_epochs(bar, 4)
    assert bar.container.children[1].bar_style == "success"   # tqdm alone would draw it red ("danger")


def test_no_ipywidgets_means_a_text_bar_and_no_warning(monkeypatch, recwarn):
    monkeypatch.delenv("COURSE_PROGRESS", raising=False)
    monkeypatch.setattr(progress, "_in_jupyter", lambda: True)
    real = importlib.util.find_spec
    monkeypatch.setattr(progress.importlib.util, "find_spec",
                        lambda name: None if name == "ipywidgets" else real(name))
    bar = progress_bar(total=2)
    assert type(bar) is LiveBar and not recwarn.list
    bar.close()


def test_unknown_look_is_refused(monkeypatch):
    monkeypatch.setenv("COURSE_PROGRESS", "fancy")
    with pytest.raises(ValueError, match="COURSE_PROGRESS must be 'text'"):
        progress_bar(total=1)


def test_numpy_training_loop_bar_counts_the_epochs_of_the_history(monkeypatch, capsys):
    from course_utils import SGD, Dense, mse
    from course_utils.training import train

    monkeypatch.setenv("COURSE_PROGRESS", "text")
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((32, 3)), rng.standard_normal((32, 1))
    model = Dense(3, 1, rng=rng)
    # validated on the opposite targets: the better the fit to y, the worse on -y, so training stops early
    history = train(model, mse, SGD(model.params, lr=0.1), (X, y), (X, -y),
                    epochs=50, batch_size=8, patience=2)
    out = capsys.readouterr().out
    n = len(history)
    assert n < 50 and f"(stopped at {n} of 50)" in out and f" {n}/{n} " in out
