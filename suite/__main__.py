"""``python -m suite ARGS``: the headless command line, as ``main.py --task`` (what the window runs)."""

import sys

from .cli import main

sys.exit(main())
