"""The operator console: a browser UI at ``/console`` over the admin API (no state of its own).

``sessions`` (signed-in browsers) and ``throttle`` (wrong admin keys per address) are plain
Python; ``guard`` joins them to HTTP for the admin middleware; ``assets`` serves the hand-written
static files; ``handlers`` signs in and out. Every page calls ``/admin/...`` (and the playground the
public API), so nothing here decides anything the admin API does not.
"""
