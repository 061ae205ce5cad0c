"""afsearch: search for neural-network activation functions."""

__version__ = "0.1.0"
