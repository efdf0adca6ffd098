"""omplan's version, in the core so every layer may name it."""

__version__ = "0.1.0"
