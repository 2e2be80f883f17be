"""Flow gateway: an OpenAI-compatible service in front of a pool of Google Flow accounts."""

__version__ = "0.1.0"
