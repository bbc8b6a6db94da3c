"""Drift list free text: the store's query before and after the trigram index, in-process.

    .venv/bin/python bench/search_bench.py --db /tmp/dwb/driftwatch.db   # web_bench's database

On the database `bench/web_bench.py --workdir DIR` builds (300,000 drift records, 20,000
open), times one page of `drift_page(q=…)` for several texts and statuses: the query of
main before this change (`instr(lower(resource_id), …)` over the ordered scan) and the
current one (the index for the rarest trigrams, or the budgeted scan and then the index
for the phrase when every trigram is common), interleaved in the same process so
load hits both alike; the best of N runs of each, and the ratio new / old. "cold" is the
new query with no trigram counts kept (a text searched for the first time), "new" with
them kept from the run before (paging on, or searching again within five minutes).
"""

from __future__ import annotations

import argparse
import sqlite3
import time
from pathlib import Path

from driftwatch.store import read
from driftwatch.store.read import DriftQuery, drift_page

TEXTS = ("res-00123", "res", "0012345", "es-001234", "no-such-id", "res-0019", "00123")
STATUSES = ("open", "all")


def old_page(conn: sqlite3.Connection, q: DriftQuery) -> int:
    """The drift list's free text before the index: the ordered scan alone."""
    return len(read._drift_page(conn, q).rows)


def new_page(conn: sqlite3.Connection, q: DriftQuery) -> int:
    """The drift list's free text now, trigram counts kept from an earlier search."""
    return len(drift_page(conn, q).rows)


def cold_page(conn: sqlite3.Connection, q: DriftQuery) -> int:
    """The same with no counts kept: the first search of its trigrams."""
    read._COUNTS.clear()
    return len(drift_page(conn, q).rows)


def best_ms(run: object, conn: sqlite3.Connection, q: DriftQuery, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        run(conn, q)  # type: ignore[operator]
        best = min(best, time.perf_counter() - t)
    return best * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    conn = sqlite3.connect(args.db)
    print(
        f"{'status':6} {'q':12} {'rows':>4} {'old ms':>8} {'cold ms':>8} {'new ms':>8}"
        f" {'cold/old':>8} {'new/old':>8}"
    )
    for status in STATUSES:
        for text in TEXTS:
            q = DriftQuery(status=status, q=text)
            rows = new_page(conn, q)
            assert rows == old_page(conn, q), text  # the same page both ways
            old = best_ms(old_page, conn, q, args.repeat if status == "open" else 2)
            cold = best_ms(cold_page, conn, q, args.repeat)
            new = best_ms(new_page, conn, q, args.repeat)
            print(
                f"{status:6} {text:12} {rows:4} {old:8.2f} {cold:8.2f} {new:8.2f}"
                f" {cold / old:8.2f} {new / old:8.2f}"
            )


if __name__ == "__main__":
    main()
