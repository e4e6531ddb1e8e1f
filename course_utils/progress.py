"""The course's progress bar, for every training loop (NumPy, PyTorch and the Keras callback).

    bar = progress_bar(total=epochs, desc="training")
    for epoch in range(1, epochs + 1):
        ...                                   # one epoch
        bar.set_postfix(val_loss=f"{val_loss:.3f}")
        bar.update(1)
        if stop_early:
            break
    bar.close()                               # or: with progress_bar(...) as bar:

Two looks, chosen by the environment variable ``COURSE_PROGRESS``:

- unset (a learner in Jupyter or a terminal): tqdm's live bar, a widget in Jupyter when ipywidgets is
  installed, a text bar otherwise (never the ``IProgress not found`` warning);
- ``text`` (``make course``, ``make test``, CI): nothing while the loop runs, then **one line** when the
  bar closes. A saved notebook keeps every redraw of a live text bar, one line each when it is shown on
  GitHub or as HTML; one final line per bar reads like a log.

A loop that stops before ``total`` (early stopping) is not a failure: on ``close`` the bar is completed at
the count it reached, and its description says where it stopped (tqdm would otherwise draw it red).
Advance the bar by hand with ``update(1)`` after each epoch, rather than iterating over it: an iterated
bar counts an item only when the next one is asked for, so a ``break`` leaves it one epoch short.
"""

from __future__ import annotations

import importlib.util
import io
import os
import sys

from tqdm.std import tqdm as _text_tqdm

PROGRESS_ENV = "COURSE_PROGRESS"


class _CompletesWhenStopped:
    """A tqdm mixin: closing a bar that stopped short completes it at its count and says so."""

    def close(self) -> None:
        if not self.disable and not getattr(self, "_completed", False):
            self._completed = True
            if self.total is not None and self.n < self.total:
                self.set_description_str(f"{self.desc.rstrip(': ')} "
                                         f"(stopped at {self.n:g} of {self.total:g})", refresh=False)
                self.total = self.n
        super().close()


class LiveBar(_CompletesWhenStopped, _text_tqdm):
    """tqdm's live text bar (a terminal, or Jupyter without ipywidgets)."""


class OneLineBar(_CompletesWhenStopped, _text_tqdm):
    """A text bar that draws nothing while it runs and prints its final state once, on ``close``."""

    def __init__(self, *args, **kwargs):
        self._final_stream = kwargs.pop("file", None) or sys.stdout
        kwargs.setdefault("ascii", False)                              # block characters, as on a terminal
        kwargs.update(file=io.StringIO(), mininterval=float("inf"))   # draw into a buffer, never refresh
        super().__init__(*args, **kwargs)

    def close(self) -> None:
        first = not self.disable and not getattr(self, "_completed", False)
        super().close()             # completes the bar if it stopped short
        if first:
            print(str(self), file=self._final_stream, flush=True)   # the final bar, as tqdm draws it


def _widget_bar_class():
    """tqdm's notebook widget with the same completion on close, or None without ipywidgets."""
    if importlib.util.find_spec("ipywidgets") is None:
        return None
    from tqdm.notebook import tqdm as notebook_tqdm

    class WidgetBar(_CompletesWhenStopped, notebook_tqdm):
        pass

    return WidgetBar


def _in_jupyter() -> bool:
    """True inside a Jupyter kernel (where a widget can be drawn)."""
    shell = sys.modules.get("IPython")
    ip = shell.get_ipython() if shell is not None and hasattr(shell, "get_ipython") else None
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def progress_bar(iterable=None, **kwargs):
    """A progress bar (see the module docstring); takes tqdm's arguments (``total``, ``desc``, ``unit`` ...).

    ``COURSE_PROGRESS=text`` gives a :class:`OneLineBar`; otherwise a widget in Jupyter when
    ipywidgets is installed, else a :class:`LiveBar`.
    """
    look = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if look not in ("", "text"):
        raise ValueError(f"{PROGRESS_ENV} must be 'text' or unset, got {look!r}")
    if look == "text":
        return OneLineBar(iterable, **kwargs)
    widget = _widget_bar_class() if _in_jupyter() else None
    return (widget or LiveBar)(iterable, **kwargs)
