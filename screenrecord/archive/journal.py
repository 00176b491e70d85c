"""The journal of a journaled run (journaled.py): every planned step is written (and fsynced)
before any file changes.

One JSON object per line, in `PATH/.screenrecord-journal.jsonl` for dedup's moves (a step:
src and dst) and `ROOT/.screenrecord-prune.jsonl` for prune's deletions (a step: src, bytes):
    {"run": ID, "started": ISO}                       a run begins planning
    {"run": ID, "src": REL, "dst": REL, ...}           a planned step (paths relative to PATH)
    {"run": ID, "planned": N}                          the plan is complete; steps may start
    {"run": ID, "applied": N}                          every step of the run is done
A run without "planned" changed nothing and is ignored. A run with "planned" but no "applied" was
interrupted: the file of each step is either before or after it (rename and unlink are atomic),
so finishing or undoing it is a matter of looking.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TextIO

from screenrecord.archive.store import fsync_dir
from screenrecord.errors import StoreError

FILE_NAME = ".screenrecord-journal.jsonl"


@dataclass
class Run:
    id: str
    planned: bool = False
    applied: bool = False
    moves: int = 0
    extra: dict = field(default_factory=dict)


class Journal:
    """Append-only journal of one archive folder (`name`: dedup's, or another command's)."""

    def __init__(self, root: Path, name: str = FILE_NAME) -> None:
        self.root = root
        self.path = root / name
        self._f: TextIO | None = None

    def runs(self) -> list[Run]:
        """Runs recorded so far, oldest first (reads the file; small per run)."""
        runs: dict[str, Run] = {}
        for rec in self._records():
            run = runs.setdefault(rec["run"], Run(rec["run"]))
            if "src" in rec:
                run.moves += 1
            run.planned |= "planned" in rec
            run.applied |= "applied" in rec
        return list(runs.values())

    def moves(self, run_id: str) -> Iterator[dict]:
        """Planned moves of a run, in plan order (streamed from the file)."""
        for rec in self._records():
            if rec["run"] == run_id and "src" in rec:
                yield rec

    def _records(self) -> Iterator[dict]:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.endswith("\n"):  # torn last line of a killed run: never acted on
                    return
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    raise StoreError(
                        f"{self.path}:{n}: damaged journal line; move the journal away to start afresh"
                    ) from None
                yield rec

    def begin(self) -> str:
        run_id = datetime.now().strftime("%Y%m%dT%H%M%S%f")
        self.write({"run": run_id, "started": datetime.now().isoformat()}, sync=True)
        return run_id

    def write(self, rec: dict, sync: bool = False) -> None:
        if self._f is None:
            new = not self.path.exists()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._f = os.fdopen(fd, "a", encoding="utf-8")
            if new:
                fsync_dir(self.root)
        self._f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        if sync:
            self.sync()

    def sync(self) -> None:
        if self._f is not None:
            self._f.flush()
            os.fsync(self._f.fileno())

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None

    def remove(self) -> None:
        """Delete the journal (after everything it recorded has been undone)."""
        self.close()
        self.path.unlink(missing_ok=True)
        fsync_dir(self.root)
