"""Threads and device: one policy for every lesson, test and command of the course.

    n = set_threads()          # PyTorch and NumPy's BLAS: $COURSE_THREADS, else half the CPUs (at least 1)
    device = choose_device()   # CUDA when PyTorch sees a GPU, else the CPU
    with torch_threads(1):     # a computation whose numbers must not depend on $COURSE_THREADS
        ...

Why not the libraries' defaults: PyTorch and OpenBLAS start one thread per CPU. The course's models are
small (matrices of 64 to 512 rows), so a second thread saves little even on an idle machine, and when
another program is busy (a shared CI runner, Colab's 2 virtual CPUs, a laptop doing other work) threads
that wait for each other make the same work many times slower. Half the CPUs leaves room for the rest
of the machine; set ``COURSE_THREADS`` (a positive integer) before starting Python to choose yourself.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from contextlib import contextmanager, nullcontext

THREADS_ENV = "COURSE_THREADS"


def default_threads(cpu_count: int | None = None) -> int:
    """Half the CPUs, rounded down, at least 1: 1 on a 2-CPU machine, 4 on an 8-CPU one."""
    cpus = cpu_count if cpu_count is not None else (os.cpu_count() or 1)
    return max(1, cpus // 2)


def thread_count(environ: dict | None = None, cpu_count: int | None = None) -> int:
    """The number of threads the policy gives: ``$COURSE_THREADS`` if set, else :func:`default_threads`."""
    value = (os.environ if environ is None else environ).get(THREADS_ENV, "").strip()
    if not value:
        return default_threads(cpu_count)
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{THREADS_ENV} must be a positive integer such as 1 or 4, got {value!r}")
    return int(value)


def set_threads(n: int | None = None) -> int:
    """Give PyTorch and NumPy's BLAS ``n`` threads (default: :func:`thread_count`); return ``n``.

    PyTorch is not imported here (a NumPy lesson need not pay for it): if it is loaded already it is
    told directly, and ``OMP_NUM_THREADS``, which PyTorch reads when it is imported, covers a later
    import. The BLAS limit needs ``threadpoolctl``; without it only PyTorch is limited.
    """
    n = thread_count() if n is None else n
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"threads must be a positive integer, got {n!r}")
    os.environ["OMP_NUM_THREADS"] = str(n)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        pass
    else:
        threadpool_limits(n, user_api="blas")  # called, not used as a context: the limit stays
    return n


@contextmanager
def torch_threads(n: int = 1):
    """A context in which PyTorch computes on ``n`` CPU threads; on exit the number before comes back.

    Why: some CPU operations share their work between threads and combine the parts, and float
    arithmetic rounds, so another number of threads can give a result that differs in the last bits. A
    QR decomposition does (Intel MKL's LAPACK, which PyTorch uses, works in blocks shared between
    threads): Keras's orthogonal initialiser, the default for an LSTM's recurrent weights, then starts
    the same seed from other weights, and training carries the difference into everything after. A large
    sum split between threads can do the same. Built and trained inside ``with torch_threads(1):``, a
    model comes out bit for bit the same whatever ``$COURSE_THREADS`` or :func:`set_threads` chose (on
    the same kind of CPU and the same library versions: other hardware may round differently). For the
    course's small models one thread is about as fast as several. Not meant for several Python threads
    at once: the setting is process-wide.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"threads must be a positive integer, got {n!r}")
    import torch

    before = torch.get_num_threads()
    if before != n:
        torch.set_num_threads(n)
    try:
        yield n
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def choose_device(cuda_available: Callable[[], bool] | None = None):
    """``torch.device("cuda")`` when a GPU is usable, else ``torch.device("cpu")``.

    ``cuda_available`` defaults to ``torch.cuda.is_available`` (tests pass their own).
    """
    import torch

    available = torch.cuda.is_available if cuda_available is None else cuda_available
    return torch.device("cuda" if available() else "cpu")


def limit_blas_threads(n: int | None = 1):
    """A context in which NumPy's BLAS uses at most ``n`` threads (``None``: the library's default).

    Small matrix products (a batch of 64 rows, 5 output columns) gain next to nothing from a second
    thread on an idle machine, while on a shared one the threads wait for each other and the same
    work can take 10 to 20 times longer (measured on the course's 2-CPU machine). Unlike
    :func:`set_threads`, the limit holds only inside the ``with`` block. Needs ``threadpoolctl``;
    without it, or with ``n=None``, nothing is limited.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return nullcontext()
    return nullcontext() if n is None else threadpool_limits(n, user_api="blas")
