"""report: time per application, idle, locked and excluded time from a catalog made here."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from helpers.sitearchive import page_data

from screenrecord import cli
from screenrecord.archive.catalog import Catalog
from screenrecord.models import Activity, Kind, Record
from screenrecord.review import report

DAY = datetime(2026, 3, 10)
TICKS = [  # every 2 minutes from 09:56: what the tick saw, and its decision
    (Activity("Editor", "xterm", "notes.txt", 1, 3.0, False), Kind.NEW),
    (Activity("Editor", "xterm", "notes.txt", 1, 10.0, False), Kind.DUPLICATE),
    (Activity("Term", "xterm", "build log", 1, 1.0, False), Kind.NEW),
    (Activity("Term", "xterm", "build log", 1, 400.0, False), Kind.DUPLICATE),  # idle
    (Activity(idle_s=520.0, locked=True), Kind.LOCKED),
    (Activity(idle_s=2.0, locked=False, excluded='exclude_apps "KeePassXC"'), Kind.NEW),
    (Activity("Editor", "xterm", "other.txt", 1, 1.0, False), Kind.NEW),
    (None, Kind.DUPLICATE),  # a row of an older catalog: nothing known
]


def make_catalog(root: Path) -> None:
    with Catalog.open(root) as cat:
        for k, (seen, kind) in enumerate(TICKS):
            taken = DAY + timedelta(hours=9, minutes=56 + 2 * k)
            path = f"f{k}.png" if kind is Kind.NEW else None
            cat.record(Record(taken, 1, 1280, 800, kind, path=path, bytes=10, activity=seen))


def test_time_per_app_idle_locked_and_excluded(tmp_path: Path) -> None:
    make_catalog(tmp_path)
    (d,) = report.build(tmp_path, DAY, DAY + timedelta(days=1), idle_after=300).days
    u = d.usage
    assert u is not None
    assert [(a.app, a.seconds) for a in u.apps] == [("Editor", 480), ("Term", 120)]
    editor = u.apps[0]
    assert [(t.title, t.seconds) for t in editor.titles] == [("notes.txt", 360), ("other.txt", 120)]
    assert (u.idle_seconds, u.locked_seconds, u.excluded_seconds) == (120, 120, 120)
    # each tick stands for the time until the next (a session's first tick also for the interval
    # before its next): hour 9 is the editor's 6 min; hour 10 the terminal's 2 min and the
    # editor's 2 min (10:08-10:10), the tie going to the name first
    assert u.hour_apps[9] == "Editor" and u.hour_apps[10] == "Editor"
    assert u.hour_apps[8] is None and u.hour_apps[11] is None
    # A locked tick is not a skipped frame.
    assert d.skipped == 3


def test_report_json_text_and_day_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_catalog(tmp_path)
    assert cli.main(["report", str(tmp_path), "--json"]) == 0
    (d,) = json.loads(capsys.readouterr().out)["days"]
    assert [(a["app"], a["seconds"]) for a in d["usage"]["apps"]] == [
        ("Editor", 480),
        ("Term", 120),
    ]
    assert d["usage"]["apps"][1]["titles"] == [{"title": "build log", "seconds": 120}]
    assert d["usage"]["locked_seconds"] == 120 and d["usage"]["idle_seconds"] == 120
    assert cli.main(["report", str(tmp_path), "--html", str(tmp_path / "pages")]) == 0
    text = capsys.readouterr().out
    assert "  idle             2 min  (no input for 5 min or more)" in text
    assert "  locked           2 min  (the screen was locked)" in text
    assert "  excluded         2 min  (an excluded window was in front)" in text
    assert "    Editor        8 min  notes.txt 6 min; other.txt 2 min" in text
    assert "    Term          2 min  build log 2 min" in text
    hour_09 = next(line for line in text.splitlines() if line.startswith("  09 "))
    assert hour_09.endswith("Editor")
    # the day's page: the leading applications, and each tick's span on the lane as report counts it
    page = tmp_path / "pages" / "days" / "2026-03-10.html"
    assert "Editor, Term" in page.read_text()
    (lane,) = page_data(page)["lanes"].values()
    quiet = {s: b - a for a, b, s in lane if s in ("idle", "locked", "excluded")}
    assert quiet == {"idle": 120, "locked": 120, "excluded": 120}


def test_a_catalog_without_activity_reports_no_apps(tmp_path: Path) -> None:
    with Catalog.open(tmp_path) as cat:
        cat.record(Record(DAY + timedelta(hours=9), 1, 640, 480, Kind.NEW, path="a.png"))
    (d,) = report.build(tmp_path, DAY, DAY + timedelta(days=1)).days
    assert d.usage is not None and d.usage.apps == []
    assert "no focused window recorded" in report.format_text(
        report.build(tmp_path, DAY, DAY + timedelta(days=1))
    )
