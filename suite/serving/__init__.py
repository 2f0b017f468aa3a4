"""The HTTP server over a trained run (``main.py --checkpoint RUN --serve``).

``textonly`` (the guard that keeps a request from reading files) needs only the standard library, so the
Task contract can use it; ``batcher`` and ``app`` need the ``serve`` extra (FastAPI, uvicorn), and are
imported by :mod:`suite.serve` only when a server starts.
"""
