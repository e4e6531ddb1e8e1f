"""Writing files so that nobody ever sees half of one.

A download that fails half-way, a full disk or a Ctrl-C while saving must not leave a truncated
file where the course expects a good one (the next run would trust it). So every file the course
writes for later goes through :func:`atomic_path`: write to a temporary file *beside* the target,
and only when the whole block succeeded rename it over the target. A rename within one folder is
atomic: a reader sees the old file or the new one, never a mix.

    with atomic_path("figures/results.json") as tmp:
        tmp.write_text(text, encoding="utf-8")
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block ends without error, rename it to ``path``.

    On any error (even ``KeyboardInterrupt``) the temporary file is deleted and ``path`` is untouched.
    The folder of ``path`` is created if needed; the file ends up readable by everyone (``0o644``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same folder as the target, so that os.replace is a rename and not a copy across file systems.
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with tmp.open("rb") as f:
            os.fsync(f.fileno())  # on disk before the rename, so a power cut cannot leave an empty file
        tmp.chmod(0o644)  # mkstemp makes the file private; course files are ordinary data
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def replace_between(path: str | os.PathLike, start: str, end: str, text: str) -> bool:
    """Replace what lies between the markers ``start`` and ``end`` in a text file; True if it changed.

    The markers stay; ``text`` goes on the lines between them. The file is written atomically.
    Raises ``ValueError`` naming the markers when the file lacks them (or has them in the wrong order).
    """
    path = Path(path)
    old = path.read_text(encoding="utf-8")
    i = old.find(start)
    j = old.find(end, i + len(start)) if i >= 0 else -1
    if i < 0 or j < 0:
        raise ValueError(f"{path} needs the markers {start} and {end} (in that order)")
    new = old[: i + len(start)] + "\n" + text + "\n" + old[j:]
    if new == old:
        return False
    with atomic_path(path) as tmp:
        tmp.write_text(new, encoding="utf-8")
    return True
