"""The browse site shows what the activity recorded: idle, locked and excluded time on the lanes,
each frame's application and title, and the day's leading applications on the index."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from helpers import sitearchive
from helpers.pages import Watched
from helpers.sitearchive import page_data

from screenrecord import cli
from screenrecord.archive import store
from screenrecord.archive.catalog import Catalog
from screenrecord.models import Activity, Kind, Record

START = datetime(2026, 3, 10, 9)
EXCLUDED = 'exclude_apps "KeePassXC"'
TICKS = [  # every 3 minutes from 09:00 on monitor 1: what the tick saw and its decision
    (Activity("Editor", "gedit", "notes.txt", 1, 2.0, False), Kind.NEW),
    (Activity("Editor", "gedit", "notes.txt", 1, 5.0, False), Kind.NEW),
    (Activity("Term", "xterm", "build log", 1, 1.0, False), Kind.NEW),
    (Activity(idle_s=400.0, locked=False), Kind.IDLE),  # skip_when_idle: no screenshot
    (Activity(idle_s=580.0, locked=False), Kind.IDLE),
    (Activity(idle_s=760.0, locked=True), Kind.LOCKED),
    (Activity(idle_s=940.0, locked=True), Kind.LOCKED),
    (Activity(monitor=1, idle_s=1.0, locked=False, excluded=EXCLUDED), Kind.EXCLUDED),
    # the excluded window painted over, the rest of the screen kept: no app, no title stored
    (Activity(monitor=1, idle_s=2.0, locked=False, excluded=EXCLUDED), Kind.NEW),
    (Activity("Editor", "gedit", "other.txt", 1, 1.0, False), Kind.NEW),
    (Activity("Term", "xterm", None, 1, 1.0, False), Kind.NEW),  # record_titles = false
]
LABELS = [
    "Editor · notes.txt",
    "Editor · notes.txt",
    "Term · build log",
    "an excluded window",
    "Editor · other.txt",
    "Term",
]
"""What the page says next to each kept frame, in order."""
H9 = 9 * 3600
LANE = [  # 09:00-09:30: each tick stands for the 3 minutes until the next, the first also for 3
    [H9, H9 + 540, "active"],
    [H9 + 540, H9 + 900, "idle"],
    [H9 + 900, H9 + 1260, "locked"],
    [H9 + 1260, H9 + 1620, "excluded"],
    [H9 + 1620, H9 + 1800, "active"],
]


def make(root: Path) -> None:
    """Real frames for the ticks that kept one, and every tick's row in a real catalog."""
    records = []
    for k, (seen, kind) in enumerate(TICKS):
        taken = START + timedelta(minutes=3 * k)
        path = None
        if kind is Kind.NEW:
            path = store.frame_path(root, taken, 1)
            store.write_atomic(path, store.encode(sitearchive.screen(k, 1, taken)))
        rel = path.relative_to(root).as_posix() if path else None
        size = path.stat().st_size if path else None
        records.append(Record(taken, 1, 320, 200, kind, path=rel, bytes=size, activity=seen))
    with Catalog.open(root) as cat:
        cat.record_many(records)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("activity") / "archive"
    make(root)
    assert cli.main(["browse", str(root), "--no-open"]) == 0
    return root / "site"


def test_the_lanes_show_idle_locked_and_excluded_time(site: Path) -> None:
    data = page_data(site / "days" / "2026-03-10.html")
    assert data["lanes"] == {"1": LANE}
    assert {"idle", "locked", "excluded"} <= set(data["states"])


def test_each_frame_says_what_its_tick_saw_and_no_excluded_title(site: Path) -> None:
    text = (site / "days" / "2026-03-10.html").read_text()
    assert [s[3] for s in page_data(site / "days" / "2026-03-10.html")["shots"]] == LABELS
    assert "KeePassXC" not in text  # the rule's name stays in the catalog


def test_the_index_names_the_leading_applications_as_report_counts_them(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert cli.main(["report", str(site.parent), "--json"]) == 0
    (day,) = json.loads(capsys.readouterr().out)["days"]
    # Editor 12 min (09:00-09:06, the first 3 min again: a session's first tick counts forward
    # too, and 09:27-09:30), Term
    # 3 min (09:06-09:09); the last tick's 3 min after it are not in the day yet
    assert [(a["app"], a["seconds"]) for a in day["usage"]["apps"]] == [
        ("Editor", 720),
        ("Term", 180),
    ]
    index = (site / "index.html").read_text()
    assert '<span class="apps">Editor, Term</span>' in index
    assert "Editor, Term" in (site / "days" / "2026-03-10.html").read_text()  # the page's totals


def test_report_html_shows_the_same_activity_beside_a_site(site: Path, tmp_path: Path) -> None:
    assert cli.main(["report", str(site.parent), "--html", str(tmp_path / "pages")]) == 0
    page = tmp_path / "pages" / "days" / "2026-03-10.html"
    data = page_data(page)
    assert data["lanes"] == {"1": LANE}
    assert [s[3] for s in data["shots"]] == LABELS
    # frames are found in the archive's folders: the site's thumbnails (named like frames) are
    # not frames, and the totals count the archive's 6 kept frames
    text = page.read_text()
    assert "6 kept frames" in text and "Editor, Term" in text and "/site/" not in text
    assert {h[2] for h in data["highlights"]} <= {s[2] for s in data["shots"]}


LANE_COLOURS = """ts => {
  const c = document.getElementById('lanes');
  const row = c.getContext('2d').getImageData(0, 2, c.width, 1).data;  // one readback
  return ts.map(t => [...row.slice(4 * Math.floor(t / 86400 * c.width)).slice(0, 3)]);
}"""
"""The colours the lane of monitor 1 is painted at each of `ts`, seconds since midnight."""
VAR_COLOUR = """name => {
  const hex = getComputedStyle(document.documentElement).getPropertyValue('--' + name).trim();
  return [1, 3, 5].map(i => parseInt(hex.slice(i, i + 2), 16));
}"""


def test_the_page_paints_the_states_and_names_the_shown_frames_app(
    site: Path, tab: Watched
) -> None:
    page = tab.page
    page.goto((site / "days" / "2026-03-10.html").as_uri())
    page.wait_for_selector("#frame[data-ready='1']")
    assert page.inner_text("#seen") == LABELS[0]
    page.keyboard.press("End")
    page.wait_for_selector("#frame[data-ready='1']")
    assert page.inner_text("#seen") == LABELS[-1]
    for _ in range(2):
        page.keyboard.press("ArrowLeft")
    page.wait_for_selector("#frame[data-ready='1']")
    assert page.inner_text("#seen") == "an excluded window"
    legend = page.eval_on_selector_all("#legend li", "ls => ls.map(l => l.textContent)")
    assert [s for s in legend if s in ("active", "idle", "locked", "excluded")] == [
        "active",
        "locked",
        "idle",
        "excluded",
    ]
    painted = {"active": H9 + 270, "idle": H9 + 720, "locked": H9 + 1080, "excluded": H9 + 1440}
    colours = page.evaluate(LANE_COLOURS, list(painted.values()))
    assert colours == [page.evaluate(VAR_COLOUR, state) for state in painted]
    assert tab.problems == []
    assert tab.outside(site.parent) == []
