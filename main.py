"""Entry point. No arguments: the desktop application. ``--task NAME [options]``: a headless run.

See ``python main.py --help``.
"""

import sys


def main() -> int:
    if len(sys.argv) == 1:
        try:
            from gui.app import run_app
        except ImportError as exc:  # e.g. PySide6 missing on a headless server install
            print(f"error: the desktop application cannot start ({exc}); use --task NAME for a headless run, "
                  "or --help", file=sys.stderr)
            return 2
        return run_app()
    from suite.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C while the libraries are still loading
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
