"""The verified fetch layer: the manifest, the cache, the offline mirror, downloads.

Every file the course uses is listed in the manifest (``manifest.json`` beside
this module, shipped inside the package) with its public URL and the hashes of
the copies the course accepts. :func:`fetch_file` finds each file in this order
and verifies it before use:

1. the cache ``<data dir>/<dataset>/<file>`` (verified when it entered the cache;
   a file whose size changed since then is verified again),
2. the offline mirror named by ``DLCOURSE_DATA_MIRROR`` (verified, then copied),
3. a download from the public URL (progress bar, per-read timeout and an overall
   deadline, written to a temporary file, verified, then renamed into place; an
   error or Ctrl-C leaves nothing behind).

A copy is accepted when any hash the manifest lists for it matches: the file's
own ``md5``/``sha256``, or, for a ``.gz`` file, ``content_md5`` — the md5 of its
decompressed bytes, for verified copies that were compressed again.
"""

import gzip
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from .. import config

READ_TIMEOUT_S = 30
BLOCK = 1 << 20
HASH_FIELDS = {"md5": 32, "sha256": 64, "content_md5": 32}
FILE_FIELDS = {"file", "url", "mirror", "size", *HASH_FIELDS}
DATASET_FIELDS = {"description", "used_by", "files"}


class DataError(Exception):
    """Base of the data layer's errors. In a notebook they show as one line, no traceback,
    because the message already says what is wrong and what to do."""

    def _render_traceback_(self):  # IPython calls this instead of printing a traceback
        return [f"{type(self).__name__}: {self}"]


class MissingDataError(DataError, FileNotFoundError):
    """A file the course needs is neither cached, mirrored nor downloadable."""


class ChecksumError(DataError, ValueError):
    """A file's size or hash differs from every copy the manifest accepts."""


class CorruptDataError(DataError, ValueError):
    """A file in the cache is damaged (truncated, empty, a folder, bad gzip)."""


class ManifestError(DataError, ValueError):
    """The manifest is malformed: names the file, the entry and what is wrong."""


class CacheNotWritableError(DataError, PermissionError):
    """The cache folder cannot be written."""


@dataclass(frozen=True)
class Entry:
    """One file of the manifest. Hash fields hold one hex digest or a tuple of them."""

    dataset: str
    file: str
    url: str
    mirror: str
    size: int | None = None
    md5: str | tuple[str, ...] | None = None
    sha256: str | tuple[str, ...] | None = None
    content_md5: str | tuple[str, ...] | None = None

    @property
    def name(self) -> str:
        return f"{self.dataset}/{self.file}"

    @property
    def cache_path(self) -> Path:
        return config.data_dir() / self.dataset / self.file

    @property
    def receipt_path(self) -> Path:
        """Hidden file beside the cached copy recording the size and hash it was verified with."""
        return self.cache_path.with_name(f".{self.file}.verified")

    def mirror_path(self) -> Path | None:
        root = config.mirror_dir()
        return root / self.mirror if root else None

    def accepted(self) -> list[tuple[str, str]]:
        """Every accepted (hash field, hex digest) pair."""
        pairs = []
        for field in HASH_FIELDS:
            value = getattr(self, field)
            for digest in (value,) if isinstance(value, str) else (value or ()):
                pairs.append((field, digest.lower()))
        return pairs


def fetch_command(dataset: str) -> str:
    return f"python -m dlcourse.data fetch {dataset}"


def repair_command(dataset: str) -> str:
    return f"python -m dlcourse.data verify --repair {dataset}"


# --- the manifest --------------------------------------------------------------

def manifest(path: Path | None = None) -> dict[str, list[Entry]]:
    """The manifest as {dataset name: [Entry, ...]}, validated (ManifestError otherwise)."""
    path = Path(path) if path else config.manifest_path()
    try:
        raw = json.loads(path.read_text())
    except OSError as err:
        raise ManifestError(f"cannot read the data manifest {path}: {err.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ManifestError(f"the data manifest {path} is not valid JSON: {err}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("datasets"), dict):
        raise ManifestError(f"the data manifest {path} needs a top-level object "
                            "with a \"datasets\" object")
    return {name: [_entry(path, name, i, spec) for i, spec in enumerate(_files(path, name, ds))]
            for name, ds in raw["datasets"].items()}


def _check_object(where: str, value, allowed: set[str]) -> None:
    """ManifestError unless ``value`` is a JSON object whose fields are all ``allowed``."""
    if not isinstance(value, dict):
        raise ManifestError(f"{where} must be an object")
    unknown = set(value) - allowed
    if unknown:
        raise ManifestError(f"{where} has unknown field(s) {sorted(unknown)}; "
                            f"allowed: {sorted(allowed)}")


def _files(path: Path, name: str, dataset) -> list:
    where = f"the data manifest {path}: dataset {name!r}"
    _check_object(where, dataset, DATASET_FIELDS)
    files = dataset.get("files")
    if not isinstance(files, list) or not files:
        raise ManifestError(f"{where} needs a non-empty \"files\" list")
    return files


def _entry(path: Path, dataset: str, index: int, spec) -> Entry:
    label = spec.get("file", f"#{index}") if isinstance(spec, dict) else f"#{index}"
    where = f"the data manifest {path}: {dataset}/{label}"
    _check_object(where, spec, FILE_FIELDS)
    for field in ("file", "url", "mirror"):
        if not isinstance(spec.get(field), str) or not spec[field]:
            raise ManifestError(f"{where} needs a non-empty string {field!r}")
    size = spec.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size <= 0):
        raise ManifestError(f"{where}: 'size' must be a positive whole number of bytes, "
                            f"got {size!r}")
    hashes = {}
    for field, length in HASH_FIELDS.items():
        value = spec.get(field)
        if value is None:
            continue
        digests = [value] if isinstance(value, str) else value
        if not isinstance(digests, list) or not digests or not all(
                isinstance(d, str) and re.fullmatch(f"[0-9a-fA-F]{{{length}}}", d)
                for d in digests):
            raise ManifestError(f"{where}: {field!r} must be {length} hex digits "
                                f"(or a list of them), got {value!r}")
        hashes[field] = digests[0] if len(digests) == 1 else tuple(digests)
    if size is None and not hashes:
        raise ManifestError(f"{where} has neither a size nor a hash, so a download "
                            "could not be verified")
    return Entry(dataset=dataset, file=spec["file"], url=spec["url"], mirror=spec["mirror"],
                 size=size, **hashes)


def find_entries(dataset: str) -> list[Entry]:
    """The manifest's entries of ``dataset`` (ValueError listing the known names otherwise)."""
    entries = manifest()
    if dataset not in entries:
        raise ValueError(f"unknown dataset {dataset!r}; the manifest lists: "
                         f"{', '.join(entries)}")
    return entries[dataset]


# --- verification --------------------------------------------------------------

def _digests(path: Path, fields: set[str]) -> dict[str, str]:
    """Hex digests of the raw file (md5/sha256) and of its gzip content (content_md5)."""
    raw = {f: hashlib.new(f) for f in fields & {"md5", "sha256"}}
    if raw:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(BLOCK), b""):
                for digest in raw.values():
                    digest.update(block)
    found = {f: d.hexdigest() for f, d in raw.items()}
    if "content_md5" in fields:
        content = hashlib.md5()
        try:
            with gzip.open(path, "rb") as f:
                for block in iter(lambda: f.read(BLOCK), b""):
                    content.update(block)
            found["content_md5"] = content.hexdigest()
        except (OSError, EOFError, zlib.error):
            found["content_md5"] = "not gzip-readable"
    return found


def verify(path: Path, entry: Entry) -> str:
    """Check ``path`` against ``entry``; returns which check it passed.

    Raises ChecksumError unless one accepted hash matches (or, for an entry with
    only a size, the size matches).
    """
    if not path.is_file():
        raise ChecksumError(f"{path} is {'a folder' if path.is_dir() else 'not a file'}, "
                            "not the expected file")
    size = path.stat().st_size
    size_note = (f"; it has {size:,} bytes, upstream {entry.size:,} (truncated or a different "
                 "file)" if entry.size is not None and size != entry.size else "")
    accepted = entry.accepted()
    if not accepted:
        if size_note:
            raise ChecksumError(f"{path} has the wrong size{size_note}")
        return f"size {size:,}"
    if size == 0:
        raise ChecksumError(f"{path} is empty")
    found = _digests(path, {field for field, _ in accepted})
    for field, digest in accepted:
        if found[field] == digest:
            return f"{field} {digest}"
    got = ", ".join(f"{field} {found[field]}" for field in dict(accepted))
    want = " or ".join(f"{field} {digest}" for field, digest in accepted)
    raise ChecksumError(f"{path} has {got}, expected {want}{size_note}")


def _read_receipt(entry: Entry) -> int | None:
    try:
        return int(json.loads(entry.receipt_path.read_text())["size"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_receipt(entry: Entry, size: int, passed: str) -> None:
    entry.receipt_path.write_text(json.dumps({"size": size, "passed": passed}))


def check_cached(entry: Entry) -> None:
    """Raise CorruptDataError (one line: the file and the repair command) unless the
    cached copy of ``entry`` is sound. Cheap when its size is the one it was verified with."""
    cached = entry.cache_path
    if cached.is_file() and cached.stat().st_size > 0:
        size = cached.stat().st_size
        if size in (entry.size, _read_receipt(entry)):
            return
    try:
        passed = verify(cached, entry)
    except ChecksumError as err:
        raise CorruptDataError(f"the cached {entry.name} is damaged ({err}). "
                               f"Repair it with: {repair_command(entry.dataset)}") from None
    _write_receipt(entry, cached.stat().st_size, passed)


# --- filling the cache -----------------------------------------------------------

def _install(entry: Entry, fill) -> Path:
    """Write the cache file through ``fill(tmp_path)``, verify, then rename into place.

    On any failure, Ctrl-C included, the temporary file is removed and the cache is
    left untouched. The cached file is readable by everyone (0644), like any download.
    """
    target = entry.cache_path
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{entry.file}.",
                                   suffix=".partial")
    except PermissionError as err:
        raise CacheNotWritableError(
            f"cannot write to the data cache {target.parent} ({err.strerror}); set "
            "DLCOURSE_DATA_DIR to a folder you can write, or fix that folder's "
            "permissions") from None
    os.close(fd)
    try:
        fill(Path(tmp))
        passed = verify(Path(tmp), entry)
        os.chmod(tmp, 0o644)
        if target.is_dir():
            shutil.rmtree(target)
        os.replace(tmp, target)
        _write_receipt(entry, target.stat().st_size, passed)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _download(entry: Entry, dest: Path) -> None:
    """Stream ``entry.url`` into ``dest``: per-read timeout, overall deadline, progress bar."""
    deadline = config.download_deadline()
    start = time.monotonic()
    request = urllib.request.Request(entry.url, headers={"User-Agent": "dlcourse"})
    with urllib.request.urlopen(request, timeout=READ_TIMEOUT_S) as response, \
            open(dest, "wb") as out:
        total = entry.size or int(response.headers.get("Content-Length") or 0) or None
        done = 0
        # read1 returns what has arrived instead of waiting for a full block, so the
        # deadline is checked even while a server trickles.
        read_some = getattr(response, "read1", response.read)
        with tqdm(total=total, unit="B", unit_scale=True, desc=entry.file) as bar:
            for block in iter(lambda: read_some(1 << 16), b""):
                out.write(block)
                done += len(block)
                bar.update(len(block))
                if time.monotonic() - start > deadline:
                    raise TimeoutError(f"not finished after {deadline:g} s ({done:,} bytes "
                                       "received; DLCOURSE_DOWNLOAD_DEADLINE sets the limit)")


def fetch_file(entry: Entry, download: bool = True) -> Path:
    """Path of a verified local copy of ``entry``: from cache, mirror or download."""
    cached = entry.cache_path
    if cached.exists():
        check_cached(entry)
        return cached
    mirrored = entry.mirror_path()
    if mirrored is not None and mirrored.exists():
        try:
            verify(mirrored, entry)
        except ChecksumError as err:
            raise ChecksumError(f"the mirror's copy is bad: {err}") from None
        return _install(entry, lambda tmp: shutil.copyfile(mirrored, tmp))
    where = f" or the mirror {mirrored}" if mirrored is not None else ""
    if not download:
        raise MissingDataError(f"{entry.name} is not in the cache {cached.parent}"
                               f"{where}. Get it with: {fetch_command(entry.dataset)}")
    try:
        return _install(entry, lambda tmp: _download(entry, tmp))
    except ChecksumError as err:
        raise ChecksumError(f"download of {entry.url} is corrupt and was deleted: {err}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
        reason = getattr(err, "reason", err)
        raise MissingDataError(
            f"{entry.name} is not cached{where}, and downloading {entry.url} failed "
            f"({reason}). On a machine with internet run `{fetch_command(entry.dataset)}` "
            f"and copy {config.data_dir()} here, or set DLCOURSE_DATA_MIRROR to a folder "
            f"that holds {entry.mirror}.") from None


def fetch(dataset: str, download: bool = True) -> dict[str, Path]:
    """Fetch every file of ``dataset``; returns {file name: local path}."""
    return {e.file: fetch_file(e, download=download) for e in find_entries(dataset)}


def fetch_one(dataset: str, file: str, download: bool = True) -> Path:
    """Local path of one file of ``dataset`` (fetched if needed)."""
    entries = {e.file: e for e in find_entries(dataset)}
    if file not in entries:
        raise ValueError(f"{dataset}/{file} is not in the manifest; {dataset} has: "
                         f"{', '.join(entries)}")
    return fetch_file(entries[file], download=download)


def status() -> list[dict]:
    """One row per file: dataset, file, cached?, in mirror?, size."""
    rows = []
    for entries in manifest().values():
        for e in entries:
            mirrored = e.mirror_path()
            rows.append({"dataset": e.dataset, "file": e.file,
                         "cached": e.cache_path.exists(),
                         "mirror": bool(mirrored and mirrored.exists()),
                         "size": e.size, "path": str(e.cache_path)})
    return rows


def verify_cache(names: list[str], repair: bool = False) -> list[str]:
    """Verify every cached file of the datasets ``names`` against the manifest.

    Returns one line per damaged file. With ``repair``, a damaged file is deleted
    and fetched again (mirror or download); the line then says how that went.
    """
    problems = []
    for name in names:
        for entry in find_entries(name):
            if not entry.cache_path.exists():
                continue
            try:
                _write_receipt(entry, entry.cache_path.stat().st_size,
                               verify(entry.cache_path, entry))
                continue
            except ChecksumError as err:
                line = f"{entry.name}: damaged ({err})"
            if repair:
                remove(entry)
                try:
                    fetch_file(entry)
                    line += "; fetched again"
                except DataError as err:
                    line += f"; removed, but fetching it again failed: {err}"
            problems.append(line)
    return problems


def remove(entry: Entry) -> None:
    """Delete the cached copy of ``entry`` (a file or a stray folder) and its receipt."""
    if entry.cache_path.is_dir():
        shutil.rmtree(entry.cache_path)
    else:
        entry.cache_path.unlink(missing_ok=True)
    entry.receipt_path.unlink(missing_ok=True)
