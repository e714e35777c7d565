"""Count baselines for character models: held-out bits per character of n-gram models.

Texts are encoded as 1-D integer arrays of indices below ``vocab``; the probabilities are
counts from the training text with add-alpha smoothing, so a symbol never seen after a
context still gets some.
"""

import numpy as np

from ..core import validate


def unigram_bpc(train_encoded, test_encoded, vocab: int, alpha: float = 1.0) -> float:
    """Bits per character of character frequencies (add-alpha smoothing) on held-out text."""
    vocab = validate.count("vocab", vocab)
    alpha = validate.finite_number("alpha", alpha, strictly_above=0.0)
    counts = np.bincount(np.asarray(train_encoded), minlength=vocab) + alpha
    p = counts / counts.sum()
    return float(-np.log2(p[np.asarray(test_encoded)]).mean())


def ngram_bpc(train_encoded, test_encoded, vocab: int, order: int = 2,
              alpha: float = 0.1) -> float:
    """Held-out bits per character of an n-gram count model with add-alpha smoothing.

    order=2 is a bigram model p(c_t | c_{t-1}), order=3 a trigram p(c_t | c_{t-2}, c_{t-1}):
    Markov chains of order n-1 over the alphabet. The first n-1 held-out characters
    are not scored.
    """
    order = validate.count("order", order)
    if order == 1:
        return unigram_bpc(train_encoded, test_encoded, vocab, alpha)
    vocab = validate.count("vocab", vocab)
    alpha = validate.finite_number("alpha", alpha, strictly_above=0.0)
    tr, te = np.asarray(train_encoded), np.asarray(test_encoded)
    if vocab ** order > 50_000_000:
        raise ValueError(f"{vocab}^{order} count cells are too many; lower the order")

    def codes(x):  # the n-gram starting at each position, as one integer in base `vocab`
        code = np.zeros(len(x) - order + 1, dtype=np.int64)
        for j in range(order):
            code = code * vocab + x[j:len(x) - order + 1 + j]
        return code

    counts = np.bincount(codes(tr), minlength=vocab ** order).reshape(-1, vocab)
    context_totals = counts.sum(axis=1)
    test_codes = codes(te)
    num = counts.reshape(-1)[test_codes]
    den = context_totals[test_codes // vocab]
    p = (num + alpha) / (den + alpha * vocab)
    return float(-np.log2(p).mean())
