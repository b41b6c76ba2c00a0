"""Exercise checks, one module per notebook (nb02.py for 02_*.ipynb, ...).

A notebook's exercise cell defines a function (or a value) the student fills in; the hidden cell
after it calls check_<name>(answer), which prints one line and returns what it decided:
    RIGHT          the answer is correct
    WRONG          it is not (the line says what differs, never the solution)
    NOT_ATTEMPTED  the placeholder is still there (a function returning None, or None itself)
A check never raises, so a notebook with unanswered exercises still runs top to bottom.
Instructors' solutions live in notebooks/solutions/; python/tests/test_notebook_exercises.py
checks that every check accepts its solution and rejects the wrong answers listed there.
"""
RIGHT, WRONG, NOT_ATTEMPTED = "right", "wrong", "not attempted"


def verdict(status, message=""):
    line = {RIGHT: "Right!", WRONG: "Not yet:", NOT_ATTEMPTED: "Not attempted yet:"}[status]
    print(f"{line} {message}".rstrip())
    return status


def run_answer(fn, *args):
    """Calls a student's function; (result, None) or (None, verdict) when it is a placeholder
    or raises."""
    try:
        result = fn(*args)
    except NotImplementedError:
        return None, verdict(NOT_ATTEMPTED, "replace the `raise NotImplementedError` with your code")
    except Exception as e:  # the student's code failed: say how, don't stop the notebook
        return None, verdict(WRONG, f"your function raised {type(e).__name__}: {e}")
    if result is None:
        return None, verdict(NOT_ATTEMPTED, "your function returns None")
    return result, None
