"""`screenrecord why FILE`: a frame's story from the catalog (when, decision, score, match, and
the day retention deleted it)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from screenrecord.archive import catalog, store
from screenrecord.archive.catalog import Catalog
from screenrecord.config import Config, units
from screenrecord.engine import change
from screenrecord.errors import ScreenrecordError, UsageError
from screenrecord.models import DedupSettings, Kind, Record


def find_root(path: Path) -> Path | None:
    """The nearest folder above `path` that holds a catalog."""
    for p in path.parents:
        if (p / catalog.FILE_NAME).is_file():
            return p
    return None


def explain(arg: str, load_config: Callable[[], Config]) -> str:
    """Explain an archive file, or a frame name/time that was never written (a skipped frame).

    A path (it has a folder part) that does not exist is answered only from the catalog of the
    archive it would be in, where a row names it (a frame retention deleted, or one moved); it
    is never taken for a time, which would answer about another frame.
    """
    path = Path(arg).expanduser()
    exists = path.exists()
    named_folder = "/" in arg or os.sep in arg
    root = find_root(path.absolute()) if exists or named_folder else None
    if root is None and not exists and named_folder:
        raise UsageError(f"{arg}: no such file")
    if root is None:
        root = load_config().root
    with Catalog.open(root, create=False) as cat:
        row = None
        if exists or named_folder:
            try:
                rel = path.absolute().relative_to(root.absolute()).as_posix()
                if exists:
                    rel = path.resolve().relative_to(root.resolve()).as_posix()
            except ValueError:
                raise UsageError(f"{path}: not inside the archive {root}") from None
            row = cat.find(rel)
            if row is None and not exists:
                raise UsageError(f"{arg}: no such file, and no frame of {root} was written there")
            if row is None:
                raise ScreenrecordError(
                    f"{path}: not in the catalog of {root} (kept before screenrecord recorded this archive, or moved)"
                )
        else:
            name = path.name
            parsed = store.parse_name(name if "." in name.rsplit("_", 1)[-1] else name + ".png")
            if parsed is None:
                raise UsageError(
                    f"{arg}: no such file, and not a frame name like 2026-03-10_10.00.00.000000_1.png"
                )
            row = cat.at(*parsed)
            if row is None:
                raise ScreenrecordError(
                    f"{arg}: no decision recorded for monitor {parsed[1]} at or before that time"
                )
        return _describe(cat, root, row, *_thresholds(root, load_config))


def _thresholds(root: Path, load_config: Callable[[], Config]) -> tuple[float | None, float | None]:
    """The near and duplicate thresholds of the configured archive, if `root` is that archive
    (another archive's frames may have been decided with other thresholds)."""
    try:
        cfg = load_config()
    except ScreenrecordError:
        return None, None
    if cfg.root.expanduser().absolute() != root.absolute():
        return None, None
    return cfg.dedup.near_threshold, cfg.dedup.duplicate_threshold


def _describe(
    cat: Catalog, root: Path, row: Record, near: float | None, dup: float | None = None
) -> str:
    score = units.score(row.score)
    lines = [
        f"taken     {row.taken:%Y-%m-%d %H:%M:%S.%f}, monitor {row.monitor} ({row.width}x{row.height} at +{row.x}+{row.y})"
    ]
    if row.decision == "new":
        threshold = "the near threshold" if near is None else f"near {units.score(near, 2)}"
        why = "new: " + (
            "nothing kept yet to compare with"
            if row.score is None
            else f"best match {row.match} scored {score} (below {threshold})"
        )
    elif row.decision == "near" and row.regions and _over(row.score, dup):
        kept = change.reason(row.score, row.regions)
        why = f"near-duplicate: {kept} against {row.match}"
    elif row.decision == "near":
        why = f"near-duplicate: score {score} against {row.match}, kept"
    elif row.decision == "duplicate":
        why = f"duplicate: score {score} against {row.match}, which stands for it"
        if row.path:
            why += "; written anyway (keep_at_least_every)"
    elif row.decision is Kind.LOCKED:
        why = "locked: the screen was locked, no screenshot taken (activity.skip_when_locked)"
    elif row.decision is Kind.IDLE:
        why = (
            "idle: no input for activity.idle_after, no screenshot taken (activity.skip_when_idle)"
        )
    elif row.decision is Kind.EXCLUDED:
        why = "excluded: nothing of the monitor was left outside excluded windows, no pixels kept"
    else:
        why = f"error: {row.error}"
    lines.append(f"decision  {why}")
    if row.regions and "region" not in why:
        lines.append(
            f"changed   {change.described(row.regions)} (outside what changes at most frames)"
        )
    a = row.activity
    if a is not None:
        if a.excluded:
            front = f"an excluded window ({a.excluded}): its title is not recorded"
        elif a.app:
            exe = f" ({a.executable})" if a.executable and a.executable != a.app else ""
            title = f": {a.title}" if a.title else ""
            front = f"{a.app}{exe}{title}"
        else:
            front = "no focused window"
        idle = "" if a.idle_s is None else f"; idle {units.duration(a.idle_s)}"
        lock = {True: "; screen locked", False: "", None: ""}[a.locked]
        lines.append(f"window    {front}{idle}{lock}")
    if row.path:
        size = f" ({row.bytes:,} bytes)" if row.bytes is not None else ""
        lines.append(f"written   {root / row.path}{size}")
        if row.pruned is not None:
            lines.append(
                f"pruned    on {row.pruned:%Y-%m-%d} by retention (`prune`): the file is gone"
            )
        n, last = cat.matched(row.path)
        if n and last is not None:
            lines.append(
                f"stands for {n} later duplicate frame(s), the latest taken {last.taken:%Y-%m-%d %H:%M:%S}"
            )
    elif row.error:
        lines.append(f"not written: {row.error}")
    elif row.decision == "duplicate" and row.match:
        lines.append(f"see       {root / row.match}")
    timing = [
        f"{k} {v:.1f} ms"
        for k, v in (
            ("capture", row.capture_ms),
            ("compare", row.compare_ms),
            ("write", row.write_ms),
        )
        if v is not None
    ]
    if timing:
        lines.append("cost      " + ", ".join(timing))
    return "\n".join(lines)


def _over(score: float | None, dup: float | None) -> bool:
    """Whether a score is over the duplicate threshold (the default where it is not known)."""
    threshold = DedupSettings().duplicate_threshold if dup is None else dup
    return score is not None and score > threshold
