"""`screenrecord prune` as a real subprocess on a real archive of ~200 days: the dry run, --apply,
kill -9 in the middle, the refusals, links, and what `report`, `why`, `status` say afterwards."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from helpers import retention_archive as ra
from helpers.procs import running, stop
from helpers.xscreen import REPO, screenrecord, start_daemon

from screenrecord.archive import store

SCHEDULE = '["14d: 6/h", "180d: 12/d"]'


@pytest.fixture
def archive(retention_template: ra.Built, tmp_path: Path) -> ra.Built:
    return ra.copy(retention_template, tmp_path / "archive")


def config(path: Path, root: Path, thin: str = SCHEDULE, extra: str = "") -> Path:
    path.write_text(
        f'root = "{root}"\ninterval_seconds = 180\n[retention]\nkeep_all = "14d"\n'
        f"thin = {thin}\n{extra}"
    )
    return path


def catalog_rows(root: Path) -> list[tuple]:
    conn = sqlite3.connect(root / "screenrecord.sqlite")
    try:
        return conn.execute(
            "SELECT taken, monitor, decision, path, bytes, pruned FROM decisions ORDER BY id"
        ).fetchall()
    finally:
        conn.close()


def prune(root: Path, cfg: Path, *args: str) -> subprocess.CompletedProcess:
    return screenrecord("prune", str(root), "--config", str(cfg), *args, timeout=120)


def test_the_dry_run_changes_nothing_and_lists_what_apply_removes(
    archive: ra.Built, tmp_path: Path
) -> None:
    cfg = config(tmp_path / "c.toml", archive.root)
    before, rows = ra.frames_on_disk(archive.root), catalog_rows(archive.root)
    dry = prune(archive.root, cfg, "--json")
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)
    listed = {g["path"] for g in plan["gone"]}
    assert ra.frames_on_disk(archive.root) == before and catalog_rows(archive.root) == rows
    assert listed and plan["applied"] is False and plan["removed"] == 0
    assert sum(m["gone"] for m in plan["months"]) == len(listed)
    assert sum(m["kept"] for m in plan["months"]) == len(before) - len(listed)
    text = prune(archive.root, cfg)
    assert f"would delete {len(listed)} files" in text.stdout and "nothing deleted" in text.stdout
    month = f"{archive.today - timedelta(days=199):%Y-%m}"
    assert any(line.startswith(month) for line in text.stdout.splitlines())
    done = prune(archive.root, cfg, "--apply", "--json")
    assert done.returncode == 0, done.stderr
    after = ra.frames_on_disk(archive.root)
    assert set(before) - set(after) == listed and json.loads(done.stdout)["removed"] == len(listed)
    assert not (archive.root / ".screenrecord-prune.jsonl").exists()
    today = date.today().isoformat()
    assert {r[3] for r in catalog_rows(archive.root) if r[5] == today} == listed
    assert [r[:5] for r in catalog_rows(archive.root)] == [r[:5] for r in rows]  # rows stay


KILL_AT = {
    # after the plan is journaled, before the first file goes
    "first": "prune._delete = killing(prune._delete, 0)",
    # half way through the deletions
    "half": "prune._delete = killing(prune._delete, 150)",
    # every file gone, the catalog not yet told
    "catalog": "Catalog.pruned = killing(Catalog.pruned, 0)",
}
KILLER = """
import os, signal, sys
from screenrecord.retention import prune
from screenrecord.archive.catalog import Catalog
from screenrecord.cli import main

def killing(f, after):
    calls = [0]
    def wrapped(*a, **k):
        calls[0] += 1
        if calls[0] > after:
            os.kill(os.getpid(), signal.SIGKILL)
        return f(*a, **k)
    return wrapped

{patch}
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("point", sorted(KILL_AT))
def test_kill_9_during_apply_then_a_rerun_ends_as_an_uninterrupted_run(
    archive: ra.Built, retention_template: ra.Built, tmp_path: Path, point: str
) -> None:
    whole = ra.copy(retention_template, tmp_path / "whole")
    assert prune(whole.root, config(tmp_path / "w.toml", whole.root), "--apply").returncode == 0
    cfg = config(tmp_path / "c.toml", archive.root)
    before = ra.frames_on_disk(archive.root)
    killed = subprocess.run(
        [sys.executable, "-c", KILLER.format(patch=KILL_AT[point])]
        + ["prune", str(archive.root), "--config", str(cfg), "--apply"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    journal = archive.root / ".screenrecord-prune.jsonl"
    planned = [json.loads(line) for line in journal.read_text().splitlines()]
    assert any("planned" in r for r in planned) and not any("applied" in r for r in planned)
    middle = ra.frames_on_disk(archive.root)
    assert all(middle[rel] == before[rel] for rel in middle)  # each file kept whole, or gone
    gone = len(before) - len(middle)
    assert (
        gone
        == {"first": 0, "half": 150, "catalog": len(before) - len(ra.frames_on_disk(whole.root))}[
            point
        ]
    )
    rerun = prune(archive.root, cfg, "--apply")
    assert rerun.returncode == 0, rerun.stderr
    assert "finishing an interrupted prune" in rerun.stderr
    assert ra.frames_on_disk(archive.root) == ra.frames_on_disk(whole.root)
    assert catalog_rows(archive.root) == catalog_rows(whole.root)
    assert not journal.exists()


def test_a_prune_journal_left_by_an_earlier_version_is_finished(
    archive: ra.Built, tmp_path: Path
) -> None:
    """A planned run's journal, written line by line as earlier versions wrote it (one JSON
    object per line, `json.dumps`' separators), a third of its files deleted: the next prune
    deletes the rest, marks their rows, records the run under its id and forgets the journal."""
    cfg = config(tmp_path / "c.toml", archive.root)
    listed = json.loads(prune(archive.root, cfg, "--json").stdout)["gone"]
    before = ra.frames_on_disk(archive.root)
    run = "20260312T080000123456"
    lines = [f'{{"run": "{run}", "started": "2026-03-12T08:00:00.123456"}}']
    lines += [f'{{"run": "{run}", "src": "{g["path"]}", "bytes": {g["bytes"]}}}' for g in listed]
    lines.append(f'{{"run": "{run}", "planned": {len(listed)}}}')
    journal = archive.root / ".screenrecord-prune.jsonl"
    journal.write_text("".join(line + "\n" for line in lines))
    for g in listed[: len(listed) // 3]:  # deleted before the kill
        (archive.root / g["path"]).unlink()
    rerun = prune(archive.root, cfg, "--apply", "--json")
    assert rerun.returncode == 0, rerun.stderr
    assert f"finishing an interrupted prune ({len(listed)} files)" in rerun.stderr
    done = json.loads(rerun.stdout)
    assert done["gone"] == [] and done["removed"] == len(listed)  # nothing more to plan
    assert set(before) - set(ra.frames_on_disk(archive.root)) == {g["path"] for g in listed}
    today = date.today().isoformat()
    assert {r[3] for r in catalog_rows(archive.root) if r[5] == today} == {
        g["path"] for g in listed
    }
    conn = sqlite3.connect(archive.root / "screenrecord.sqlite")
    try:
        runs = conn.execute("SELECT run, frames, bytes FROM prunes").fetchall()
    finally:
        conn.close()
    # the finished run under its id, then this run's own (empty) plan
    assert runs[0] == (run, len(listed), sum(g["bytes"] for g in listed))
    assert [r[1:] for r in runs[1:]] == [(0, 0)]
    assert not journal.exists()


def test_report_and_why_after_a_prune(archive: ra.Built, tmp_path: Path) -> None:
    cfg = config(tmp_path / "c.toml", archive.root)
    day = archive.today - timedelta(days=40)

    def report() -> dict:
        out = screenrecord(
            "report", str(archive.root), "--day", str(day), "--json", "--config", str(cfg)
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)["days"][0]

    before = report()
    listed = json.loads(prune(archive.root, cfg, "--json").stdout)["gone"]
    gone = [g for g in listed if g["path"].split("/")[1] == str(day)]
    assert prune(archive.root, cfg, "--apply").returncode == 0
    after = report()
    assert after["active_seconds"] == before["active_seconds"] > 0
    assert after["ticks"] == before["ticks"]
    assert after["pruned"] == len(gone) and after["kept"] == before["kept"] - len(gone)
    assert after["pruned_bytes"] == sum(g["bytes"] for g in gone)
    text = screenrecord("report", str(archive.root), "--day", str(day), "--config", str(cfg))
    assert f"pruned     {len(gone):>{len('23 h 59 min')}}  frames" in text.stdout
    why = screenrecord("why", str(archive.root / gone[0]["path"]), "--config", str(cfg))
    assert why.returncode == 0, why.stderr
    assert f"pruned    on {date.today()} by retention" in why.stdout
    assert f"written   {archive.root / gone[0]['path']}" in why.stdout
    status = screenrecord("status", "--config", str(cfg))
    line = next(x for x in status.stdout.splitlines() if x.startswith("retention"))
    assert "no budget; last prune" in line and f"{len(listed)} frames" in line


def test_prune_refuses_while_a_dedup_journal_can_be_undone(
    archive: ra.Built, tmp_path: Path
) -> None:
    cfg = config(tmp_path / "c.toml", archive.root)
    start = datetime.combine(archive.today - timedelta(days=40), datetime.min.time())
    folder = store.day_folder(archive.root, start)
    again = (folder / store.frame_name(start.replace(hour=9), 1)).read_bytes()
    store.write_atomic(folder / store.frame_name(start.replace(hour=13), 1), again)  # a repeat
    moved = screenrecord("dedup", str(folder), "--apply", timeout=120)
    assert moved.returncode == 0, moved.stderr
    assert (folder / "dedup" / store.frame_name(start.replace(hour=13), 1)).is_file()
    before = ra.frames_on_disk(archive.root)
    out = prune(archive.root, cfg, "--apply")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"screenrecord: {folder / '.screenrecord-journal.jsonl'}: dedup moves that can still be "
        f"undone; run `screenrecord undo {folder}` or delete that journal to keep them as they "
        "are, then prune"
    ]
    assert ra.frames_on_disk(archive.root) == before


def test_links_are_not_followed_and_nothing_outside_is_touched(
    archive: ra.Built, retention_template: ra.Built, tmp_path: Path
) -> None:
    """A linked frame in a day folder, a linked month folder full of old frames, a day's dedup/
    folder: all would be thinned if they were walked; all stay."""
    other = ra.copy(retention_template, tmp_path / "outside")  # another archive's frames, as old
    theirs = ra.frames_on_disk(other.root)
    old_month = archive.today - timedelta(days=400)
    (archive.root / f"{old_month:%Y-%m}").symlink_to(other.root / next(iter(theirs)).split("/")[0])
    start = datetime.combine(archive.today - timedelta(days=40), datetime.min.time())
    folder = store.day_folder(archive.root, start)
    link = folder / store.frame_name(start.replace(hour=13), 1)
    link.symlink_to(other.root / sorted(theirs)[-1])
    aside = folder / "dedup"
    for minute in range(30):
        store.write_atomic(
            aside / store.frame_name(start.replace(hour=14, minute=minute), 1), ra.picture(minute)
        )
    kept_aside = sorted(p.name for p in aside.iterdir())
    out = prune(archive.root, config(tmp_path / "c.toml", archive.root, '["14d: 1/d"]'), "--apply")
    assert out.returncode == 0, out.stderr
    assert ra.frames_on_disk(other.root) == theirs
    assert link.is_symlink() and link.exists()
    assert sorted(p.name for p in aside.iterdir()) == kept_aside
    left = [rel for rel in ra.frames_on_disk(archive.root) if ra.day_of(rel) == start.date()]
    assert len(left) == 2 + 30  # one per monitor, and dedup/ as it was


@pytest.mark.daemon
def test_the_daemon_prunes_once_after_a_tick(
    xvfb_display: str, archive: ra.Built, tmp_path: Path
) -> None:
    cfg = config(tmp_path / "c.toml", archive.root)
    cfg.write_text(cfg.read_text().replace("interval_seconds = 180", "interval_seconds = 1"))
    expected = len(json.loads(prune(archive.root, cfg, "--json").stdout)["gone"])
    with running(start_daemon(xvfb_display, cfg)) as proc:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _pruned(archive.root):
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        time.sleep(2.5)  # two more ticks: no second prune the same day
        code, err = stop(proc)
    assert code == 0, err
    lines = [x for x in err.splitlines() if "retention:" in x]
    assert len(lines) == 1 and f"retention: removed {expected} frames" in lines[0], err
    assert _pruned(archive.root) == 1


def _pruned(root: Path) -> int:
    conn = sqlite3.connect(f"file:{root / 'screenrecord.sqlite'}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute("SELECT COUNT(*) FROM prunes").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def test_config_init_writes_retention_commented_and_check_rejects_a_bad_schedule(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.toml"
    assert screenrecord("config", "init", str(path)).returncode == 0
    text = path.read_text()
    assert '# keep_all = "14d"' in text and '# thin = ["14d: 6/h", "180d: 12/d"]' in text
    assert '# max_bytes = "50GB"' in text
    assert "retention off" in screenrecord("config", "check", str(path)).stdout
    for body, message in [
        ('thin = ["180d: 12/d", "14d: 6/h"]', "list the tiers from youngest to oldest"),
        ('max_bytes = "a lot"', "is not a size"),
    ]:
        path.write_text(f"[retention]\n{body}\n")
        out = screenrecord("config", "check", str(path))
        assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
        assert message in out.stderr and "retention." in out.stderr
