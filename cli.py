"""voice2series command line; see ``python cli.py --help``."""

import sys

from voice2series.cli import main

if __name__ == "__main__":
    sys.exit(main())
