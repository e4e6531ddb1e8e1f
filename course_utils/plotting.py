"""Plotting helpers: one look for every figure of the course, and saving into ``figures/``."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from .paths import figures_dir

STYLE = {
    "figure.figsize": (7.5, 4.0),
    "figure.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
}


def use_course_style() -> None:
    """Apply the course's matplotlib settings (called by ``start_lesson``)."""
    plt.rcParams.update(STYLE)


def save_figure(fig, notebook: str, name: str, dpi: int = 110, mode: str | None = None) -> Path:
    """Save ``fig`` as ``figures/<notebook>/<name>.png`` and return the path
    (``mode``: see ``figures_dir``)."""
    if not name or "/" in name or "\\" in name:
        raise ValueError(f"figure name must be a plain file name without folders, got {name!r}")
    path = figures_dir(notebook, mode) / f"{name}.png"
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def plot_history(history, columns=("train_loss", "val_loss"), baselines: dict | None = None,
                 ax=None, ylabel: str = "loss", title: str | None = None):
    """Line plot of a training history ``DataFrame`` (one row per epoch) against ``epoch``.

    ``baselines`` maps a label to a constant drawn as a dashed horizontal line, so a model is
    always seen next to the simple predictor it has to beat.
    """
    if ax is None:
        _, ax = plt.subplots()
    x = history["epoch"] if "epoch" in history else history.index
    for col in columns:
        if col not in history:
            raise ValueError(f"history has no column {col!r}; it has {list(history.columns)}")
        ax.plot(x, history[col], marker="o", markersize=3, label=col.replace("_", " "))
    for k, (label, value) in enumerate((baselines or {}).items()):
        ax.axhline(value, linestyle="--", color=f"C{k + len(columns)}", label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    return ax
