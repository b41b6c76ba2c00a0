#!/usr/bin/env python3
"""Executes Jupyter notebooks top to bottom with nbclient (Debian python3-nbclient).

    run_notebooks.py [--in-place | --output-dir DIR] NOTEBOOK...

--in-place    store each notebook with its fresh outputs (`make notebooks`)
--output-dir  write the executed copies there and leave the originals alone (the tests)

Each notebook runs with its own folder as the working directory, in a kernel that inherits this
process's environment (so PYTHONPATH finds the qgrad package). Any error in any cell fails the
run: the exit status is the number of notebooks that failed.
"""
import argparse
import pathlib
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--in-place", action="store_true")
    where.add_argument("--output-dir", type=pathlib.Path)
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    parser.add_argument("notebooks", nargs="+", type=pathlib.Path)
    args = parser.parse_args()

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
        out = path if args.in_place else args.output_dir / path.name
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".ipynb.tmp")  # written whole, then renamed: never half a notebook
        nbformat.write(nb, tmp)
        tmp.replace(out)
        print(f"{path.name}: {status} ({time.monotonic() - start:.0f} s)", flush=True)
    return failed


if __name__ == "__main__":
    sys.exit(main())
