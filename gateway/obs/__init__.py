"""Observability leaves: structured logging with secret redaction, Prometheus metrics, the access log.

Imports nothing from the gateway, so every layer (and the simulator) may use it.
"""
