"""The thread policy and the device choice (course_utils.hardware)."""

import os

import pytest

from course_utils.hardware import (
    THREADS_ENV,
    choose_device,
    default_threads,
    set_threads,
    thread_count,
    torch_threads,
)

torch = pytest.importorskip("torch")
threadpoolctl = pytest.importorskip("threadpoolctl")


def blas_threads() -> set[int]:
    return {info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"}


@pytest.fixture
def restore_threads(monkeypatch):
    """Put PyTorch's and BLAS's threads and OMP_NUM_THREADS back after the test."""
    torch_before = torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", ""))
    with threadpoolctl.threadpool_limits(None, user_api="blas"):   # on exit, BLAS gets back its limits
        yield
    torch.set_num_threads(torch_before)


@pytest.mark.parametrize("cpus, expected", [(1, 1), (2, 1), (3, 1), (8, 4), (64, 32)])
def test_default_is_half_the_cpus_at_least_one(cpus, expected):
    assert default_threads(cpus) == expected


def test_environment_variable_overrides_the_default():
    assert thread_count({THREADS_ENV: "3"}, cpu_count=2) == 3
    assert thread_count({THREADS_ENV: " "}, cpu_count=8) == 4
    assert thread_count({}, cpu_count=8) == 4


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_bad_environment_value_is_refused(value):
    with pytest.raises(ValueError, match=f"{THREADS_ENV} must be a positive integer.*{value}"):
        thread_count({THREADS_ENV: value})


@pytest.mark.parametrize("n", [0, 1.0, True, "2"])
def test_bad_argument_is_refused(n):
    with pytest.raises(ValueError, match="positive integer"):
        set_threads(n)


@pytest.mark.parametrize("n", [1, 2])
def test_set_threads_limits_torch_blas_and_later_imports(restore_threads, n):
    assert set_threads(n) == n
    assert torch.get_num_threads() == n
    assert os.environ["OMP_NUM_THREADS"] == str(n)   # what a PyTorch imported later reads
    if blas_threads():                                  # NumPy's BLAS, when threadpoolctl can see it
        assert blas_threads() == {n}


def test_set_threads_follows_the_environment(restore_threads, monkeypatch):
    monkeypatch.setenv(THREADS_ENV, "2")
    assert set_threads() == 2 and torch.get_num_threads() == 2
    monkeypatch.setenv(THREADS_ENV, "1")
    assert set_threads() == 1 and torch.get_num_threads() == 1


def test_start_lesson_applies_the_policy(restore_threads, monkeypatch, tmp_path, capsys):
    from course_utils.lesson import start_lesson

    monkeypatch.setenv("COURSE_ROOT", str(tmp_path))
    monkeypatch.setenv(THREADS_ENV, "1")
    lesson = start_lesson("01_x")
    assert lesson.threads == 1 and torch.get_num_threads() == 1
    assert f"threads=1 (set {THREADS_ENV})" in capsys.readouterr().out


@pytest.mark.parametrize("outside, inside", [(1, 1), (2, 1), (1, 2)])
def test_torch_threads_sets_the_number_inside_and_restores_it_after(restore_threads, outside, inside):
    torch.set_num_threads(outside)
    with torch_threads(inside) as n:
        assert n == inside and torch.get_num_threads() == inside
    assert torch.get_num_threads() == outside
    with pytest.raises(RuntimeError), torch_threads(inside):     # also when the block fails
        raise RuntimeError
    assert torch.get_num_threads() == outside


@pytest.mark.parametrize("n", [0, 1.0, True])
def test_torch_threads_refuses_a_bad_number(n):
    with pytest.raises(ValueError, match="positive integer"), torch_threads(n):
        pass


def test_choose_device_takes_the_gpu_when_there_is_one():
    assert choose_device(lambda: True) == torch.device("cuda")
    assert choose_device(lambda: False) == torch.device("cpu")
    assert choose_device() == torch.device("cuda" if torch.cuda.is_available() else "cpu")
