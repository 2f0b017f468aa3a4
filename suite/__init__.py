"""The engine of the RNN suite: backbones, configs, the task contract, training and runs.

Knows no Qt and no particular task; tasks and the GUI build on it.
"""

__version__ = "0.1.0"
