"""The README's first command, measured: ``python cli.py run GunPoint`` (seed 0, defaults).

Usage: python benchmarks/readme_run.py [--dataset GunPoint]
Writes benchmarks/results/readme_run_<dataset>.json (accuracy, fit seconds,
machine and date) and prints it; README.md quotes it through
benchmarks/readme_tables.py.
"""

import argparse
import json
from pathlib import Path

from machine import describe

from voice2series.cli import run
from voice2series.datasets import load_ucr

RESULTS = Path(__file__).resolve().parent / "results"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="GunPoint")
    args = parser.parse_args()
    machine = describe()
    result = run(*load_ucr(args.dataset, "train"), *load_ucr(args.dataset, "test"), seed=0, name=args.dataset)
    record = {**machine, "command": f"python cli.py run {args.dataset}", **result}
    out = RESULTS / f"readme_run_{args.dataset}.json"
    out.write_text(json.dumps(record, indent=2, default=str) + "\n")
    print(json.dumps(record, indent=2, default=str))


if __name__ == "__main__":
    main()
