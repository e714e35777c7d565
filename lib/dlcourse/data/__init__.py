"""Datasets of the course: one manifest, a verified cache, an offline mirror, loaders.

Public API:

- ``fetch_one(dataset, file)`` / ``fetch(dataset)``: verified local paths (cache,
  then the mirror named by ``DLCOURSE_DATA_MIRROR``, then a download).
- ``load_mnist(...)``, ``read_idx(path)``, ``mnist_arrays(split)``: MNIST.
- ``manifest()``, ``status()``, ``verify_cache(names, repair)`` (a list of ``Problem``):
  inspection; ``fetch_command(name)`` and ``repair_command(name)``: the command lines a
  message tells the learner to run.
- Errors, all subclasses of ``DataError`` with messages that say what to do:
  ``MissingDataError``, ``ChecksumError``, ``CorruptDataError``, ``ManifestError``,
  ``CacheNotWritableError``, ``UnreadableDataError``.

Command line: ``python -m dlcourse.data status | fetch [NAME…] | verify [--repair]``.
"""

from .cache import (
    CacheNotWritableError,
    ChecksumError,
    CorruptDataError,
    DataError,
    Entry,
    ManifestError,
    MissingDataError,
    Problem,
    UnreadableDataError,
    check_cached,
    fetch,
    fetch_command,
    fetch_file,
    fetch_one,
    find_entries,
    manifest,
    repair_command,
    status,
    verify,
    verify_cache,
)
from .cli import main, print_status
from .mnist import load_mnist, mnist_arrays, read_idx

__all__ = [
    "CacheNotWritableError", "ChecksumError", "CorruptDataError", "DataError", "Entry",
    "ManifestError", "MissingDataError", "Problem", "UnreadableDataError", "check_cached",
    "fetch", "fetch_command", "fetch_file", "fetch_one", "find_entries", "load_mnist", "main",
    "manifest", "mnist_arrays", "print_status", "read_idx", "repair_command", "status", "verify",
    "verify_cache",
]
