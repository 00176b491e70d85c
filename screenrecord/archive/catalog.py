"""SQLite record of every decision, in ROOT/screenrecord.sqlite (WAL mode).

The catalog is derived data: the frames are the user's. A catalog that is damaged (overwritten,
truncated) is set aside, never deleted, and the recorder starts a new one rebuilt from the
archive (see `set_aside`); one written by a newer screenrecord is refused, never touched.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from screenrecord.archive import noreplace
from screenrecord.errors import StoreError
from screenrecord.models import Activity, Box, Kind, Period, Record

FILE_NAME = "screenrecord.sqlite"
SCHEMA_VERSION = 4
"""1: decisions; 2: what each tick saw (the activity columns); 3: the day retention deleted a
frame (`pruned`) and the prune runs; 4: where a frame changed (`regions`); each added in place
to an older catalog."""
DAMAGED = ".corrupt-"
"""A damaged catalog is kept as `screenrecord.sqlite.corrupt-YYYYMMDD-HHMMSS` (its -wal, -shm too)."""
_DAMAGE_CODES = {11, 26}
"""SQLITE_CORRUPT and SQLITE_NOTADB: the file is not (or no longer) a sound database."""


class CatalogDamaged(StoreError):
    """The catalog file is not a sound SQLite database (garbage, truncated, malformed)."""


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
    error TEXT,                   -- one-line reason when decision = 'error' or the write failed
    app TEXT,                     -- the focused window's application, as the tick saw it
    executable TEXT,              -- its executable's file name
    title TEXT,                   -- its title, NULL when excluded or record_titles = false
    focus_monitor INTEGER,        -- the monitor the focused window is on
    idle_s REAL,                  -- seconds since the last keyboard or mouse input
    locked INTEGER,               -- 1 locked, 0 not, NULL not known
    excluded TEXT,                -- the rule that excluded the focused window
    pruned TEXT,                  -- the day retention deleted the file at path, YYYY-MM-DD
    regions TEXT                  -- where it changed against its match, JSON [[x, y, w, h], ...]
);
CREATE INDEX IF NOT EXISTS decisions_taken ON decisions (taken);
CREATE INDEX IF NOT EXISTS decisions_path ON decisions (path);
CREATE TABLE IF NOT EXISTS prunes (
    id INTEGER PRIMARY KEY,
    run TEXT UNIQUE,              -- the prune journal's run id
    finished TEXT NOT NULL,       -- local time the run was done, ISO 8601
    frames INTEGER NOT NULL,      -- files it deleted
    bytes INTEGER NOT NULL        -- their size
);
"""

ACTIVITY_COLUMNS = {
    "app": "TEXT",
    "executable": "TEXT",
    "title": "TEXT",
    "focus_monitor": "INTEGER",
    "idle_s": "REAL",
    "locked": "INTEGER",
    "excluded": "TEXT",
}
"""Columns schema 2 added; a catalog of schema 1 gets them in place (NULL for its old rows)."""
ADDED_COLUMNS = {**ACTIVITY_COLUMNS, "pruned": "TEXT", "regions": "TEXT"}
"""Columns added after schema 1, in the order they were: an older catalog gets them in place."""


@dataclass(frozen=True, slots=True)
class Prune:
    """One `prune` run that deleted files (or found nothing to delete)."""

    finished: datetime
    frames: int
    bytes: int
    run: str | None = None
    """The run's id in the prune journal (a run finished twice is recorded once)."""


@dataclass(frozen=True, slots=True)
class Capture:
    """One decision about one monitor's frame as the archive's readers read it (report, the
    site, retention): a catalog row less its measurements, or a kept file of an archive without
    catalog."""

    taken: datetime
    monitor: int
    decision: str
    """new | near | duplicate | error | locked | idle | excluded, or `kept` for a file of an
    archive without catalog."""
    path: str | None = None
    """Archive-relative path of the written frame, None when nothing was written."""
    bytes: int | None = None
    activity: Activity | None = None
    """What the tick saw, where the catalog recorded it."""
    pruned: bool = False
    """The frame was kept, then deleted by retention (`prune`): its time still counts."""
    regions: tuple[Box, ...] = ()
    """Where the frame changed against its best match (`Record.regions`)."""


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
        self.identity = _identity(path)
        """The file opened (device, inode), to tell when it is deleted or replaced under us."""

    @classmethod
    def open(
        cls, root: Path, create: bool = True, check: bool = False, wait_s: float = 30.0
    ) -> Catalog:
        """Open the catalog of `root`, creating it if asked; `check` reads every page first
        (`PRAGMA quick_check`: the recorder does, once at start); `wait_s`: how long a statement
        waits for another connection's lock. Raises CatalogDamaged for a file that is not a
        sound database, StoreError for anything else it cannot open."""
        path = Path(root) / FILE_NAME
        if not create and not path.exists():
            raise StoreError(f"{path}: no catalog here (has screenrecord run on this archive?)")
        try:
            conn = _connect(path, create, check, wait_s)
        except sqlite3.DatabaseError as e:
            damaged = (getattr(e, "sqlite_errorcode", 0) & 0xFF) in _DAMAGE_CODES or str(
                e
            ).startswith("quick_check:")
            kind = CatalogDamaged if damaged else StoreError
            raise kind(f"{path}: cannot open catalog ({e})") from e
        except OSError as e:
            raise StoreError(
                f"{path}: cannot open catalog ({e.strerror}); make {path.parent} writable"
            ) from None
        return cls(conn, path)

    def record(self, rec: Record) -> int:
        """Store one decision; returns its row id."""
        values = [getattr(rec, c) for c in _COLUMNS]
        values[0] = _stamp(rec.taken)
        values[4] = rec.decision.value
        a = rec.activity or Activity()
        values += [a.app, a.executable, a.title, a.monitor, a.idle_s, a.locked, a.excluded]
        values.append(regions_json(rec.regions))
        columns = [*_COLUMNS, *ACTIVITY_COLUMNS, "regions"]
        cur = self.conn.execute(
            f"INSERT INTO decisions ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            values,
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def record_many(self, recs: Iterable[Record]) -> int:
        """Store many decisions in one transaction (a rebuild); returns how many."""
        n = 0
        with self._transaction():
            for rec in recs:
                self.record(rec)
                n += 1
        return n

    def moved(self, moves: Iterable[tuple[str, str]]) -> int:
        """Files of the archive moved from `old` to `new` (archive-relative, pairs): the rows
        that name them follow them, as the file they wrote and as the kept frame they matched.
        One transaction and one pass over the table; safe to repeat. Returns rows that wrote one."""
        with self._transaction():
            self.conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS moves (old TEXT PRIMARY KEY, new TEXT)"
            )
            self.conn.execute("DELETE FROM moves")
            self.conn.executemany("INSERT OR REPLACE INTO moves VALUES (?, ?)", moves)
            n = self.conn.execute(
                "UPDATE decisions SET path = (SELECT new FROM moves WHERE old = path)"
                " WHERE path IN (SELECT old FROM moves)"
            ).rowcount
            self.conn.execute(
                "UPDATE decisions SET match = (SELECT new FROM moves WHERE old = match)"
                " WHERE match IN (SELECT old FROM moves)"
            )
            self.conn.execute("DELETE FROM moves")
        return n

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self.conn.execute("BEGIN")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

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

    def day_digests(self) -> dict[str, str]:
        """Per capture day (`YYYY-MM-DD`), a short digest of its rows that changes when a row
        is added or a file it names moves (`browse` redoes a day's page only then).

        One pass over the table in SQLite, without building a Record per row.
        """
        sql = (
            "SELECT substr(taken, 1, 10), COUNT(*), MAX(id), TOTAL(id), COUNT(path),"
            " TOTAL(length(path)), TOTAL(length(match)) FROM decisions GROUP BY 1"
        )
        return {r[0]: "/".join(str(v) for v in tuple(r)[1:]) for r in self.conn.execute(sql)}

    def captures(self, period: Period) -> list[Capture]:
        """Decisions of `period` in capture order, without building a Record each (report reads
        a period of them, retention a day to find its active stretches)."""
        where, args = _period(period)
        read = ["taken", "monitor", "decision", "path", "bytes", "pruned", "regions"]
        columns = ", ".join([*read, *ACTIVITY_COLUMNS])
        found = []
        for r in self.conn.execute(
            f"SELECT {columns} FROM decisions{where} ORDER BY taken, monitor, id", args
        ):
            d = dict(r)
            seen = _activity(d)
            found.append(
                Capture(
                    datetime.fromisoformat(d["taken"]),
                    d["monitor"],
                    d["decision"],
                    d["path"],
                    d["bytes"],
                    seen,
                    bool(d["pruned"]),
                    regions_of(d["regions"]),
                )
            )
        return found

    def pruned(self, paths: Iterable[str], on: date, run: Prune) -> int:
        """Files retention deleted (archive-relative): their rows say so and keep every other
        value, so time is still counted; and the run, for `status`. One transaction; safe to
        repeat (a run is recorded once). Returns rows marked."""
        with self._transaction():
            self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS gone (path TEXT PRIMARY KEY)")
            self.conn.execute("DELETE FROM gone")
            self.conn.executemany("INSERT OR IGNORE INTO gone VALUES (?)", ((p,) for p in paths))
            n = self.conn.execute(
                "UPDATE decisions SET pruned = ?"
                " WHERE pruned IS NULL AND path IN (SELECT path FROM gone)",
                (on.isoformat(),),
            ).rowcount
            self.conn.execute("DELETE FROM gone")
            self.conn.execute(
                "INSERT OR IGNORE INTO prunes (run, finished, frames, bytes) VALUES (?, ?, ?, ?)",
                (run.run, _stamp(run.finished), run.frames, run.bytes),
            )
        return n

    def last_prune(self) -> Prune | None:
        """The newest prune run, None when retention never ran here."""
        r = self.conn.execute(
            "SELECT finished, frames, bytes, run FROM prunes ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return Prune(datetime.fromisoformat(r[0]), r[1], r[2], r[3]) if r else None

    def stored(self) -> tuple[int, int]:
        """Frames the catalog says are stored now (written, not pruned), and their bytes."""
        n, total = self.conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM decisions"
            " WHERE path IS NOT NULL AND pruned IS NULL"
        ).fetchone()
        return int(n), int(total)

    def recorded_in(self, folder: str) -> set[str]:
        """Paths recorded in an archive-relative folder and its subfolders (`2026-03/2026-03-10`):
        one range of the `path` index, so that comparing a day's files with its rows is cheap."""
        prefix = folder.rstrip("/") + "/"
        return {
            r[0]
            for r in self.conn.execute(
                "SELECT path FROM decisions WHERE path >= ? AND path < ?",
                (prefix, prefix[:-1] + chr(ord("/") + 1)),
            )
        }

    def wait(self, seconds: float) -> None:
        """How long a statement waits from now on for another connection's lock."""
        self.conn.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")

    def replaced(self) -> bool:
        """Whether the catalog's file was deleted or replaced by another since it was opened
        (this connection then writes into a file nobody will read again)."""
        return self.identity is None or _identity(self.path) != self.identity

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _connect(path: Path, create: bool, check: bool, wait_s: float) -> sqlite3.Connection:
    if create:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    conn = sqlite3.connect(path, timeout=wait_s, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{path}: catalog schema {version} is newer than this screenrecord's "
                f"({SCHEMA_VERSION}): a newer screenrecord wrote it; upgrade screenrecord"
            )
        if check:
            problems = [r[0] for r in conn.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise sqlite3.DatabaseError(f"quick_check: {problems[0]}")
        if version < SCHEMA_VERSION:
            _upgrade(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _upgrade(conn: sqlite3.Connection) -> None:
    """Bring a new or older catalog to SCHEMA_VERSION in one transaction: create what is missing,
    add the columns a schema 1 catalog lacks (its rows keep their values, NULL in the new ones)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        have = {r[1] for r in conn.execute("PRAGMA table_info(decisions)")}
        for name, kind in ADDED_COLUMNS.items():
            if name not in have:
                conn.execute(f"ALTER TABLE decisions ADD COLUMN {name} {kind}")
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def set_aside(root: Path, now: datetime, journal_only: bool = False) -> Path:
    """Move a damaged catalog out of the way, with its -wal and -shm; returns its new name.
    `journal_only`: only the -wal and -shm, left by a catalog that was deleted or replaced
    (SQLite would read them into the next catalog made or put there).

    Never deletes nor overwrites anything: the name carries the time, and a counter if taken.
    The files must be closed (on Windows an open file cannot be moved).
    """
    path = Path(root) / FILE_NAME
    base = f"{FILE_NAME}{DAMAGED}{now:%Y%m%d-%H%M%S}"
    dst, n = path.with_name(base), 1
    while any(path.with_name(dst.name + s).exists() for s in ("", "-wal", "-shm")):
        n += 1
        dst = path.with_name(f"{base}-{n}")
    for suffix in ("-wal", "-shm") if journal_only else ("-wal", "-shm", ""):
        # the database last: a crash leaves it found again
        src = path.with_name(path.name + suffix)
        if src.exists():
            _move(src, dst.with_name(dst.name + suffix))
    return dst


def _move(src: Path, dst: Path) -> None:
    try:
        noreplace.move(src, dst)
    except FileExistsError:
        raise StoreError(f"{dst}: already exists; {src} left where it is") from None
    except OSError as e:
        raise StoreError(f"{src}: cannot move it aside ({e.strerror})") from None


def set_aside_copies(root: Path) -> list[tuple[datetime, Path]]:
    """Damaged catalogs set aside in `root` and when, oldest first (their -wal, -shm not listed)."""
    found = []
    with contextlib.suppress(OSError):
        for name in os.listdir(root):
            if not name.startswith(FILE_NAME + DAMAGED) or name.endswith(("-wal", "-shm")):
                continue
            stamp = name.removeprefix(FILE_NAME + DAMAGED)[:15]
            with contextlib.suppress(ValueError):
                found.append((datetime.strptime(stamp, "%Y%m%d-%H%M%S"), Path(root) / name))
    return sorted(found)


def root_of(path: Path) -> Path | None:
    """The archive `path` is in: the nearest folder, itself or above it, that holds a catalog."""
    path = Path(path).absolute()
    for p in (path, *path.parents):
        if (p / FILE_NAME).is_file():
            return p
    return None


def _row(r: sqlite3.Row) -> Record:
    d = dict(r)
    d["taken"] = datetime.fromisoformat(d["taken"])
    d["decision"] = Kind(d["decision"])
    pruned = d.pop("pruned", None)
    d["pruned"] = date.fromisoformat(pruned) if pruned else None
    d["regions"] = regions_of(d.get("regions"))
    activity = _activity(d)  # before d is unpacked: takes its activity columns out
    return Record(**d, activity=activity)


def regions_json(regions: Iterable[Box]) -> str | None:
    """A record's changed regions as the catalog stores them: `[[x, y, w, h], ...]`, None when
    there are none."""
    boxes = [[b.x, b.y, b.w, b.h] for b in regions]
    return json.dumps(boxes, separators=(",", ":")) if boxes else None


def regions_of(text: str | None) -> tuple[Box, ...]:
    """The changed regions stored as `regions_json` wrote them (none for NULL)."""
    if not text:
        return ()
    return tuple(Box(*(int(v) for v in b)) for b in json.loads(text))


def _activity(d: dict) -> Activity | None:
    """What a row's tick saw, its columns taken out of `d`; None where nothing is known."""
    seen = {k: d.pop(k, None) for k in ACTIVITY_COLUMNS}
    seen["monitor"] = seen.pop("focus_monitor")
    if seen["locked"] is not None:
        seen["locked"] = bool(seen["locked"])
    activity = Activity(**seen)
    return activity if activity.known else None
