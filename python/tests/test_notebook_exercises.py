"""The notebooks' exercise checks (notebooks/exercises/nbNN.py): each accepts the instructors'
solution (notebooks/solutions/nbNN.py), rejects every wrong answer listed there in WRONG, and
says "not attempted" for the placeholder (a function raising NotImplementedError)."""
import importlib
import pathlib
import sys

import pytest

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[2] / "notebooks"
sys.path.insert(0, str(NOTEBOOKS))

from exercises import NOT_ATTEMPTED, RIGHT, WRONG  # noqa: E402

MODULES = sorted(p.stem for p in (NOTEBOOKS / "exercises").glob("nb*.py"))
CASES = []
for module in MODULES:
    checks = importlib.import_module(f"exercises.{module}")
    for name in dir(checks):
        if name.startswith("check_"):
            CASES.append((module, name[len("check_"):]))


def placeholder(*args, **kwargs):
    raise NotImplementedError


@pytest.mark.skipif(not CASES, reason="no notebook exercises yet")
@pytest.mark.parametrize("module,exercise", CASES)
def test_exercise_check(module, exercise):
    check = getattr(importlib.import_module(f"exercises.{module}"), f"check_{exercise}")
    solutions = importlib.import_module(f"solutions.{module}")
    assert check(getattr(solutions, exercise)) == RIGHT
    wrong = solutions.WRONG.get(exercise, [])
    assert wrong, f"solutions.{module}.WRONG lists no wrong answer for {exercise}"
    for answer in wrong:
        assert check(answer) == WRONG
    assert check(placeholder) == NOT_ATTEMPTED
