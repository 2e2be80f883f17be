"""``python -m gateway usage``: the admin report from a shell, summed or record by record, JSON lines
or CSV, read from the store."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson
import pytest

from gateway.__main__ import main
from gateway.domain import UsageOutcome, UsageRecord
from gateway.store.sqlite import open_sqlite_store


@pytest.fixture
def config(tmp_path: Path) -> Path:
    now = time.time()
    day = time.strftime("%Y-%m-%d", time.gmtime(now))
    done = UsageOutcome.SUCCEEDED
    records = [
        UsageRecord("u1", "lic-a", "video", "veo_3_1-fast", now, day, "video_1", 1, 20, 20, done),
        UsageRecord("u2", "lic-b", "image", "nano_banana", now + 1, day, count=2, outcome=done),
    ]

    async def write() -> None:
        async with open_sqlite_store(tmp_path / "s.sqlite3") as store:
            await store.put_usage(records)

    asyncio.run(write())
    path = tmp_path / "gateway.toml"
    path.write_text(f'[store]\nbackend = "sqlite"\npath = "{tmp_path / "s.sqlite3"}"\n')
    return path


def test_sums_as_csv_and_records_as_json_lines(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["usage", "--config", str(config), "--group-by", "licence_id,kind", "--csv"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "licence_id,kind,requests,images,videos,succeeded,failed,credits,reserved",
        "lic-a,video,1,0,1,1,0,20,0",
        "lic-b,image,1,2,0,1,0,0,0",
    ]
    assert main(["usage", "--config", str(config), "--records", "--licence-id", "lic-b"]) == 0
    (row,) = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (row["id"], row["count"], row["outcome"]) == ("u2", 2, "succeeded")


def test_a_bad_parameter_is_named(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["usage", "--config", str(config), "--group-by", "secret"]) == 2
    assert "group_by" in capsys.readouterr().err
