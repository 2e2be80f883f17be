"""Media: client input images (decoding, SSRF-safe fetching), result storage and signed URLs.

Creates no HTTP session of its own at import or per request: the composition root opens the
fetch session (``fetch.create_fetch_session``) and passes it in.
"""
