"""What a licence allows, as pure functions: models (fnmatch patterns), account groups, and the UTC
day and month its budgets are counted in.

A licence's ``models`` are patterns over public names: the canonical name with its variant
(``veo_3_1-landscape-fast``) and the bare model id (``veo_3_1``); either matching admits. Its
``groups`` bound the account groups a request may name (``x-flow-account-group`` or
``MODEL|[group]``); a request naming none uses the licence's ``default_group``, else any of its
groups. Empty lists allow everything. Counting and refusing for limits is ``counters.py``'s.
"""

from __future__ import annotations

import calendar
import time
from fnmatch import fnmatchcase

from gateway.domain import GenerationSpec, LicenceDefinition
from gateway.errors import PermissionDeniedError


def check_model(licence: LicenceDefinition, spec: GenerationSpec) -> None:
    """Raise 403 ``model_not_allowed`` unless one of the licence's patterns matches the spec."""
    if not licence.models:
        return
    names = (spec.name.lower(), spec.model.lower())
    if any(fnmatchcase(name, pattern.lower()) for pattern in licence.models for name in names):
        return
    raise PermissionDeniedError(
        f"The model '{spec.name}' is not allowed for this licence.", param="model", code="model_not_allowed"
    )


def groups_for(licence: LicenceDefinition, spec: GenerationSpec) -> tuple[str, ...]:
    """The account groups the request may lease from; 403 ``group_not_allowed`` when it names one
    the licence does not have."""
    named = spec.groups
    if named:
        outside = sorted(set(named) - set(licence.groups)) if licence.groups else []
        if outside:
            raise PermissionDeniedError(
                f"This licence may not use the account group(s) {', '.join(outside)}.",
                param="model",
                code="group_not_allowed",
            )
        return named
    if licence.default_group:
        return (licence.default_group,)
    return licence.groups


def day_of(at: float) -> str:
    """The UTC date of ``at``: ``YYYY-MM-DD`` (daily caps and budgets reset at 00:00 UTC)."""
    return time.strftime("%Y-%m-%d", time.gmtime(at))


def month_of(at: float) -> str:
    """The UTC month of ``at``: ``YYYY-MM``."""
    return time.strftime("%Y-%m", time.gmtime(at))


def month_start(at: float) -> float:
    """The first instant of ``at``'s UTC month."""
    moment = time.gmtime(at)
    return float(calendar.timegm((moment.tm_year, moment.tm_mon, 1, 0, 0, 0)))


def next_day(at: float) -> float:
    """The next 00:00 UTC after ``at``."""
    moment = time.gmtime(at)
    return float(calendar.timegm((moment.tm_year, moment.tm_mon, moment.tm_mday, 0, 0, 0))) + 86400
