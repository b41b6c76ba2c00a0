"""Checks for 08_choosing_a_scheme.ipynb."""
from . import RIGHT, WRONG, run_answer, verdict

# (name, accuracy %, file bytes)
TABLES = [
    ([("w8 pc", 61.2, 300_000), ("w8 pt", 60.8, 299_000), ("w4 pc", 60.4, 160_000), ("w4 pt", 55.0, 159_000),
      ("w2 pc", 40.0, 90_000)], 1.0, "w4 pc"),
    ([("a", 70.0, 500), ("b", 69.0, 400), ("c", 68.99, 300)], 1.0, "b"),            # exactly 1 point below: in
    ([("a", 70.0, 500), ("b", 69.5, 500), ("c", 50.0, 100)], 1.0, "a"),             # size tie: the more accurate
    ([("big", 80.0, 900), ("mid", 79.0, 600), ("small", 77.5, 300)], 2.5, "small"),  # another tolerance
    ([("only", 42.0, 1234)], 1.0, "only"),
]


def check_smallest_within(fn):
    for rows, tol, want in TABLES:
        got, failed = run_answer(fn, [dict(name=n, accuracy=a, bytes=b) for n, a, b in rows], tol)
        if failed:
            return failed
        if got != want:
            best = max(a for _, a, _ in rows)
            return verdict(WRONG, f"with best accuracy {best}% and tolerance {tol} point(s) you picked {got!r}: "
                                  "check which rows qualify (accuracy >= best - tolerance) and how you break size ties")
    return verdict(RIGHT, f"the right model on all {len(TABLES)} tables")
