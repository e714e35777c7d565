"""Training speed of the character models of lesson 04, in characters per second and as a
fraction of this machine's matrix-product speed.

    python benchmarks/rnn.py                 # N=64, T=100, H=256, V=65 (Tiny Shakespeare)
    python benchmarks/rnn.py --json          # ... and one JSON object on the last line

One training step = forward over a window of T steps for N streams, softmax cross-entropy,
backward (BPTT), clipping and an optimiser update, so a step processes N·T characters.
Contenders: the NumPy RNN (float32 and float64), the course's TensorFlow ``Arch1`` step,
``keras.layers.SimpleRNN``, and the lesson's two-layer Keras LSTM. All are timed in one
run on the same random windows, so machine load affects them alike.

The fraction of the machine: a step costs about 6 floating-point operations per weight of
each weight matrix per character (a multiply-add forward, two backward), so
``chars/s × 6 × matrix weights`` is the achieved rate, divided by the machine's: TensorFlow's
float32 product of two 1024×1024 matrices on every core, measured in the same run. Small
recurrent products (N×H times H×H, one time step after the other) cannot reach
large-product speed; the fraction says how far off each model is.

Goals: NumPy float32 is faster than float64 (half the bytes moved); the course's
hand-written ``Arch1`` cell stays within GOAL_ARCH1 of Keras' SimpleRNN, whose fused loop
it imitates; the lesson's LSTM, the model whose full run is timed, uses at least
GOAL_LSTM of the machine. Exits 1 when a goal is missed. NumPy runs with one BLAS thread
unless --blas-threads says otherwise (small matrices: more threads mostly add overhead).
"""

import argparse
import os
import sys
import time

GOAL_ARCH1 = 0.33  # Arch1 characters/s over Keras SimpleRNN's, at least
GOAL_LSTM = 0.25  # the LSTM's achieved GFLOP/s over the machine's, at least


def best_rate(step, chars: int, repeat: int, warmup: int = 2) -> float:
    """Characters per second of the fastest of ``repeat`` calls of ``step``."""
    for _ in range(warmup):
        step()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - start)
    return chars / best


def matrix_weights(arrays) -> int:
    """Entries of the 2-D weight arrays (biases are noise in the operation count)."""
    return sum(int(a.shape[0]) * int(a.shape[1]) for a in arrays if len(a.shape) == 2)


def main(argv=None) -> int:
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

    from dlcourse import report, rnn, timing
    from dlcourse.rnn import tf_models

    N, T, H, V = args.batch, args.unroll, args.hidden, args.vocab
    rng = np.random.default_rng(0)
    inputs, targets = rng.integers(0, V, (N, T)), rng.integers(0, V, (N, T))
    chars = N * T
    rates, weights = {}, {}

    for dtype in (np.float32, np.float64):
        model = rnn.CharRNN.random(V, H, rng=0, dtype=dtype)
        opt = rnn.Adam(1e-3)
        h0 = model.zero_state(N)

        def np_step(model=model, opt=opt, h0=h0):
            _, grads, _ = model.loss_and_grads(inputs, targets, h0)
            grads, _ = rnn.clip_by_global_norm(grads, 5.0)
            opt.update(model.params, grads)

        name = f"NumPy RNN {np.dtype(dtype).name}"
        rates[name] = best_rate(np_step, chars, args.repeat)
        weights[name] = matrix_weights(model.params.values())

    x32, y32 = inputs.astype(np.int32), targets.astype(np.int32)
    keras_models = (("TF Arch1", tf_models.Arch1(V, H)),
                    ("Keras SimpleRNN", tf_models.KerasCharModel(V, H, "simple")),
                    ("Keras LSTM 2 layers", tf_models.KerasCharModel(V, H, "lstm", layers=2)))
    for name, model in keras_models:
        optimizer = keras.optimizers.Adam(1e-3)
        state = model.initial_state(N)
        tf_models.create_variables(model, optimizer, x32, state)
        step = tf_models.make_train_step(model, optimizer, clip=5.0)

        def tf_step(step=step, state=state):
            loss, _, _ = step(x32, y32, state)
            float(loss)

        rates[name] = best_rate(tf_step, chars, args.repeat)
        weights[name] = matrix_weights(model.trainable_weights)

    a = tf.random.normal((1024, 1024))
    machine = timing.matmul_flops(1024, 1024, 1024) / 1e9 / timing.best_time(
        lambda: tf.linalg.matmul(a, a).numpy(), repeat=args.repeat)
    print(f"N={N} T={T} H={H} V={V}, one training step = {chars:,} characters "
          f"(TensorFlow {tf.__version__}, {args.blas_threads} BLAS thread(s) for NumPy); "
          f"tf.linalg.matmul 1024x1024 float32: {machine:.1f} GFLOP/s")
    entries = []
    for name, rate in rates.items():
        fraction = rate * 6 * weights[name] / 1e9 / machine
        entries += [
            report.benchmark_entry("rnn", f"{name}, characters per second", rate, "char/s"),
            report.benchmark_entry("rnn", f"{name}, fraction of matmul GFLOP/s", fraction, "",
                                   goal=(">=", GOAL_LSTM) if "LSTM" in name else None),
        ]
    entries += [
        report.benchmark_entry("rnn", "TF Arch1 / Keras SimpleRNN characters per second",
                               rates["TF Arch1"] / rates["Keras SimpleRNN"], "x",
                               goal=(">=", GOAL_ARCH1)),
        report.benchmark_entry("rnn", "NumPy float32 / float64 characters per second",
                               rates["NumPy RNN float32"] / rates["NumPy RNN float64"], "x",
                               goal=(">", 1.0)),
    ]
    return report.print_benchmarks(entries, as_json=args.json)


if __name__ == "__main__":
    sys.exit(main())
