"""What the admin API's bodies may hold: accounts (one, or an import) and licences (and a rotation).

The parsers (``schemas``, ``licence_schemas``) read their accepted names and per-field types and
bounds from these shapes; ``gateway.openapi`` publishes the same shapes. A licence's ranges and
patterns are the licence rules' (``service/licence_rules.py``, which hold for the CLI and the config
file too): this only reads them.
"""

from __future__ import annotations

from gateway.domain import AccountKind, ProgressMode
from gateway.service import licence_rules as rules
from gateway.service.account_book import MAX_CONCURRENCY, MAX_COUNT, MAX_WEIGHT
from gateway.service.licence_book import MAX_GRACE
from gateway.wire import Array, Either, Field, Flag, Integer, Number, Shape, Text

MAX_LABEL = 64
MAX_SECRET = 8192
GROUP = Text(pattern=r"^[a-z0-9_-]{1,32}$", examples=("ultra", "pro"))
GROUPS = Field(
    "groups",
    Either((Array(Text()), Text())),
    "Account groups: a list of names (a-z, 0-9, _ and -, up to 32) or a comma-separated string.",
)
COUNT = Integer(0, MAX_COUNT)  # a limit (0: none); the account book checks the range

ACCOUNT = Shape(
    "AccountInput",
    "A Flow account (``POST /admin/accounts``; ``PATCH`` changes the fields given). Secrets are "
    "accepted here and never returned.",
    (
        Field(
            "kind",
            Text(enum=tuple(AccountKind)),
            "``rest`` (a session token) or ``worker`` (a browser worker).",
        ),
        Field("session_token", Text(max_length=MAX_SECRET), "A REST account's Flow session token."),
        Field("label", Text(max_length=MAX_LABEL)),
        Field("worker_key", Text(max_length=MAX_SECRET), "A worker account's key."),
        Field("proxy", Text(max_length=MAX_SECRET), "http(s):// or socks5:// proxy URL (empty: none)."),
        Field("tier", Text(max_length=MAX_SECRET), "A declared tier (verified against Flow's)."),
        Field("image_concurrency", Integer(0, MAX_CONCURRENCY)),
        Field("video_concurrency", Integer(0, MAX_CONCURRENCY)),
        Field("rpm", COUNT),
        Field("daily_images", COUNT),
        Field("daily_videos", COUNT),
        GROUPS,
        Field("weight", Number(0, MAX_WEIGHT), "Relative share of the work (greater than 0)."),
        Field("enabled", Flag()),
    ),
    absent_if_null=True,
)
ACCOUNT_IMPORT = Shape(
    "AccountImport",
    "``POST /admin/accounts/import`` (JSON): each entry on top of ``defaults``.",
    (
        Field("accounts", Array(ACCOUNT), required=True),
        Field("defaults", ACCOUNT, "Fields every entry starts from."),
    ),
    absent_if_null=True,
)

_LIMIT = Integer(0, rules.MAX_LIMIT)
LICENCE = Shape(
    "LicenceInput",
    "A licence (``POST /admin/licences``; ``PATCH`` changes the fields given). 0 in a limit is no limit.",
    (
        Field("name", Text(max_length=rules.MAX_NAME), "Required when creating."),
        Field("owner", Text(max_length=rules.MAX_OWNER)),
        Field("notes", Text(max_length=rules.MAX_NOTES)),
        Field("expires_at", Number(0, rules.MAX_EXPIRY), "Unix seconds (0: never)."),
        Field(
            "models",
            Array(Text(pattern=rules.MODEL_PATTERN, examples=("veo_3_1*",)), max_items=rules.MAX_PATTERNS),
            "Allowed models: fnmatch patterns over public names and variants (empty: all).",
        ),
        Field("groups", Array(GROUP), "Account groups the licence may use (empty: all)."),
        Field("default_group", Text(), "One of ``groups``."),
        *(Field(name, _LIMIT) for name in rules.LIMITS),
        Field("progress", Text(enum=("", *ProgressMode)), "A chat stream's progress lines (empty: default)."),
        Field("webhook_url", Text(max_length=rules.MAX_URL), "Where its tasks are reported (empty: none)."),
        Field("priority", Integer(*rules.PRIORITY_RANGE), "Who waits less when the pool is busy."),
        Field("enabled", Flag()),
    ),
    examples=({"name": "team-a", "models": ["veo_3_1*", "nano_banana*"], "daily_credits": 500, "rpm": 60},),
    absent_if_null=True,
)
ROTATION = Shape(
    "LicenceRotation",
    "``POST /admin/licences/{licence_id}/rotate`` (an empty body takes the defaults).",
    (
        Field(
            "grace_seconds",
            Number(0, MAX_GRACE),
            "How long the old key keeps working (null or absent: the configured grace).",
            nullable=True,
        ),
        Field("webhook_secret", Flag(), "Also issue a new webhook signing secret."),
    ),
)
