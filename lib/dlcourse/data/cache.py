"""The verified fetch layer: the manifest, the cache, the offline mirror, downloads.

Every file the course uses is listed in the manifest (``manifest.json`` beside
this module, shipped inside the package) with its public URL and the hashes of
the copies the course accepts. :func:`fetch_file` finds each file in this order
and verifies it before use:

1. the cache ``<data dir>/<dataset>/<file>``, trusted without hashing only while a
   receipt beside it matches: the file's size, modification and change times and
   inode when it was verified, and a hash the manifest still accepts; otherwise it
   is hashed again (a hand-copied or overwritten file),
2. the offline mirror named by ``DLCOURSE_DATA_MIRROR`` (copied, then verified),
3. a download from the public URL (progress bar; ``DLCOURSE_DOWNLOAD_DEADLINE``
   bounds all of it, name lookup, connection and headers included).

New copies are written to a locked ``.<file>.<random>.partial`` beside the cache
file, verified, then renamed into place, so what was cached stays until a verified
replacement takes its place, and two processes fetching one file never see each
other's half-written copy. A partial whose writer was killed is unlocked; the next
fetch of that file and ``verify --repair`` remove it. Where there are no advisory locks
(Windows: no ``fcntl``), a partial is stale once nothing has written it for
``STALE_AFTER_S``, and Windows itself refuses to delete a file a live writer holds open.

A copy is accepted when any hash the manifest lists for it matches: the file's
own ``md5``/``sha256``, or, for a ``.gz`` file, ``content_md5`` — the md5 of its
decompressed bytes, for verified copies that were compressed again.
"""

import contextlib
import errno
import gzip
import hashlib
import http.client
import json
import os
import queue
import re
import shutil
import stat
import tempfile
import threading
import time
import urllib.request
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from .. import config

try:
    import fcntl
except ImportError:  # Windows: partials are told stale by age instead (_remove_stale_partials)
    fcntl = None

READ_TIMEOUT_S = 30
BLOCK = 1 << 20
# Without fcntl: a live fetch writes its partial at least every READ_TIMEOUT_S, and renames
# it within moments of the last write.
STALE_AFTER_S = 3600
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


class CacheNotWritableError(DataError, OSError):
    """The cache folder cannot be created or written (permissions, a read-only file
    system, a full disk, a regular file in its path)."""


class UnreadableDataError(DataError, OSError):
    """A cached or mirrored file, or a folder on the way to it, cannot be read."""


@dataclass(frozen=True)
class Problem:
    """A cached file that failed verification: one line saying what is wrong and,
    after a repair, how that went; ``repaired`` when a verified copy replaced it."""

    line: str
    repaired: bool = False


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
        except (gzip.BadGzipFile, EOFError, zlib.error):
            found["content_md5"] = "not gzip-readable"
    return found


def verify(path: Path, entry: Entry, shown: str | None = None) -> str:
    """Check ``path`` against ``entry``; returns which check it passed.

    Raises ChecksumError unless one accepted hash matches (or, for an entry with
    only a size, the size matches), UnreadableDataError when the file cannot be
    read. ``shown`` names the file in messages (default: ``path``).
    """
    shown = shown or str(path)
    if not path.is_file():
        raise ChecksumError(f"{shown} is {'a folder' if path.is_dir() else 'not a file'}, "
                            "not the expected file")
    size = path.stat().st_size
    size_note = (f"; it has {size:,} bytes, upstream {entry.size:,} (truncated or a different "
                 "file)" if entry.size is not None and size != entry.size else "")
    accepted = entry.accepted()
    if not accepted:
        if size_note:
            raise ChecksumError(f"{shown} has the wrong size{size_note}")
        return f"size {size:,}"
    if size == 0:
        raise ChecksumError(f"{shown} is empty")
    try:
        found = _digests(path, {field for field, _ in accepted})
    except OSError as err:
        raise UnreadableDataError(f"cannot read {shown} ({err.strerror or err}); "
                                  "check its permissions") from None
    for field, digest in accepted:
        if found[field] == digest:
            return f"{field} {digest}"
    got = ", ".join(f"{field} {found[field]}" for field in dict(accepted))
    want = " or ".join(f"{field} {digest}" for field, digest in accepted)
    raise ChecksumError(f"{shown} has {got}, expected {want}{size_note}")


def _fingerprint(path: Path) -> dict | None:
    """Size, modification and change times (ns) and inode of the regular file at ``path``,
    None when there is none. Taken through an open handle, so an unreadable file is
    found here (UnreadableDataError) even when its receipt would spare the hashing."""
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
    except (FileNotFoundError, IsADirectoryError):
        return None
    except OSError as err:
        raise UnreadableDataError(f"cannot read {path} ({err.strerror or err}); check its "
                                  "permissions") from None
    if not stat.S_ISREG(st.st_mode):
        return None
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns,
            "inode": st.st_ino}


def _receipt_holds(entry: Entry, seen: dict | None) -> bool:
    """Whether the receipt of ``entry`` vouches for the file with fingerprint ``seen``:
    same fingerprint, and the check it passed is one the manifest still accepts."""
    try:
        receipt = json.loads(entry.receipt_path.read_text())
        passed, recorded = receipt["passed"], receipt["file"]
    except (OSError, ValueError, KeyError, TypeError):  # none, unreadable, or half written
        return False
    accepted = {f"{field} {digest}" for field, digest in entry.accepted()}
    if not accepted and entry.size is not None:
        accepted = {f"size {entry.size:,}"}
    return seen is not None and recorded == seen and passed in accepted


def _write_receipt(entry: Entry, seen: dict | None, passed: str) -> None:
    """Record that the cached file with fingerprint ``seen`` passed ``passed``.

    Written to a partial, synced and renamed, so a crash or a full disk never leaves
    half a receipt. Failing to write it is only a warning: the file is verified, and
    is hashed again on its next use.
    """
    if seen is None:  # the file went away meanwhile: nothing to vouch for
        return
    try:
        with _partial(entry.receipt_path) as (out, tmp):
            out.write(json.dumps({"file": seen, "passed": passed}).encode())
            out.flush()
            os.fsync(out.fileno())
            _rename_partial(out, tmp, entry.receipt_path)
    except OSError as err:
        warnings.warn(f"could not record that {entry.name} was verified "
                      f"({err.strerror or err}); it will be hashed again on its next use",
                      stacklevel=2)


def check_cached(entry: Entry) -> None:
    """Raise CorruptDataError (one line: the file and the repair command) unless the
    cached copy of ``entry`` is sound; UnreadableDataError when it cannot be read.
    Cheap while its receipt holds; otherwise hashed, and the receipt written again."""
    seen = _fingerprint(entry.cache_path)
    if _receipt_holds(entry, seen):
        return
    try:
        passed = verify(entry.cache_path, entry)
    except ChecksumError as err:
        raise CorruptDataError(f"the cached {entry.name} is damaged ({err}). "
                               f"Repair it with: {repair_command(entry.dataset)}") from None
    _write_receipt(entry, seen, passed)


# --- filling the cache -----------------------------------------------------------

@contextlib.contextmanager
def _partial(target: Path):
    """A new ``.<name>.<random>.partial`` beside ``target``, opened for writing and locked,
    readable by everyone (0644) once renamed, like any download.

    Yields (binary file, its path). The lock, held until the file is closed (and
    dropped by the kernel when its process dies, SIGKILL included), is what tells a
    live writer's partial from a stale one. Afterwards the partial is gone unless the
    caller renamed it.
    """
    while True:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                   suffix=".partial")
        if fcntl is None:  # a new file is never stale by age
            break
        # On a file system without locks, cleaners cannot lock either, so they leave it be.
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_nlink:  # not removed as stale in the instant before the lock
            break
        os.close(fd)
    os.chmod(tmp, 0o644)  # by path: Windows has os.fchmod only from Python 3.13
    with os.fdopen(fd, "wb") as out:
        try:
            yield out, Path(tmp)
        finally:
            with contextlib.suppress(OSError):  # a full disk fails its flush again
                out.close()  # before the unlink: Windows deletes no open file
            Path(tmp).unlink(missing_ok=True)


def _remove_stale_partials(folder: Path, pattern: str = "*.partial") -> None:
    """Remove the partials in ``folder`` matching ``pattern`` that no live process holds:
    what a killed fetch left behind."""
    for path in folder.glob(pattern):
        try:
            if fcntl is None:
                if time.time() - path.stat().st_mtime > STALE_AFTER_S:
                    path.unlink()
                continue
            with open(path, "rb") as f:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                path.unlink()
        except OSError:  # its writer is alive, it is gone already, or it is not ours to remove
            continue


def _rename_partial(out, tmp: Path, target: Path) -> None:
    """Rename the partial ``tmp``, open as ``out``, to ``target``: still open, and so still
    locked, where there is fcntl; closed first without it (Windows renames no open file),
    which leaves it to cleaners only after STALE_AFTER_S."""
    if fcntl is None:
        out.close()
    os.replace(tmp, target)


def _install(entry: Entry, blocks: Iterator[bytes], source: str) -> Path:
    """Write ``blocks`` to a partial beside the cache file, verify it, rename it into place.

    Until that rename, whatever was cached stays untouched; on any failure, Ctrl-C
    included, the partial is removed. ``blocks`` raises DataError for a source that
    fails; an OSError in writing becomes CacheNotWritableError. ``source`` names it in
    messages.
    """
    target = entry.cache_path
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_partials(target.parent, f"*.{entry.file}.*.partial")  # receipt's too
        with contextlib.closing(blocks), _partial(target) as (out, tmp):
            for block in blocks:
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
            passed = verify(tmp, entry, shown=source)
            if target.is_dir():
                shutil.rmtree(target)
            _rename_partial(out, tmp, target)
    except DataError:
        raise
    except OSError as err:
        fix = "free space there" if err.errno in (errno.ENOSPC, errno.EDQUOT) else \
            "fix its permissions"
        raise CacheNotWritableError(
            f"cannot write to the data cache {target.parent} ({err.strerror or err}); {fix}, "
            "or set DLCOURSE_DATA_DIR to a folder you can write") from None
    _write_receipt(entry, _fingerprint(target), passed)
    return target


def _read_mirror(path: Path) -> Iterator[bytes]:
    """The blocks of the mirror's copy ``path``; UnreadableDataError when it cannot be read."""
    try:
        with open(path, "rb") as f:
            yield from iter(lambda: f.read(BLOCK), b"")
    except OSError as err:
        raise UnreadableDataError(f"cannot read the mirror's copy {path} ({err.strerror or err});"
                                  " fix its permissions, or unset DLCOURSE_DATA_MIRROR") from None


def _receive(url: str, handoff: queue.Queue, stop: threading.Event) -> None:
    """Thread body of a download: hands over the Content-Length (or None), each block as
    it arrives, then b"" at the end, or the exception that ended it. Quits once ``stop``
    is set; a network wait lasts at most READ_TIMEOUT_S."""
    def hand(item) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    try:
        request = urllib.request.Request(url, headers={"User-Agent": "dlcourse"})
        with urllib.request.urlopen(request, timeout=READ_TIMEOUT_S) as response:
            length = response.headers.get("Content-Length", "")
            if not hand(int(length) if length.isdigit() else None):
                return
            # read1 returns what has arrived instead of waiting for a full block
            read_some = getattr(response, "read1", response.read)
            for block in iter(lambda: read_some(1 << 16), b""):
                if not hand(block):
                    return
        hand(b"")
    except Exception as err:  # relayed to the waiting generator, which raises it
        hand(err)


def _download(entry: Entry, where: str) -> Iterator[bytes]:
    """The blocks of ``entry.url`` as they arrive, with a progress bar.

    A daemon thread does the blocking network work; this generator waits for each
    block only as long as ``DLCOURSE_DOWNLOAD_DEADLINE`` has left, so the deadline
    bounds the whole download, name lookup, connection and headers included. Any
    failure becomes MissingDataError saying how to get the file another way
    (``where`` names the mirror that was looked in).
    """
    deadline = config.download_deadline()
    end = time.monotonic() + deadline
    handoff, stop = queue.Queue(maxsize=16), threading.Event()
    threading.Thread(target=_receive, args=(entry.url, handoff, stop), daemon=True,
                     name=f"dlcourse download {entry.file}").start()

    def take():
        item = handoff.get(timeout=max(end - time.monotonic(), 0))
        if isinstance(item, BaseException):
            raise item
        return item

    done = 0
    try:
        length = take()
        with tqdm(total=entry.size or length, unit="B", unit_scale=True, desc=entry.file) as bar:
            while block := take():
                done += len(block)
                bar.update(len(block))
                yield block
    except queue.Empty:
        reason = (f"not finished after {deadline:g} s ({done:,} bytes received; "
                  "DLCOURSE_DOWNLOAD_DEADLINE sets the limit)")
    # relayed from the thread: URLError, timeouts, resets, a malformed URL
    except (OSError, ValueError, http.client.HTTPException) as err:
        reason = getattr(err, "reason", err)
    else:
        return
    finally:
        stop.set()
    raise MissingDataError(
        f"{entry.name} is not cached{where}, and downloading {entry.url} failed "
        f"({reason}). On a machine with internet run `{fetch_command(entry.dataset)}` "
        f"and copy {config.data_dir()} here, or set DLCOURSE_DATA_MIRROR to a folder "
        f"that holds {entry.mirror}.")


def _exists(path: Path, setting: str) -> bool:
    """Whether ``path`` exists; UnreadableDataError (naming ``setting``, the variable that
    moves the folder) when a folder on the way cannot be searched."""
    try:
        return path.exists()
    except OSError as err:
        raise UnreadableDataError(f"cannot look into {path.parent} ({err.strerror or err}); "
                                  f"fix its permissions (chmod u+rx) or set {setting} to "
                                  "another folder") from None


def _acquire(entry: Entry, download: bool = True) -> Path:
    """Fill the cache with a verified copy of ``entry`` from the mirror or a download,
    never reading what is cached now (it stays until the new copy replaces it)."""
    mirrored = entry.mirror_path()
    if mirrored is not None and _exists(mirrored, "DLCOURSE_DATA_MIRROR"):
        try:
            return _install(entry, _read_mirror(mirrored), str(mirrored))
        except ChecksumError as err:
            raise ChecksumError(f"the mirror's copy is bad: {err}") from None
    where = f" or the mirror {mirrored}" if mirrored is not None else ""
    if not download:
        raise MissingDataError(f"{entry.name} is not in the cache {entry.cache_path.parent}"
                               f"{where}. Get it with: {fetch_command(entry.dataset)}")
    try:
        return _install(entry, _download(entry, where), entry.url)
    except ChecksumError as err:
        raise ChecksumError(f"download of {entry.url} is corrupt and was deleted: {err}") from None


def fetch_file(entry: Entry, download: bool = True) -> Path:
    """Path of a verified local copy of ``entry``: from cache, mirror or download."""
    if _exists(entry.cache_path, "DLCOURSE_DATA_DIR"):
        check_cached(entry)
        return entry.cache_path
    return _acquire(entry, download)


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
    """One row per file: dataset, file, cached?, in mirror?, size.
    UnreadableDataError when the cache or mirror folder cannot be searched."""
    rows = []
    for entries in manifest().values():
        for e in entries:
            mirrored = e.mirror_path()
            rows.append({"dataset": e.dataset, "file": e.file,
                         "cached": _exists(e.cache_path, "DLCOURSE_DATA_DIR"),
                         "mirror": bool(mirrored and _exists(mirrored, "DLCOURSE_DATA_MIRROR")),
                         "size": e.size, "path": str(e.cache_path)})
    return rows


def verify_cache(names: list[str], repair: bool = False) -> list[Problem]:
    """Verify (hash) every cached file of the datasets ``names`` against the manifest.

    Returns one Problem per damaged or unreadable file. With ``repair``, stale
    partials are removed first, and each such file is replaced by a verified copy
    from the mirror or a download; when none can be had it is kept as it was.
    """
    problems = []
    for name in names:
        if repair:
            _remove_stale_partials(config.data_dir() / name)
        for entry in find_entries(name):
            if not _exists(entry.cache_path, "DLCOURSE_DATA_DIR"):
                continue
            try:
                seen = _fingerprint(entry.cache_path)
                _write_receipt(entry, seen, verify(entry.cache_path, entry))
                continue
            except ChecksumError as err:
                line = f"{entry.name}: damaged ({err})"
            except UnreadableDataError as err:
                line = f"{entry.name}: unreadable ({err})"
            if not repair:
                problems.append(Problem(line))
                continue
            try:
                _acquire(entry)
                problems.append(Problem(f"{line}; fetched again", repaired=True))
            except DataError as err:
                problems.append(Problem(f"{line}; kept as it was, since no verified copy "
                                        f"could be had: {err}"))
    return problems
