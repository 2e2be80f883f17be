"""``python -m bench --quick`` as ``make bench`` runs it, at smoke sizes: every row, sane figures.

No timing is asserted (the quick mode measures nothing worth a bar); what must hold is that the
harness drives every scenario through a real gateway process to the end: each metric's row is
there, its figures parse and are not zero where zero would mean nothing was measured, no answer
was an error, and the invalid-key flood reached the fake upstream zero times.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
# Each metric's rows, by the start of their label, and how many of them there must be at least.
ROWS = {
    "M1 added latency c=1, images url": 2,
    "M1 `GET /v1/models` c=1": 2,
    "M2 added latency at": 6,
    "M3 `GET /v1/models`": 1,
    "M4 `POST /v1/images/generations` url": 1,
    "M4 chat image, non-stream": 1,
    "M4 chat image, stream": 1,
    "M4b images b64_json": 1,
    "M4b gateway peak RSS": 1,
    "M5 images url": 3,
    "M6 ": 3,
    "M7 `GET /v1/videos/{id}`": 2,
    "M7 gateway CPU": 1,
    "M8 account pick": 1,
    "M9 RSS idle": 1,
    "M9 RSS after the load": 1,
    "M10 invalid-key flood": 1,
    "M10 upstream calls": 1,
}
if shutil.which("redis-server"):  # installed by `make test` (as root); the harness skips M11 without it
    ROWS["M11 lease cycle with slots shared in Redis"] = 1
# Rows where zero is a legitimate gateway figure.
MAY_BE_ZERO = ("M5 ", "M7 gateway CPU", "M10 upstream calls")
NUMBER = re.compile(r"^([\d,]+(?:\.\d+)?) ")


def figure(cell: str) -> float | None:
    """The number at the start of a cell (``4,443 req/s``), None for ``—``."""
    match = NUMBER.match(cell)
    return float(match.group(1).replace(",", "")) if match else None


def test_quick_mode_prints_every_row_with_sane_figures() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "| metric | gateway | reference | ratio | bar | met? |" in out
    assert "- machine: " in out and "CPU " in out and "- gateway: `" in out
    rows = [line.split(" | ") for line in out.splitlines() if line.startswith("| M")]
    for label, count in ROWS.items():
        assert sum(1 for r in rows if r[0].removeprefix("| ").startswith(label)) >= count, label
    for cells in rows:
        metric, gateway, reference = cells[0].removeprefix("| "), figure(cells[1]), cells[2]
        assert gateway is not None, cells
        if not metric.startswith(MAY_BE_ZERO):
            assert gateway > 0, cells
        if "req/s" in reference:
            assert (figure(reference) or 0) > 0, cells
        assert cells[5].rstrip(" |") in ("yes", "—") or cells[5].startswith("no"), cells
    flood = next(r for r in rows if r[0].startswith("| M10 upstream calls"))
    assert figure(flood[1]) == 0, "an invalid key reached the upstream"
    assert "answers were errors" not in out, out
