"""The reliability scenarios of ``benchmarks.md``, as deterministic tests against the simulator.

One module per theme; ``test_pending_*`` modules hold the scenarios the gateway does not pass yet.
Scenario 10 (head-of-line blocking by a 1.3 MB b64 body) is a benchmark, not a test.
"""
