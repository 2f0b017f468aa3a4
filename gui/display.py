"""Whether the window can start on this machine, decided before Qt starts.

Qt ends the process with an abort (exit 134) when it finds no display, or when its xcb platform
plugin cannot load because a system library is missing, and its message names neither the cause nor
the fix. These checks run first and say both in one line. They import no Qt, so they also work where
the ``gui`` extra is not installed.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
from collections.abc import Mapping

INSTALL = "pip install rnn-suite[gui]"
HEADLESS = "use --task NAME for a headless run"
#: Qt platforms that draw through a display server; offscreen, minimal, vnc, eglfs, ... need none
SERVER_PLATFORMS = ("xcb", "wayland", "wayland-egl")

#: the libraries Qt's xcb plugin loads (libqxcb.so and libQt6XcbQpa.so.6, read with ldd), with the
#: Debian/Ubuntu package of each; a desktop has them, a server or a container image often lacks the
#: first three
XCB_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
}


def missing_packages() -> list[str]:
    """The window's Python packages that are not installed (find_spec: nothing is imported)."""
    return [name for name in ("PySide6", "pyqtgraph") if importlib.util.find_spec(name) is None]


def missing_xcb_libraries() -> list[str]:
    """The sonames of XCB_LIBRARIES the dynamic linker cannot load, as Qt would load them."""
    missing = []
    for soname in XCB_LIBRARIES:
        try:
            ctypes.CDLL(soname)
        except OSError:
            missing.append(soname)
    return missing


def requested_platforms(environ: Mapping[str, str]) -> list[str]:
    """QT_QPA_PLATFORM as Qt reads it: a ;-separated list of fallbacks, each NAME[:options]."""
    return [p.split(":")[0].strip() for p in environ.get("QT_QPA_PLATFORM", "").split(";") if p.strip()]


def window_problem(environ: Mapping[str, str] | None = None, platform: str | None = None) -> str | None:
    """Why the window cannot start here, as one line; None when nothing stands in its way."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    missing = missing_packages()
    if missing:
        return (f"the desktop application needs {' and '.join(missing)}, which the headless install leaves "
                f"out: {INSTALL}; or {HEADLESS}")
    if platform in ("win32", "darwin"):  # their window systems need no display variable
        return None
    requested = requested_platforms(environ)
    if any(name not in SERVER_PLATFORMS for name in requested):
        return None  # a platform without a display server (offscreen, vnc, ...) was asked for
    if not environ.get("DISPLAY") and not environ.get("WAYLAND_DISPLAY"):
        return ("the desktop application needs a display, and none is set (no DISPLAY or WAYLAND_DISPLAY); "
                f"set QT_QPA_PLATFORM=offscreen to run it without one, or {HEADLESS}")
    uses_xcb = requested == ["xcb"] or (not requested and environ.get("DISPLAY")
                                        and not environ.get("WAYLAND_DISPLAY"))
    if uses_xcb and platform.startswith("linux"):
        libraries = missing_xcb_libraries()
        if libraries:
            packages = " ".join(XCB_LIBRARIES[name] for name in libraries)
            return (f"the desktop application cannot start: Qt's xcb platform plugin needs system libraries "
                    f"that are missing: {', '.join(libraries)} (on Debian or Ubuntu: sudo apt-get install "
                    f"{packages}); or set QT_QPA_PLATFORM=offscreen, or {HEADLESS}")
    return None
