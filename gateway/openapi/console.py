"""The operator console's own routes (``/console``: a page, its files, signing in and out, media
previews) and the admin API's worker enrolments. The console is a browser page; these operations
are what it calls besides ``/admin``."""

from __future__ import annotations

from aiohttp.typedefs import Handler

from gateway.admin import enrolments
from gateway.console import handlers
from gateway.console.guard import COOKIE
from gateway.middleware.admin import CSRF_HEADER
from gateway.openapi.admin_objects import ENROLMENT, ENROLMENT_LIST, ISSUED_ENROLMENT
from gateway.openapi.objects import FLAG, NUMBER, STRING, const, req
from gateway.openapi.spec import Auth, Operation, Reply, header, ok
from gateway.wire import Field, Shape, Text

TAG = "Console"
SIGN_IN = Shape(
    "ConsoleSignIn",
    "The admin key, exchanged for a session cookie (JSON only: a cross-site form cannot send JSON).",
    (Field("key", Text(min_length=1), "The admin key.", required=True),),
)
SESSION = Shape(
    "ConsoleSession",
    f"Whether this browser is signed in; then the session's CSRF token (send it in ``{CSRF_HEADER}`` "
    "with every change) and its expiry.",
    (
        const("object", "console.session"),
        req("signed_in", FLAG),
        Field("csrf_token", STRING),
        Field("csrf_header", STRING),
        Field("expires_at", NUMBER),
    ),
)
ENROLMENT_REQUEST = Shape(
    "WorkerEnrolmentRequest",
    "A browser worker to enrol: its name (its token is shown once, in the answer).",
    (Field("name", Text(), required=True),),
)
REDIRECT = "A redirect (``Location``)."
ASSETS = tuple((media, None) for media in ("text/html", "text/css", "text/javascript", "image/svg+xml"))
OPERATIONS: dict[Handler, Operation] = {
    handlers.to_page: Operation("The console (to its page)", TAG, (Reply(302, REDIRECT),), auth=Auth.NONE),
    handlers.page: Operation(
        "The console's page", TAG, (Reply(200, "The single page.", (("text/html", None),)),), auth=Auth.NONE
    ),
    handlers.static_file: Operation(
        "A file of the console",
        TAG,
        (Reply(200, "The file (cached a year when current).", ASSETS),),
        auth=Auth.NONE,
    ),
    handlers.session_status: Operation(
        "Whether this browser is signed in", TAG, (ok(SESSION),), auth=Auth.NONE
    ),
    handlers.sign_in: Operation(
        "Sign in to the console",
        TAG,
        (ok(SESSION, f"Signed in: the ``{COOKIE}`` session cookie is set.", status=201),),
        body=SIGN_IN,
        body_required=True,
        auth=Auth.NONE,
        description="Wrong admin keys from one address are throttled (429 with Retry-After).",
    ),
    handlers.sign_out: Operation(
        "Sign out of the console",
        TAG,
        (Reply(204, "Signed out; the cookie is cleared."),),
        params=(header(CSRF_HEADER, "The session's CSRF token."),),
        auth=Auth.CONSOLE,
    ),
    handlers.media_preview: Operation(
        "Preview a stored result (to its signed URL)", TAG, (Reply(302, REDIRECT),), auth=Auth.CONSOLE
    ),
    enrolments.list_enrolments: Operation(
        "Worker enrolments", "Admin: accounts", (ok(ENROLMENT_LIST),), auth=Auth.ADMIN
    ),
    enrolments.create_enrolment: Operation(
        "Enrol a browser worker",
        "Admin: accounts",
        (ok(ISSUED_ENROLMENT, "The enrolment and its token (shown once).", status=201),),
        body=ENROLMENT_REQUEST,
        body_required=True,
        auth=Auth.ADMIN,
    ),
    enrolments.revoke_enrolment: Operation(
        "Revoke a worker enrolment", "Admin: accounts", (ok(ENROLMENT),), auth=Auth.ADMIN
    ),
}
