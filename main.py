"""Entry point: ``python main.py --task NAME [options]`` runs headless; see ``--help``."""

import sys

from suite.cli import main

if __name__ == "__main__":
    sys.exit(main())
