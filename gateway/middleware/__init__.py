"""HTTP middlewares, one concern each. Order in the app, outermost first:

1. ``request_context`` — request id in/out, timing headers, log context;
2. ``metrics`` — request counts, latency and in-flight by route template;
3. ``errors`` — the only place errors become OpenAI JSON;
4. ``licence`` — who is calling (401 otherwise), licence-exempt paths pass.
"""
