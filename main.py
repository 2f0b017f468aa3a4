"""Entry point. No arguments: the desktop application. ``--task NAME [options]``: a headless run.

See ``python main.py --help``.
"""

import sys


def main() -> int:
    if len(sys.argv) == 1:
        return open_window()
    from suite.cli import main as cli_main

    return cli_main()


def open_window() -> int:
    # Checked before Qt starts: without a display, or with a system library of its xcb plugin missing, Qt
    # aborts the process (exit 134) with advice that names neither the cause nor the fix.
    from gui.display import window_problem

    problem = window_problem()
    if problem is None:
        try:
            from gui.app import run_app
            from PySide6 import QtWidgets  # noqa: F401  (a broken install fails here, not inside the window)
        except ImportError as exc:  # e.g. a Qt library that does not load
            problem = f"the desktop application cannot start ({exc}); use --task NAME for a headless run"
    if problem is not None:
        from suite.cli import print_help

        print(f"error: {problem}", file=sys.stderr)
        print(file=sys.stderr)
        print_help(sys.stderr)
        return 2
    return run_app()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C while the libraries are still loading
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
