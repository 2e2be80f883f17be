"""Benchmarks (``make bench``): measured here, never asserted as wall-clock times in tests."""
