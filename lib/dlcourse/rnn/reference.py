"""Recorded full runs of lesson 04, printed beside quick mode's numbers where quick mode is
too short to settle a question.

Only numbers that a full run of the lesson printed, as its session's closing note recorded
them, each with the commit it ran, the date and the hardware. Names are those the lesson
records with ``report.record``.
"""

SHARED_CPU = "the course's shared 2-core CPU, no GPU"

FULL_RUNS = (
    {"commit": "b73c711", "date": "2026-11-30", "hardware": SHARED_CPU,
     "results": {"Keras SimpleRNN held-out bpc": 2.267, "Keras LSTM held-out bpc": 2.143,
                 "lesson time up to the headline results": 18.3}},
    {"commit": "9bd4218", "date": "2026-11-29", "hardware": SHARED_CPU,
     "results": {"numpy Arch 1 held-out bpc": 2.597, "sum minus concat bpc": -0.104}},
)


def full_run(name: str) -> tuple[float, str]:
    """(value, "full run of commit …, date, hardware") of the latest recorded full run
    that measured ``name``; KeyError naming the recorded names when none did."""
    for run in FULL_RUNS:
        if name in run["results"]:
            return run["results"][name], (f"full run of commit {run['commit']}, "
                                          f"{run['date']}, {run['hardware']}")
    known = sorted({key for run in FULL_RUNS for key in run["results"]})
    raise KeyError(f"no recorded full run measured {name!r}; recorded: {known}")
