"""Text for character models: alphabets, encoding, one-hot batches, the B-cursor generator.

Two alphabets:

- the text8 alphabet, 27 symbols: space and a–z. :func:`clean_text8` lowercases,
  spells each digit out as a word and maps everything else to a space, collapsing
  runs of spaces (the last steps of Matt Mahoney's ``wikifil.pl``, which made text8);
- a corpus' own alphabet, :meth:`Alphabet.from_text` (Tiny Shakespeare has 65).

Batches come from :class:`BatchCursors`: B cursors spaced len/B apart, each reading
its own stretch of the text, so the B rows of a batch are B independent streams and
the hidden state of row b can be carried from one window to the next.
"""

import re
import zipfile

import numpy as np

from .. import data
from ..core import validate

TEXT8_ALPHABET = " abcdefghijklmnopqrstuvwxyz"
_NOT_LETTER = re.compile(r"[^a-z]+")
_DIGIT_WORDS = str.maketrans({str(d): f" {w} " for d, w in enumerate(
    "zero one two three four five six seven eight nine".split())})


def clean_text8(text: str) -> str:
    """Lowercase, spell each digit as a word, map every other character outside a–z to a
    space, collapse runs of spaces: "In 1953" → "in one nine five three".

    The text8 convention (its 27 symbols are space and a–z): the last steps of
    ``wikifil.pl``, the script that cleaned the Wikipedia dump text8 was cut from.
    Leading and trailing spaces are kept as a single space each, so cleaned pieces
    can be joined.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return _NOT_LETTER.sub(" ", text.lower().translate(_DIGIT_WORDS))


class Alphabet:
    """A fixed list of symbols and the maps symbol ↔ index."""

    def __init__(self, symbols: str):
        if not isinstance(symbols, str) or not symbols:
            raise ValueError("an alphabet needs at least one symbol")
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"the symbols of an alphabet must be distinct, got {symbols!r}")
        self.symbols = symbols
        self.index = {c: i for i, c in enumerate(symbols)}
        self._lookup = np.full(max(map(ord, symbols)) + 1, -1, dtype=np.int64)
        self._lookup[[ord(c) for c in symbols]] = np.arange(len(symbols))

    @classmethod
    def from_text(cls, text: str) -> "Alphabet":
        """The sorted set of characters that occur in ``text``."""
        _check_text(text)
        return cls("".join(sorted(set(text))))

    @classmethod
    def text8(cls) -> "Alphabet":
        """Space and a–z (27 symbols)."""
        return cls(TEXT8_ALPHABET)

    @property
    def size(self) -> int:
        return len(self.symbols)

    def __len__(self) -> int:
        return len(self.symbols)

    def __repr__(self) -> str:
        return f"Alphabet({len(self)} symbols: {self.symbols!r})"

    def encode(self, text: str) -> np.ndarray:
        """Indices of the characters of ``text``, an int64 array of len(text).

        Raises ValueError naming the characters that are not in the alphabet.
        """
        _check_text(text)
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        inside = codes < len(self._lookup)
        idx = np.full(len(codes), -1, dtype=np.int64)
        idx[inside] = self._lookup[codes[inside]]
        if (idx < 0).any():
            unknown = sorted({text[i] for i in np.flatnonzero(idx < 0)[:1000]})
            raise ValueError(f"{int((idx < 0).sum())} characters are not in the alphabet, "
                             f"e.g. {''.join(unknown[:10])!r}; clean the text first "
                             "(clean_text8) or build the alphabet from it (Alphabet.from_text)")
        return idx

    def decode(self, indices) -> str:
        """The text spelled by a sequence of indices."""
        indices = np.asarray(indices)
        if indices.ndim != 1 or not np.issubdtype(indices.dtype, np.integer):
            raise ValueError(f"decode needs a 1-D array of integers, got {indices.dtype} "
                             f"shape {indices.shape}")
        if indices.size and (indices.min() < 0 or indices.max() >= len(self)):
            raise ValueError(f"indices must lie in [0, {len(self)}), got {indices.min()} to "
                             f"{indices.max()}")
        return "".join(self.symbols[i] for i in indices)


def _check_text(text) -> None:
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not text:
        raise ValueError("the text is empty")


def one_hot(indices, size: int, dtype=np.float64) -> np.ndarray:
    """One-hot vectors: indices of any shape S → array of shape S + (size,)."""
    size = validate.count("size", size)
    indices = np.asarray(indices)
    if not np.issubdtype(indices.dtype, np.integer):
        raise TypeError(f"one_hot needs integer indices, got dtype {indices.dtype}")
    if indices.size and (indices.min() < 0 or indices.max() >= size):
        raise ValueError(f"indices must lie in [0, {size}), got {indices.min()} to {indices.max()}")
    out = np.zeros(indices.shape + (size,), dtype=dtype)
    np.put_along_axis(out, indices[..., None], 1, axis=-1)
    return out


def cursor_starts(length: int, batch_size: int) -> np.ndarray:
    """Where the B cursors start: b · (length // B) for b = 0 … B-1."""
    if length < 2:
        raise ValueError(f"the text must have at least 2 characters, got {length}")
    batch_size = validate.count("batch_size", batch_size)
    if batch_size > length - 1:
        raise ValueError(f"batch_size B={batch_size} must lie between 1 and len-1={length - 1}")
    return np.arange(batch_size) * (length // batch_size)


def next_window(encoded: np.ndarray, cursors: np.ndarray, unroll: int):
    """One window of T steps read at the B cursors.

    encoded (L,) ints; cursors (B,). Returns ``(inputs, targets, new_cursors)``:
    inputs[b, t] = encoded[(cursors[b] + t) % L], targets = the next character,
    inputs and targets (B, T), new_cursors = (cursors + T) % L.
    """
    L = len(encoded)
    offsets = np.asarray(cursors)[:, None] + np.arange(unroll + 1)
    chars = encoded[offsets % L]
    return chars[:, :-1], chars[:, 1:], (np.asarray(cursors) + unroll) % L


class BatchCursors:
    """B cursors over a text, len/B apart, each advancing T characters per window.

    Each call of :meth:`next` returns ``(inputs, targets)``, both (B, T) int arrays
    (column t is the batch of step t, so a window is T input batches and T target
    batches; targets are the inputs shifted by one character). The cursors continue
    from where the last window stopped, wrapping around at the end of the text, so
    row b of consecutive windows is one continuous stream.
    """

    def __init__(self, encoded, batch_size: int, unroll: int):
        encoded = np.asarray(encoded)
        if encoded.ndim != 1 or not np.issubdtype(encoded.dtype, np.integer):
            raise ValueError(f"encoded must be a 1-D integer array, got {encoded.dtype} "
                             f"shape {encoded.shape}")
        unroll = validate.count("unroll", unroll)
        self.starts = cursor_starts(len(encoded), batch_size)
        segment = len(encoded) // batch_size
        if unroll >= segment:
            raise ValueError(f"T={unroll} is too large: each of the B={batch_size} cursors "
                             f"reads a stretch of only {segment} characters")
        self.encoded = encoded
        self.batch_size = batch_size
        self.unroll = unroll
        self.cursors = self.starts.copy()
        self.windows = 0

    def next(self):
        inputs, targets, self.cursors = next_window(self.encoded, self.cursors, self.unroll)
        self.windows += 1
        return inputs, targets

    def __iter__(self):
        return self

    def __next__(self):
        return self.next()

    @property
    def chars_per_window(self) -> int:
        return self.batch_size * self.unroll

    @property
    def epoch_fraction(self) -> float:
        """How many times over the text the cursors have gone together."""
        return self.windows * self.chars_per_window / len(self.encoded)


def parallel_streams(encoded, streams: int) -> np.ndarray:
    """``encoded`` (L,) read as ``streams`` parallel streams of ``n = (L - 1) // streams``
    steps: row s is encoded[s·n : s·n + n + 1], so (streams, n + 1), the inputs of each
    step and the targets one column later; the last L - 1 - streams·n characters are left
    out. How a model is scored on held-out text with its state carried along each row.
    """
    encoded = np.asarray(encoded)
    streams = validate.count("streams", streams)
    length = (len(encoded) - 1) // streams
    if length < 1:
        raise ValueError(f"the text ({len(encoded)} characters) is too short for {streams} streams")
    return encoded[np.arange(streams)[:, None] * length + np.arange(length + 1)]


def split_text(text: str, held_out: float = 0.1) -> tuple[str, str]:
    """(training part, held-out part): the last ``held_out`` fraction is held out."""
    _check_text(text)
    if validate.rate("held_out", held_out) in (0.0, 1.0):
        raise ValueError(f"held_out must lie strictly between 0 and 1, got {held_out}")
    cut = int(round(len(text) * (1 - held_out)))
    return text[:cut], text[cut:]


def load_shakespeare(download: bool = True) -> str:
    """Tiny Shakespeare, 1,115,394 characters, through the course's data layer."""
    return data.fetch_one("tinyshakespeare", "input.txt", download=download).read_text("utf-8")


def load_text8(download: bool = True, split: bool = True):
    """text8 (10^8 characters of cleaned Wikipedia, 27 symbols).

    Returns the text, or with ``split=True`` the usual (train 90M, valid 5M, test 5M)
    split. Raises ``data.MissingDataError`` (with how to get it) when it is not at hand.
    """
    path = data.fetch_one("text8", "text8.zip", download=download)
    with zipfile.ZipFile(path) as zf:
        text = zf.read(zf.namelist()[0]).decode("ascii")
    if not split:
        return text
    return text[:90_000_000], text[90_000_000:95_000_000], text[95_000_000:]
