"""SQLite record of every decision, in ROOT/screenrecord.sqlite (WAL mode)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from screenrecord.errors import StoreError
from screenrecord.models import Kind, Period, Record

FILE_NAME = "screenrecord.sqlite"
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY,
    taken TEXT NOT NULL,          -- local capture time, ISO 8601 with microseconds
    monitor INTEGER NOT NULL,     -- monitor number, from 1
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    x INTEGER NOT NULL DEFAULT 0, -- monitor position on the virtual screen
    y INTEGER NOT NULL DEFAULT 0,
    decision TEXT NOT NULL,       -- new | near | duplicate | error
    score REAL,                   -- best SSIM found, NULL when nothing to compare with
    match TEXT,                   -- archive-relative path of the kept frame it matched
    path TEXT,                    -- archive-relative path written, NULL when nothing was written
    bytes INTEGER,                -- size of the written file
    capture_ms REAL,
    compare_ms REAL,
    write_ms REAL,
    error TEXT                    -- one-line reason when decision = 'error' or the write failed
);
CREATE INDEX IF NOT EXISTS decisions_taken ON decisions (taken);
CREATE INDEX IF NOT EXISTS decisions_path ON decisions (path);
"""


@dataclass(frozen=True, slots=True)
class Tally:
    """Counts of decisions over a period (see `Catalog.tally`)."""

    decisions: int = 0
    written: int = 0
    """Decisions that wrote a file (new, and near unless dropped)."""
    bytes: int = 0
    """Bytes of the files written."""
    new: int = 0
    near: int = 0
    duplicate: int = 0
    errors: int = 0


_COLUMNS = [
    "taken", "monitor", "width", "height", "decision", "score", "match", "path", "bytes",
    "x", "y", "capture_ms", "compare_ms", "write_ms", "error",
]  # fmt: skip
"""The columns a Record is stored in (its `id` is the row's, its `source` is dedup's only)."""


def _period(period: Period | None, first: str = " WHERE ") -> tuple[str, list[str]]:
    """SQL condition and arguments for decisions taken within `period` (nothing when None)."""
    where, args = [], []
    if period is not None and period.since is not None:
        where.append("taken >= ?")
        args.append(_stamp(period.since))
    if period is not None and period.until is not None:
        where.append("taken < ?")
        args.append(_stamp(period.until))
    return (first + " AND ".join(where) if where else ""), args


def _stamp(t: datetime) -> str:
    return t.isoformat(timespec="microseconds")


class Catalog:
    """The decisions table of one archive root."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, root: Path, create: bool = True) -> Catalog:
        path = Path(root) / FILE_NAME
        if not create and not path.exists():
            raise StoreError(f"{path}: no catalog here (has screenrecord run on this archive?)")
        try:
            if create:
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                if not path.exists():
                    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{path}: catalog schema {version} is newer than this screenrecord; upgrade it"
                )
            if version < SCHEMA_VERSION:
                conn.executescript(SCHEMA)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{path}: cannot open catalog ({e})") from e
        return cls(conn, path)

    def record(self, rec: Record) -> int:
        """Store one decision; returns its row id."""
        values = [getattr(rec, c) for c in _COLUMNS]
        values[0] = _stamp(rec.taken)
        values[4] = rec.decision.value
        cur = self.conn.execute(
            f"INSERT INTO decisions ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
            values,
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def rows(self, period: Period | None = None) -> Iterator[Record]:
        """Decisions in capture order, all or those taken within `period`."""
        where, args = _period(period)
        for r in self.conn.execute(
            "SELECT * FROM decisions" + where + " ORDER BY taken, monitor, id", args
        ):
            yield _row(r)

    def find(self, relpath: str) -> Record | None:
        r = self.conn.execute(
            "SELECT * FROM decisions WHERE path = ? ORDER BY id DESC LIMIT 1", (relpath,)
        ).fetchone()
        return _row(r) if r else None

    def at(self, taken: datetime, monitor: int) -> Record | None:
        """The decision for `monitor` taken at `taken`, else the latest one before it."""
        r = self.conn.execute(
            "SELECT * FROM decisions WHERE monitor = ? AND taken <= ? ORDER BY taken DESC, id DESC LIMIT 1",
            (monitor, _stamp(taken)),
        ).fetchone()
        return _row(r) if r else None

    def matched(self, relpath: str) -> tuple[int, Record | None]:
        """How many decisions were answered by the kept frame `relpath`, and the latest of them."""
        n = self.conn.execute(
            "SELECT COUNT(*) FROM decisions WHERE match = ? AND decision = 'duplicate'", (relpath,)
        ).fetchone()[0]
        r = self.conn.execute(
            "SELECT * FROM decisions WHERE match = ? AND decision = 'duplicate' ORDER BY taken DESC, id DESC LIMIT 1",
            (relpath,),
        ).fetchone()
        return int(n), (_row(r) if r else None)

    def repeats(self, period: Period | None = None) -> dict[str, float]:
        """For each kept frame that skipped frames of `period` matched: their best score."""
        where, args = _period(period, first=" AND ")
        sql = (
            "SELECT match, MAX(score) FROM decisions"
            " WHERE decision = 'duplicate' AND match IS NOT NULL" + where
        )
        return {
            m: float(s)
            for m, s in self.conn.execute(sql + " GROUP BY match", args)
            if s is not None
        }

    def latest_taken(self) -> datetime | None:
        """Capture time of the newest recorded decision, None for an empty catalog."""
        r = self.conn.execute("SELECT MAX(taken) FROM decisions").fetchone()
        return datetime.fromisoformat(r[0]) if r and r[0] else None

    def latest(self, recent: int = 64) -> list[Record]:
        """The newest decision of each monitor seen among the `recent` newest rows, by monitor.

        Reading only the newest rows (through the `taken` index) keeps this instant on a catalog
        of months, and leaves out monitors unplugged long ago.
        """
        newest: dict[int, Record] = {}
        for r in self.conn.execute(
            "SELECT * FROM decisions ORDER BY taken DESC, id DESC LIMIT ?", (recent,)
        ):
            newest.setdefault(r["monitor"], _row(r))
        return [newest[m] for m in sorted(newest)]

    def tally(self, since: datetime | None = None) -> Tally:
        """How many decisions of each kind since `since` (all time when None), and bytes written."""
        sql = (
            "SELECT COUNT(*) AS decisions,"
            " COUNT(path) AS written,"
            " COALESCE(SUM(CASE WHEN path IS NOT NULL THEN bytes END), 0) AS bytes,"
            " SUM(decision = 'new') AS new,"
            " SUM(decision = 'near') AS near,"
            " SUM(decision = 'duplicate') AS duplicate,"
            " SUM(decision = 'error' OR error IS NOT NULL) AS errors"
            " FROM decisions"
        )
        where, args = _period(Period(since))
        r = self.conn.execute(sql + where, args).fetchone()
        return Tally(**{k: int(v or 0) for k, v in dict(r).items()})

    def written(self) -> tuple[int, int]:
        """How many files the catalog says were written, all time, and their bytes.

        Reads the `path` index rather than every decision (a year of catalog in ~30 ms).
        """
        n, total = self.conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM decisions WHERE path IS NOT NULL"
        ).fetchone()
        return int(n), int(total)

    def last_error(self, since: datetime | None = None) -> Record | None:
        """The newest decision that carries an error message, optionally not before `since`."""
        where, args = _period(Period(since), first=" AND ")
        sql = "SELECT * FROM decisions WHERE (error IS NOT NULL OR decision = 'error')" + where
        r = self.conn.execute(sql + " ORDER BY taken DESC, id DESC LIMIT 1", args).fetchone()
        return _row(r) if r else None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _row(r: sqlite3.Row) -> Record:
    d = dict(r)
    d["taken"] = datetime.fromisoformat(d["taken"])
    d["decision"] = Kind(d["decision"])
    return Record(**d)
