"""Usage records in both backends: upserts, filters and paging, sums per group (SQL and Python give
the same answer), and the reserved records read at every start."""

from __future__ import annotations

import pytest

from gateway.domain import UsageOutcome, UsageRecord
from gateway.store.base import Store, UsageQuery, UsageTotal

DAY1, DAY2 = 1_764_547_200.0, 1_764_633_600.0  # 2025-12-01 and 2025-12-02, 00:00 UTC


def usage(record_id: str, at: float, **fields: object) -> UsageRecord:
    values: dict[str, object] = {
        "licence_id": "lic-a",
        "kind": "image",
        "model": "nano_banana",
        "day": "2025-12-01" if at < DAY2 else "2025-12-02",
        **fields,
    }
    return UsageRecord(id=record_id, created_at=at, **values)  # type: ignore[arg-type]


RECORDS = [
    usage("u1", DAY1 + 1, count=2, outcome=UsageOutcome.SUCCEEDED, account_id="acc-1"),
    usage("u2", DAY1 + 2, outcome=UsageOutcome.FAILED, error_code="upstream_error", account_id="acc-2"),
    usage(
        "u3",
        DAY1 + 3,
        kind="video",
        model="veo_3_1-fast",
        credits_reserved=20,
        credits_settled=20,
        outcome=UsageOutcome.SUCCEEDED,
        account_id="acc-1",
    ),
    usage("u4", DAY2 + 1, licence_id="lic-b", kind="video", model="veo_3_1", credits_reserved=100),
    usage("u5", DAY2 + 2, outcome=UsageOutcome.CANCELLED, error_code="not_started"),
]


async def test_records_are_upserted_and_listed_oldest_first_with_paging(store: Store) -> None:
    await store.put_usage(RECORDS)
    settled = usage("u4", DAY2 + 1, licence_id="lic-b", kind="video", model="veo_3_1", credits_reserved=100)
    await store.put_usage([settled])
    listed = await store.list_usage(UsageQuery())
    assert [r.id for r in listed] == ["u1", "u2", "u3", "u4", "u5"]
    assert listed[0] == RECORDS[0]  # the document round-trips whole
    first = await store.list_usage(UsageQuery(limit=2))
    rest = await store.list_usage(UsageQuery(after=first[-1].id, limit=10))
    assert [r.id for r in first + rest] == ["u1", "u2", "u3", "u4", "u5"]


async def test_filters_window_licence_model_account_kind_and_outcome(store: Store) -> None:
    await store.put_usage(RECORDS)

    async def ids(**query: object) -> list[str]:
        return [r.id for r in await store.list_usage(UsageQuery(**query))]  # type: ignore[arg-type]

    assert await ids(since=DAY2) == ["u4", "u5"]
    assert await ids(until=DAY2) == ["u1", "u2", "u3"]
    assert await ids(licence_id="lic-b") == ["u4"]
    assert await ids(model="veo_3_1-fast") == ["u3"]
    assert await ids(account_id="acc-1") == ["u1", "u3"]
    assert await ids(kind="video") == ["u3", "u4"]
    assert await ids(outcome="reserved") == ["u4"]


async def test_totals_per_group(store: Store) -> None:
    await store.put_usage(RECORDS)
    by_licence = await store.usage_totals(UsageQuery(), ("licence_id",))
    assert by_licence == [
        UsageTotal(("lic-a",), requests=4, images=2, videos=1, succeeded=2, failed=2, credits=20),
        UsageTotal(("lic-b",), requests=1, reserved=100),
    ]
    by_day_kind = await store.usage_totals(UsageQuery(licence_id="lic-a"), ("day", "kind"))
    assert [(t.key, t.requests) for t in by_day_kind] == [
        (("2025-12-01", "image"), 2),
        (("2025-12-01", "video"), 1),
        (("2025-12-02", "image"), 1),
    ]
    everything = await store.usage_totals(UsageQuery(), ())
    assert everything == [
        UsageTotal((), requests=5, images=2, videos=1, succeeded=2, failed=2, credits=20, reserved=100)
    ]


async def test_no_records_sum_to_nothing_and_unknown_groups_are_refused(store: Store) -> None:
    assert await store.usage_totals(UsageQuery(), ()) == []
    assert await store.usage_totals(UsageQuery(), ("model",)) == []
    with pytest.raises(ValueError, match="cannot group"):
        await store.usage_totals(UsageQuery(), ("doc",))
