"""Command-line subcommands beyond ``serve`` and ``demo`` (``python -m gateway --help``)."""
