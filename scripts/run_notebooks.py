#!/usr/bin/env python3
"""Executes Jupyter notebooks top to bottom with nbclient (Debian python3-nbclient).

    run_notebooks.py [--in-place | --output-dir DIR] NOTEBOOK...

--in-place    store each notebook with its fresh outputs (`make notebooks`), and its last plot
              as notebooks/figures/<name>.png (the README's Tutorials table shows them); a
              notebook that fails is left as it was
--output-dir  write the executed copies there and leave the originals alone (the tests)

Each notebook runs with its own folder as the working directory, in a kernel that inherits this
process's environment (so PYTHONPATH finds the qgrad package). Any error in any cell fails the
run: the exit status is the number of notebooks that failed.
"""
import argparse
import base64
import os
import pathlib
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def last_plot(nb):
    """The PNG bytes of the notebook's last image output, or None."""
    png = None
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data:
                png = base64.b64decode(data["image/png"])
    return png


def write_atomically(path, data):
    tmp = path.with_name(path.name + ".tmp")  # written whole, then renamed: never half a file
    tmp.write_bytes(data)
    tmp.replace(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--in-place", action="store_true")
    where.add_argument("--output-dir", type=pathlib.Path)
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    parser.add_argument("notebooks", nargs="+", type=pathlib.Path)
    args = parser.parse_args()
    # The kernel inherits this environment: plots go inline (a MPLBACKEND=Agg from outside would
    # swallow them), and ipykernel's debugger stays quiet about frozen modules.
    os.environ.pop("MPLBACKEND", None)
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"

    failed = 0
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent.resolve())}})
        start = time.monotonic()
        try:
            client.execute()
            status = "ok"
        except CellExecutionError as e:
            failed += 1
            status = f"FAILED\n{e}"
        if args.in_place and status != "ok":
            print(f"{path.name}: {status}", flush=True)
            continue
        out = path if args.in_place else args.output_dir / path.name
        out.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(out, nbformat.writes(nb).encode() + b"\n")
        png = last_plot(nb)
        if args.in_place and png is not None:
            figures = path.parent / "figures"
            figures.mkdir(exist_ok=True)
            write_atomically(figures / (path.stem + ".png"), png)
        print(f"{path.name}: {status} ({time.monotonic() - start:.0f} s)", flush=True)
    return failed


if __name__ == "__main__":
    sys.exit(main())
