"""The desktop application (PySide6 + pyqtgraph). Uses suite/ only, never a task's internals.

Training runs are child processes of the headless CLI (``--events stdout``); see gui/process.py.
"""
