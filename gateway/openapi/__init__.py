"""The OpenAPI 3.1 document of every route (both dialects and the admin API), generated from the
live router and from the same shapes the request parsers read (``gateway.wire``), served at
``/openapi.json``."""
