"""The data registry: every file the course reads from outside, and where to get it.

Each file has a short name (``"dickens"``), a file name, a checksum and, where one exists, a public
URL. The course's default files ship in ``data/`` (``ships=True``); the others are optional downloads
that a notebook asks for only when a learner chooses them. ``fetch(name)`` returns the path of a
verified copy, looking in this order:

1. ``data/<file>`` then ``data/cache/<file>`` (shipped with the course, or downloaded before);
2. ``$COURSE_DATA_MIRROR/<file>`` (a folder of copies for machines without internet, such as CI);
3. the URL: downloaded once into ``data/cache/``, checked, and only then put in place.

Every copy is checked against its checksum, so a notebook never trains on a truncated download
or on a different version of a file without saying so.

>>> path = fetch("dickens")                          # doctest: +SKIP
>>> text = path.read_text(encoding="utf-8-sig")      # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .files import atomic_path
from .paths import data_dir, project_root

MIRROR_ENV = "COURSE_DATA_MIRROR"
TIMEOUT_SECONDS = 60  # per network operation; a stalled server must not hang a notebook forever
_CHUNK = 1 << 20  # hash and copy 1 MiB at a time: the 224-pixel X-ray file does not fit comfortably in RAM


class ChecksumError(ValueError):
    """A file's checksum differs from the one in the registry."""


@dataclass(frozen=True)
class DataFile:
    """One registered file. Give exactly one of ``sha256`` and ``md5`` (hex digests).

    ``transform`` (optional, ``bytes -> bytes``) is applied to a freshly downloaded file before its
    checksum is checked: the checksum is always that of the file as stored on disk.
    ``ships``: the file is part of the repository, in ``data/``; otherwise it must have a ``url``
    (an optional download), so that every registered file has a source a learner can reach.
    """

    name: str
    filename: str
    sha256: str | None = None
    md5: str | None = None
    url: str | None = None
    description: str = ""
    transform: Callable[[bytes], bytes] | None = None
    ships: bool = False

    def __post_init__(self) -> None:
        if (self.sha256 is None) == (self.md5 is None):
            raise ValueError(f"DataFile {self.name!r}: give exactly one of sha256 and md5")
        if not self.ships and self.url is None:
            raise ValueError(f"DataFile {self.name!r}: a file that does not ship in data/ needs a url")

    @property
    def checksum_kind(self) -> str:
        """``"sha256"`` or ``"md5"``."""
        return "sha256" if self.sha256 is not None else "md5"

    @property
    def checksum(self) -> str:
        """The expected hex digest, lower case."""
        return (self.sha256 or self.md5 or "").lower()


def strip_gutenberg(raw: bytes) -> bytes:
    """Keep only the text between Project Gutenberg's ``*** START OF ...`` and ``*** END OF ...`` lines.

    The marker lines and the licence header and footer around them are dropped; the bytes in
    between are returned unchanged (line ends included).
    """
    start = re.search(rb"^\*\*\* ?START OF[^\n]*\n", raw, flags=re.MULTILINE)
    end = re.compile(rb"^\*\*\* ?END OF", flags=re.MULTILINE).search(raw, start.end()) if start else None
    if start is None or end is None:
        raise ValueError(
            "strip_gutenberg: expected a line starting with '*** START OF' and, after it, a line starting "
            f"with '*** END OF' (Project Gutenberg's markers); found the start marker: {start is not None}"
        )
    return raw[start.end() : end.start()]


def dickens_from_gutenberg(raw: bytes) -> bytes:
    """Cut Project Gutenberg's eBook #98 the way the course's copy is cut.

    Between the Gutenberg markers, drop the title page and the contents (everything before the
    first "It was the best of times"), keep the novel, end it with one blank line, and store it
    as the course's copy is stored: UTF-8 with a byte-order mark and CRLF line ends.
    """
    text = strip_gutenberg(raw).decode("utf-8-sig").replace("\r\n", "\n")
    start = text.find("It was the best of times")
    if start < 0:
        raise ValueError("dickens_from_gutenberg: expected the novel's first words "
                         "'It was the best of times'")
    novel = text[start:].rstrip() + "\n\n"
    return b"\xef\xbb\xbf" + novel.replace("\n", "\r\n").encode("utf-8")


_ZENODO = "https://zenodo.org/records/10519652/files/"
_MEDMNIST = "PneumoniaMNIST from MedMNIST v3 (CC BY 4.0; Kermany et al., Cell 2018)"


def _medmnist(size: int, md5: str) -> DataFile:
    """An official PneumoniaMNIST file on Zenodo (which publishes MD5s, so those are what we check)."""
    filename = "pneumoniamnist.npz" if size == 28 else f"pneumoniamnist_{size}.npz"
    name, description = f"pneumoniamnist_{size}", f"{_MEDMNIST}, {size}x{size} pixels, official splits"
    return DataFile(name, filename, md5=md5, url=_ZENODO + filename, description=description)


REGISTRY: dict[str, DataFile] = {
    d.name: d
    for d in [
        # Ships in data/. The URL is only a fallback for a checkout that lost the file; the checksum is
        # of the course's cut of the text (see dickens_from_gutenberg). It was never compared with
        # today's pg98.txt (no internet where this was written): if Project Gutenberg's text differs in
        # any byte, that download fails loudly rather than the course silently training on another text.
        DataFile(
            "dickens",
            "dickens_a_tale_of_two_cities.txt",
            sha256="890b6ae6edc7a22a67225988e2ad8b725f03481ac0372d07eefa0cc27995e0f1",
            url="https://www.gutenberg.org/cache/epub/98/pg98.txt",
            description="Charles Dickens, A Tale of Two Cities (1859); Project Gutenberg #98, public domain",
            transform=dickens_from_gutenberg,
            ships=True,
        ),
        # No URL: a class-balanced subset made for this course, shipped in data/ (CC BY 4.0, credited
        # in data/README.md).
        DataFile(
            "pneumoniamnist_28_balanced",
            "pneumoniamnist_28_balanced.npz",
            sha256="f36c2b3e34de9d60c5c734118bc6daff281eaf76b67a57d26ad958da948274b0",
            description=f"class-balanced 28x28 subset of {_MEDMNIST}, each split half pneumonia",
            ships=True,
        ),
        _medmnist(28, "28209eda62fecd6e6a2d98b1501bb15f"),
        _medmnist(64, "8f4eceb4ccffa70c672198ea285246c6"),
        _medmnist(128, "05b46931834c231683c68f40c47b2971"),
        _medmnist(224, "d6a3c71de1b945ea11211b03746c1fe1"),
    ]
}


def _entry(name_or_datafile: str | DataFile) -> DataFile:
    if isinstance(name_or_datafile, DataFile):
        return name_or_datafile
    if name_or_datafile not in REGISTRY:
        raise ValueError(f"unknown data file {name_or_datafile!r}; known names: {', '.join(REGISTRY)}")
    return REGISTRY[name_or_datafile]


def _file_hash(path: Path, kind: str) -> str:
    digest = hashlib.new(kind)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check(path: Path, df: DataFile, source: object, advice: str) -> None:
    actual = _file_hash(path, df.checksum_kind)
    if actual != df.checksum:
        raise ChecksumError(
            f"checksum mismatch for {source} (registry entry {df.name!r}):\n"
            f"  expected {df.checksum_kind} {df.checksum}\n  actual   {df.checksum_kind} {actual}\n{advice}"
        )


def verify(path: str | os.PathLike, datafile: DataFile) -> None:
    """Raise ``ChecksumError`` (a ``ValueError``) unless the file at ``path`` has the registered checksum."""
    advice = (
        "The file is damaged, incomplete or a different version, and has been left in place. Delete it\n"
        f"(or replace it with a good copy) and call fetch({datafile.name!r}) again: it will use the next\n"
        "copy it finds (data/cache/, then $COURSE_DATA_MIRROR) or download a fresh one."
    )
    _check(Path(path), datafile, path, advice)


def search_places(filename: str) -> list[Path]:
    """Where a copy of ``filename`` may already be, in lookup order: ``data/``, ``data/cache/``, the mirror.

    Also the search order for files that cannot be registered (GloVe: no published checksum).
    """
    places = [data_dir() / filename, data_dir() / "cache" / filename]
    if mirror := os.environ.get(MIRROR_ENV):
        # A relative mirror path is taken from the project root, so it means the same in notebooks/.
        places.append((project_root() / Path(mirror).expanduser()).resolve() / filename)
    return places


def _download(df: DataFile, target: Path) -> None:
    """Download ``df.url`` to ``target``: via a temporary file, checked, and only then put in place."""
    assert df.url is not None
    with atomic_path(target) as tmp:  # whatever goes wrong (even Ctrl-C), no half-written file is left
        with tmp.open("wb") as out, urllib.request.urlopen(df.url, timeout=TIMEOUT_SECONDS) as response:
            if response.status != 200:
                raise OSError(f"HTTP {response.status} {response.reason}")
            shutil.copyfileobj(response, out, _CHUNK)
        if df.transform is not None:
            try:
                tmp.write_bytes(df.transform(tmp.read_bytes()))
            except ValueError as error:
                raise ValueError(f"downloaded {df.url} but could not prepare it: {error}") from error
        advice = (
            "Nothing was saved. The file at the URL has probably changed (a revised edition?): put a good "
            f"copy of {df.filename} in {data_dir()} or in ${MIRROR_ENV}."
        )
        _check(tmp, df, df.url, advice)


def fetch(name_or_datafile: str | DataFile, *, download: bool = True) -> Path:
    """The path of a checksum-verified copy of a registered file (see the module docstring for the order).

    ``download=False`` never touches the network. Raises ``ChecksumError`` for a damaged copy (which
    is left where it is) and ``FileNotFoundError``, saying where it looked, when there is no copy at all.
    """
    df = _entry(name_or_datafile)
    places = search_places(df.filename)
    for path in places:
        if path.is_file():
            verify(path, df)
            return path

    cache_path = data_dir() / "cache" / df.filename
    if df.url is None:
        problem = ("This file has no public URL: it ships with the course in data/. Restore it from the "
                   "repository (git checkout -- data/) or copy it into data/ or the mirror.")
    elif not download:
        problem = f"Not downloaded from {df.url} because download=False."
    else:
        try:
            _download(df, cache_path)
            return cache_path
        # ChecksumError and transform errors (ValueError) propagate: the file exists but is wrong.
        except (OSError, http.client.HTTPException) as error:
            # "HTTP 404 Not Found", "[Errno 111] Connection refused", "timed out", ...
            status = f"HTTP {error.code} " if isinstance(error, urllib.error.HTTPError) else ""
            problem = f"Downloading {df.url} failed: {status}{getattr(error, 'reason', error)}."

    looked = "\n".join(f"  - {p}" for p in places)
    mirror = os.environ.get(MIRROR_ENV)
    mirror_note = f"${MIRROR_ENV} is set to {mirror!r}." if mirror else f"${MIRROR_ENV} is not set."
    raise FileNotFoundError(
        f"data file {df.name!r} ({df.filename}) not found. Looked in:\n{looked}\n"
        f"URL: {df.url or 'none'}\n{problem}\n{mirror_note} "
        f"Set ${MIRROR_ENV} to a folder holding {df.filename}, or put the file in {data_dir()}."
    )


def describe_registry() -> pd.DataFrame:
    """One row per registered file and where a copy was found (``"missing"`` if none; not verified here)."""
    rows = []
    for df in REGISTRY.values():
        found = next((str(p) for p in search_places(df.filename) if p.is_file()), "missing")
        row = {"name": df.name, "file": df.filename, "ships": df.ships, "checksum": df.checksum_kind,
               "url": df.url or ""}
        rows.append({**row, "found": found})
    return pd.DataFrame(rows)
