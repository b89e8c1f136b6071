"""``python -m voice2series``: the same command line as ``cli.py``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
