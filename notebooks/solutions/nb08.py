"""Instructors' solutions for 08_choosing_a_scheme.ipynb."""


def smallest_within(results, tolerance=1.0):
    best = max(r["accuracy"] for r in results)
    ok = [r for r in results if r["accuracy"] >= best - tolerance - 1e-9]
    return min(ok, key=lambda r: (r["bytes"], -r["accuracy"]))["name"]


def _smallest_overall(results, tolerance=1.0):  # ignores the accuracy constraint
    return min(results, key=lambda r: r["bytes"])["name"]


def _strict(results, tolerance=1.0):  # excludes a model exactly `tolerance` below the best
    best = max(r["accuracy"] for r in results)
    ok = [r for r in results if r["accuracy"] > best - tolerance + 1e-9]
    return min(ok, key=lambda r: (r["bytes"], -r["accuracy"]))["name"]


def _most_accurate(results, tolerance=1.0):
    return max(results, key=lambda r: r["accuracy"])["name"]


WRONG = {"smallest_within": [_smallest_overall, _strict, _most_accurate]}
