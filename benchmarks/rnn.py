"""Training speed of a vanilla RNN, in characters per second: NumPy forward+backward, the
course's TensorFlow ``tf.function`` step, and ``keras.layers.SimpleRNN`` as the reference.

    python benchmarks/rnn.py                 # N=64, T=100, H=256, V=65 (Tiny Shakespeare)
    python benchmarks/rnn.py --json          # ... and one JSON object on the last line

One training step = forward over a window of T steps for N streams, softmax cross-entropy,
backward (BPTT), clipping and an optimiser update, so a step processes N·T characters.
All three are timed in one run on the same random windows, so machine load affects them
alike; the ratios are the result. NumPy runs with one BLAS thread unless --blas-threads
says otherwise (small matrices: more threads mostly add overhead).
"""

import argparse
import json
import os
import sys
import time


def _best_rate(step, chars: int, repeat: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        step()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - start)
    return chars / best


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--unroll", type=int, default=100)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--vocab", type=int, default=65)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--blas-threads", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print a JSON summary last")
    args = parser.parse_args(argv)
    if "numpy" in sys.modules:
        print("note: NumPy was already imported, --blas-threads has no effect")
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.blas_threads)

    import keras
    import numpy as np
    import tensorflow as tf

    from dlcourse import rnn
    from dlcourse.rnn import tf_models

    N, T, H, V = args.batch, args.unroll, args.hidden, args.vocab
    rng = np.random.default_rng(0)
    inputs, targets = rng.integers(0, V, (N, T)), rng.integers(0, V, (N, T))
    chars = N * T
    rates = {}

    for dtype in (np.float32, np.float64):
        model = rnn.init_model(V, H, rng=0, dtype=dtype)
        opt = rnn.Adam(1e-3)
        h0 = np.zeros((N, H), dtype=dtype)

        def np_step(model=model, opt=opt, h0=h0):
            _, grads, _ = rnn.loss_and_grads(model, inputs, targets, h0)
            grads, _ = rnn.clip_by_global_norm(grads, 5.0)
            opt.update(model, grads)

        rates[f"numpy_{np.dtype(dtype).name}"] = _best_rate(np_step, chars, args.repeat)

    x32, y32 = inputs.astype(np.int32), targets.astype(np.int32)
    for name, model in (("tf_arch1", tf_models.Arch1(V, H)),
                        ("keras_simplernn", tf_models.KerasCharModel(V, H, "simple"))):
        step = tf_models.make_train_step(model, keras.optimizers.Adam(1e-3), clip=5.0)
        state = model.initial_state(N)

        def tf_step(step=step, state=state):
            loss, _, _ = step(x32, y32, state)
            float(loss)

        rates[name] = _best_rate(tf_step, chars, args.repeat)

    ref = rates["keras_simplernn"]
    print(f"N={N} T={T} H={H} V={V}, one training step = {chars:,} characters "
          f"(TensorFlow {tf.__version__}, {args.blas_threads} BLAS thread(s) for NumPy)")
    for name, rate in rates.items():
        print(f"{name:18s} {rate:12,.0f} characters/s   {rate / ref:6.2f}x Keras SimpleRNN")
    summary = {"benchmark": "rnn", "batch": N, "unroll": T, "hidden": H, "vocab": V,
               "chars_per_s": rates,
               "ratio_to_keras_simplernn": {k: v / ref for k, v in rates.items()}}
    if args.json:
        print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
