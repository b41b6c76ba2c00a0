"""Every ```python example in python/README.md (and the README's) runs as written, each in a
fresh interpreter from an empty folder."""
import pathlib
import re
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
DOCS = [REPO / "python" / "README.md", REPO / "README.md"]


def examples():
    for doc in DOCS:
        text = doc.read_text()
        for i, block in enumerate(re.findall(r"```python\n(.*?)```", text, flags=re.S)):
            yield pytest.param(block, id=f"{doc.relative_to(REPO)}#{i + 1}")


@pytest.mark.parametrize("code", list(examples()))
def test_example_runs(code, tmp_path):
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, f"--- code\n{code}\n--- stdout\n{r.stdout}\n--- stderr\n{r.stderr}"
