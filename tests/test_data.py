"""Tests of the data registry (course_utils.data). No internet: downloads come from a local HTTP server.

Every test points $COURSE_ROOT at a temporary folder, so nothing touches the repository's data/.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from course_utils import data
from course_utils.data import (
    REGISTRY,
    ChecksumError,
    DataFile,
    dickens_from_gutenberg,
    fetch,
    strip_gutenberg,
    verify,
)

REPO = Path(__file__).resolve().parents[1]
REPO_DATA = REPO / "data"  # the files that ship with the course (read, never written, by these tests)
CONTENT = b"it was the best of times,\r\nit was the worst of times\r\n"
GUTENBERG = (
    b"\xef\xbb\xbfThe Project Gutenberg eBook of A Test\r\nLicence blah\r\n"
    b"*** START OF THE PROJECT GUTENBERG EBOOK A TEST ***\r\n"
    b"Chapter 1\r\nThe story.\r\n"
    b"*** END OF THE PROJECT GUTENBERG EBOOK A TEST ***\r\nMore licence\r\n"
)


def sha256(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


class Server:
    """A local HTTP server: ``files`` maps a path such as "/toy.txt" to the bytes it serves (else 404)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.status: dict[str, int] = {}  # a status other than 200 for a path that is served
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                body = outer.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(outer.status.get(self.path, 200))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:  # keep the test output quiet
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh project root with an empty data/ folder, and no mirror unless a test sets one."""
    monkeypatch.setenv("COURSE_ROOT", str(tmp_path))
    monkeypatch.delenv("COURSE_DATA_MIRROR", raising=False)
    for var in ("no_proxy", "NO_PROXY"):  # a proxy set in CI must not intercept 127.0.0.1
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    (tmp_path / "data").mkdir()
    return tmp_path


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "mirror"
    path.mkdir()
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(path))
    return path


def toy(url: str | None = None, content: bytes = CONTENT, **kwargs) -> DataFile:
    """A registry entry for tests: with no URL it must be a shipped file."""
    return DataFile("toy", "toy.txt", sha256=sha256(content), url=url, ships=url is None, **kwargs)


# --- DataFile and the registry ---------------------------------------------------------------


@pytest.mark.parametrize("checksums", [{}, {"sha256": "ab", "md5": "cd"}])
def test_datafile_needs_exactly_one_checksum(checksums):
    with pytest.raises(ValueError, match="exactly one"):
        DataFile("x", "x.txt", **checksums)


def test_datafile_that_does_not_ship_needs_a_url():
    with pytest.raises(ValueError, match="needs a url"):
        DataFile("x", "x.txt", sha256="ab")
    assert DataFile("x", "x.txt", sha256="ab", ships=True).url is None


def test_datafile_is_frozen():
    with pytest.raises(AttributeError):
        toy().url = "http://elsewhere"  # type: ignore[misc]


def test_registry_entries():
    assert set(REGISTRY) == {
        "dickens",
        "pneumoniamnist_28_balanced",
        "pneumoniamnist_28",
        "pneumoniamnist_64",
        "pneumoniamnist_128",
        "pneumoniamnist_224",
    }
    dickens = REGISTRY["dickens"]
    assert dickens.filename == "dickens_a_tale_of_two_cities.txt"
    assert dickens.sha256 == "890b6ae6edc7a22a67225988e2ad8b725f03481ac0372d07eefa0cc27995e0f1"
    assert dickens.url == "https://www.gutenberg.org/cache/epub/98/pg98.txt"
    assert dickens.transform is dickens_from_gutenberg
    assert REGISTRY["pneumoniamnist_28_balanced"].url is None
    assert ({name for name, entry in REGISTRY.items() if entry.ships}
            == {"dickens", "pneumoniamnist_28_balanced"})
    assert REGISTRY["pneumoniamnist_28"].filename == "pneumoniamnist.npz"
    assert REGISTRY["pneumoniamnist_28"].md5 == "28209eda62fecd6e6a2d98b1501bb15f"
    assert (
        REGISTRY["pneumoniamnist_224"].url
        == "https://zenodo.org/records/10519652/files/pneumoniamnist_224.npz"
    )
    assert REGISTRY["pneumoniamnist_224"].md5 == "d6a3c71de1b945ea11211b03746c1fe1"
    for name, entry in REGISTRY.items():
        assert entry.name == name
        assert len(entry.checksum) == {"sha256": 64, "md5": 32}[entry.checksum_kind]


def test_unknown_name_lists_known_names(root):
    with pytest.raises((KeyError, ValueError), match="pneumoniamnist_28_balanced") as info:
        fetch("dickins")
    assert "dickins" in str(info.value) and "dickens" in str(info.value)


# --- lookup order -----------------------------------------------------------------------------


def test_data_folder_beats_cache_and_mirror(root, mirror):
    for folder in (root / "data", root / "data" / "cache", mirror):
        folder.mkdir(exist_ok=True)
        (folder / "toy.txt").write_bytes(CONTENT)
    assert fetch(toy()) == root / "data" / "toy.txt"


def test_cache_beats_mirror(root, mirror):
    (root / "data" / "cache").mkdir()
    (root / "data" / "cache" / "toy.txt").write_bytes(CONTENT)
    (mirror / "toy.txt").write_bytes(CONTENT)
    assert fetch(toy()) == root / "data" / "cache" / "toy.txt"


def test_mirror_used_when_data_lacks_it(root, mirror, server):
    (mirror / "toy.txt").write_bytes(CONTENT)
    server.files["/toy.txt"] = CONTENT
    assert fetch(toy(server.url("/toy.txt"))) == mirror / "toy.txt"
    assert server.requests == []  # a local copy means no download


def test_relative_mirror_is_taken_from_the_project_root(root, monkeypatch):
    (root / "elsewhere").mkdir()
    (root / "elsewhere" / "toy.txt").write_bytes(CONTENT)
    monkeypatch.setenv("COURSE_DATA_MIRROR", "elsewhere")
    monkeypatch.chdir(root / "data")  # as a notebook running in notebooks/ would be
    assert fetch(toy()) == root / "elsewhere" / "toy.txt"


# --- downloads ----------------------------------------------------------------------------------


def test_good_download_lands_in_cache(root, server):
    server.files["/toy.txt"] = CONTENT
    path = fetch(toy(server.url("/toy.txt")))
    assert path == root / "data" / "cache" / "toy.txt"
    assert path.read_bytes() == CONTENT
    assert os.listdir(path.parent) == ["toy.txt"]  # no temporary file left behind
    assert fetch(toy(server.url("/toy.txt"))) == path
    assert server.requests == ["/toy.txt"]  # the second call used the cached copy


def test_corrupt_download_raises_and_saves_nothing(root, server):
    server.files["/toy.txt"] = CONTENT + b"tampered"
    with pytest.raises(ChecksumError) as info:
        fetch(toy(server.url("/toy.txt")))
    message = str(info.value)
    assert sha256(CONTENT) in message and sha256(CONTENT + b"tampered") in message
    assert server.url("/toy.txt") in message
    assert os.listdir(root / "data" / "cache") == []


def test_http_404_names_status_and_url(root, server):
    url = server.url("/missing.txt")
    with pytest.raises(FileNotFoundError) as info:
        fetch(toy(url))
    message = str(info.value)
    assert "HTTP 404" in message and url in message and "COURSE_DATA_MIRROR" in message
    assert os.listdir(root / "data" / "cache") == []


def test_only_status_200_is_accepted(root, server):
    server.files["/toy.txt"] = CONTENT
    server.status["/toy.txt"] = 203  # a success code that urllib does not reject by itself
    with pytest.raises(FileNotFoundError, match="HTTP 203"):
        fetch(toy(server.url("/toy.txt")))
    assert os.listdir(root / "data" / "cache") == []


def test_connection_refused_is_reported(root):
    with socket.socket() as s:  # a port that nobody listens on once this socket is closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/toy.txt"
    with pytest.raises(FileNotFoundError, match="(?i)refused") as info:
        fetch(toy(url))
    assert url in str(info.value)


def test_md5_entries_download_and_verify(root, server):
    server.files["/x.npz"] = CONTENT
    entry = DataFile("x", "x.npz", md5=hashlib.md5(CONTENT).hexdigest(), url=server.url("/x.npz"))
    assert fetch(entry).read_bytes() == CONTENT
    bad = DataFile("x", "x.npz", md5="0" * 32, ships=True)
    with pytest.raises(ChecksumError, match="md5"):
        verify(root / "data" / "cache" / "x.npz", bad)


def test_transform_is_applied_before_verification(root, server):
    stripped = b"Chapter 1\r\nThe story.\r\n"
    server.files["/pg.txt"] = GUTENBERG
    path = fetch(toy(server.url("/pg.txt"), content=stripped, transform=strip_gutenberg))
    assert path.read_bytes() == stripped


def test_checksum_is_of_the_transformed_file(root, server):
    server.files["/pg.txt"] = GUTENBERG
    with pytest.raises(ChecksumError):  # the checksum of the raw download is not what is stored
        fetch(toy(server.url("/pg.txt"), content=GUTENBERG, transform=strip_gutenberg))
    assert os.listdir(root / "data" / "cache") == []


def test_failing_transform_leaves_nothing(root, server):
    server.files["/pg.txt"] = CONTENT  # no Gutenberg markers
    with pytest.raises(ValueError, match="START OF"):
        fetch(toy(server.url("/pg.txt"), transform=strip_gutenberg))
    assert os.listdir(root / "data" / "cache") == []


# --- corrupt local copies and missing files -----------------------------------------------------


@pytest.mark.parametrize("where", ["data", "mirror"])
def test_corrupt_local_file_raises_and_is_kept(root, mirror, where):
    folder = root / "data" if where == "data" else mirror
    bad = b"not the right bytes"
    (folder / "toy.txt").write_bytes(bad)
    with pytest.raises(ChecksumError) as info:
        fetch(toy())
    message = str(info.value)
    assert str(folder / "toy.txt") in message
    assert sha256(CONTENT) in message and sha256(bad) in message
    assert "delete" in message.lower()
    assert (folder / "toy.txt").read_bytes() == bad  # never deleted silently


def test_download_false_does_not_download(root, server):
    server.files["/toy.txt"] = CONTENT
    url = server.url("/toy.txt")
    with pytest.raises(FileNotFoundError) as info:
        fetch(toy(url), download=False)
    message = str(info.value)
    assert "COURSE_DATA_MIRROR" in message and url in message and "download=False" in message
    assert str(root / "data" / "toy.txt") in message and str(root / "data" / "cache" / "toy.txt") in message
    assert server.requests == []


def test_no_url_and_no_copy(root, mirror):
    with pytest.raises(FileNotFoundError) as info:
        fetch("pneumoniamnist_28_balanced")
    message = str(info.value)
    for part in ("pneumoniamnist_28_balanced.npz", "COURSE_DATA_MIRROR", "no public URL", "git checkout",
                 str(mirror)):
        assert part in message


# --- strip_gutenberg ----------------------------------------------------------------------------


def test_strip_gutenberg_keeps_only_the_text():
    assert strip_gutenberg(GUTENBERG) == b"Chapter 1\r\nThe story.\r\n"
    assert strip_gutenberg(GUTENBERG.replace(b"\r\n", b"\n")) == b"Chapter 1\nThe story.\n"


@pytest.mark.parametrize("raw", [CONTENT, GUTENBERG.split(b"*** END")[0], GUTENBERG.split(b"Chapter")[1]])
def test_strip_gutenberg_without_markers_raises(raw):
    with pytest.raises(ValueError, match=r"\*\*\* START OF.*\*\*\* END OF"):
        strip_gutenberg(raw)


# --- describe_registry and the real mirror ------------------------------------------------------


def test_describe_registry(root):
    (root / "data" / "pneumoniamnist.npz").write_bytes(b"x")
    table = data.describe_registry()
    assert list(table.columns) == ["name", "file", "ships", "checksum", "url", "found"]
    assert len(table) == len(REGISTRY)
    found = dict(zip(table["name"], table["found"]))
    assert found["pneumoniamnist_28"] == str(root / "data" / "pneumoniamnist.npz")
    assert found["dickens"] == "missing"


def test_shipped_files_are_in_data_and_found_first(monkeypatch):
    """The repository's own data/ holds every shipped file with its registered checksum, and fetch finds it
    there with no mirror and no network (download=False)."""
    monkeypatch.delenv("COURSE_ROOT", raising=False)
    monkeypatch.delenv("COURSE_DATA_MIRROR", raising=False)
    for name, entry in REGISTRY.items():
        if entry.ships:
            assert fetch(name, download=False) == REPO_DATA / entry.filename
    text = fetch("dickens", download=False).read_text(encoding="utf-8-sig")
    assert text.startswith("It was the best of times")
    with np.load(fetch("pneumoniamnist_28_balanced", download=False)) as xrays:
        assert xrays["train_images"].shape == (2428, 28, 28) and xrays["train_labels"].mean() == 0.5


def test_dickens_transform_rebuilds_the_course_copy_from_a_gutenberg_shaped_file():
    """A file laid out like pg98.txt (BOM, licence header, title page, contents, the novel, footer)
    must come out byte for byte as the registered copy. (Whether today's pg98.txt has exactly the
    same words could not be checked without internet; the download verifies that.)"""
    # as a plain LF text
    novel = (REPO_DATA / REGISTRY["dickens"].filename).read_bytes()[3:].replace(b"\r\n", b"\n").rstrip()
    raw = (b"\xef\xbb\xbfThe Project Gutenberg eBook of A Tale of Two Cities\r\n\r\n"
           b"*** START OF THE PROJECT GUTENBERG EBOOK A TALE OF TWO CITIES ***\r\n\r\n"
           b"A TALE OF TWO CITIES\r\n\r\nCONTENTS\r\n\r\nI. The Period\r\n\r\n"
           + novel.replace(b"\n", b"\r\n")
           + b"\r\n\r\n\r\n*** END OF THE PROJECT GUTENBERG EBOOK A TALE OF TWO CITIES ***\r\nLicence\r\n")
    out = dickens_from_gutenberg(raw)
    assert hashlib.sha256(out).hexdigest() == REGISTRY["dickens"].sha256
    with pytest.raises(ValueError, match="It was the best of times"):
        dickens_from_gutenberg(b"*** START OF X ***\nNothing here\n*** END OF X ***\n")
