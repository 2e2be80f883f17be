"""reCAPTCHA token providers: a Protocol, and adapters for solver services.

Providers implement ``gateway.upstream.flow.transport.TokenSource`` structurally (this package does
not import ``upstream``; the composition root wires them together) and raise
``gateway.domain.CaptchaFailedError`` when no token can be had.
"""
