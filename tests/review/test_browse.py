"""`screenrecord browse`: the site it writes, incrementally, beside an archive it never changes."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from helpers import sitearchive
from helpers.archive import tree

from screenrecord import cli
from screenrecord.archive import store
from screenrecord.review import site
from screenrecord.review.site import day as siteday

DAYS = (date(2026, 3, 9), date(2026, 3, 10))


def make(root: Path, catalog: bool = True) -> list:
    """Two days of two monitors: 20 ticks on the 9th, 30 on the 10th, every 3 minutes."""
    records = sitearchive.fill(
        root, sitearchive.ticks(DAYS[0], time(9), timedelta(minutes=3), 20), catalog=catalog
    )
    records += sitearchive.fill(
        root, sitearchive.ticks(DAYS[1], time(14), timedelta(minutes=3), 30), catalog=catalog
    )
    return records


def browse(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], str]:
    code = cli.main(["browse", *args])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def mtimes(folder: Path) -> dict[str, int]:
    return {
        str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()
    }


def test_browse_writes_the_site_and_prints_the_page_it_opens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "archive"
    records = make(root)
    before = tree(root)
    code, out, err = browse(str(root), "--no-open", capsys=capsys)
    assert (code, err) == (0, "")
    out_dir = root / "site"
    assert out == [str(out_dir / "days" / "2026-03-10.html")]  # not today: the last day
    assert (out_dir / "index.html").is_file()
    assert sorted(p.name for p in (out_dir / "days").iterdir()) == [
        "2026-03-09.html",
        "2026-03-10.html",
    ]
    # one thumbnail per kept frame, day folders and similar/ alike; none for a repeat
    thumbs = sorted(
        p.relative_to(out_dir / "thumbs").as_posix() for p in (out_dir / "thumbs").rglob("*.jpg")
    )
    kept = sorted(
        Path(r.path).relative_to(Path(r.path).parts[0]).with_suffix(".jpg").as_posix()
        for r in records
        if r.path
    )
    assert thumbs == kept
    # owner-only, like the archive: the pages show the screens
    for p in [out_dir, *out_dir.rglob("*")]:
        assert stat.S_IMODE(p.stat().st_mode) == (0o700 if p.is_dir() else 0o600), p
    # the archive is only read
    after = {k: v for k, v in tree(root).items() if not k.startswith("site/")}
    assert after == before


def test_the_day_page_holds_its_frames_lanes_and_highlights_as_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "archive"
    records = make(root)
    code, out, _ = browse(str(root), "--no-open", "--day", "2026-03-09", capsys=capsys)
    assert code == 0
    text = Path(out[-1]).read_text()
    data = json.loads(
        re.search(r'<script type="application/json" id="data">(.*?)</script>', text)[1]
    )
    day_records = [r for r in records if r.taken.date() == DAYS[0]]
    assert data["monitors"] == [1, 2]
    assert [s[2] for s in data["shots"]] == [
        Path(r.path).relative_to("2026-03/2026-03-09").as_posix()
        for r in sorted(day_records, key=lambda r: (r.taken, r.monitor))
        if r.path
    ]
    assert data["frames"] == "../../2026-03/2026-03-09/"
    assert (data["prev"], data["next"]) == (None, "2026-03-10.html")
    # every third tick only repeated: the lanes show it, and the near frames as similar
    states = {s for runs in data["lanes"].values() for _, _, s in runs}
    assert states == {"active", "similar", "unchanged"}
    lane = data["lanes"]["1"]
    assert lane[0][0] == pytest.approx(9 * 3600, abs=0.01)  # the first tick, to the last
    assert lane[-1][1] == pytest.approx(9 * 3600 + 19 * 180, abs=0.01)
    assert all(a < b for a, b, _ in lane)
    assert data["highlights"] and all(
        h[2] in {s[2] for s in data["shots"]} for h in data["highlights"]
    )
    # nothing the page loads comes from the network
    assert "http://" not in text and "https://" not in text
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', text)[1]
    assert "default-src &#x27;none&#x27;" in policy and "unsafe-inline" not in policy


def test_a_second_run_writes_nothing_and_a_new_frame_redoes_only_its_day(
    tmp_path: Path,
) -> None:
    root = tmp_path / "archive"
    make(root)
    out = root / "site"
    first = site.build(site.Archive.read(root), out)
    assert len(first.written) == 3 and first.thumbnails > 0
    seen = mtimes(out)

    again = site.build(site.Archive.read(root), out)
    assert (again.written, again.thumbnails) == ([], 0)
    assert mtimes(out) == seen

    # one more tick on the 10th: its page, its new thumbnails and the index change, not the 9th
    sitearchive.fill(root, [datetime(2026, 3, 10, 16, 0)], duplicate_every=0, near_every=0)
    third = site.build(site.Archive.read(root), out)
    assert sorted(p.name for p in third.written) == ["2026-03-10.html", "index.html"]
    assert third.thumbnails == 2
    now = mtimes(out)
    assert now["days/2026-03-09.html"] == seen["days/2026-03-09.html"]
    assert now["days/2026-03-10.html"] > seen["days/2026-03-10.html"]
    assert "2026-03-10_16.00.00" in (out / "days" / "2026-03-10.html").read_text()

    # a catalog row alone (a repeat, no file) changes the day's lanes and its unchanged time
    sitearchive.fill(root, [datetime(2026, 3, 10, 16, 3)], duplicate_every=1)
    fourth = site.build(site.Archive.read(root), out)
    assert sorted(p.name for p in fourth.written) == ["2026-03-10.html", "index.html"]
    assert fourth.thumbnails == 0

    # a new day: its page, and the day before it, whose `next` now leads there
    sitearchive.fill(root, [datetime(2026, 3, 12, 8, 0)], duplicate_every=0, near_every=0)
    fifth = site.build(site.Archive.read(root), out)
    assert sorted(p.name for p in fifth.written) == [
        "2026-03-10.html",
        "2026-03-12.html",
        "index.html",
    ]


def test_a_day_whose_frames_are_gone_leaves_the_site(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    make(root, catalog=False)
    out = root / "site"
    site.build(site.Archive.read(root), out)
    for p in sorted((root / "2026-03" / "2026-03-09").rglob("*"), reverse=True):
        p.unlink() if p.is_file() else p.rmdir()
    built = site.build(site.Archive.read(root), out)
    assert list(built.pages) == [DAYS[1]]
    assert sorted(p.name for p in (out / "days").iterdir()) == ["2026-03-10.html"]
    assert sorted(p.name for p in (out / "thumbs").iterdir()) == ["2026-03-10"]


def test_an_archive_without_catalog_shows_its_kept_frames(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "archive"
    make(root, catalog=False)
    code, out, _ = browse(str(root), "--no-open", capsys=capsys)
    assert code == 0
    text = Path(out[-1]).read_text()
    data = json.loads(re.search(r'id="data">(.*?)</script>', text)[1])
    assert {s for runs in data["lanes"].values() for _, _, s in runs} == {"active"}
    assert len(data["shots"]) == 2 * 20  # 30 ticks, every third a repeat that left no file
    index = (root / "site" / "index.html").read_text()
    assert 'href="days/2026-03-09.html"' in index and 'href="days/2026-03-10.html"' in index


def test_the_archive_walkers_skip_the_site(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its thumbnails are named like frames: dedup, report and highlights must not see them."""
    root = tmp_path / "archive"
    make(root, catalog=False)
    assert browse(str(root), "--no-open", capsys=capsys)[0] == 0
    assert not [p for p in store.walk([root]) if "site" in p.relative_to(root).parts]
    assert cli.main(["dedup", "--json", str(root)]) == 0
    decided = [json.loads(line)["path"] for line in capsys.readouterr().out.splitlines()]
    assert decided and not [p for p in decided if "/site/" in p]
    assert cli.main(["highlights", str(root), "--json", "-n", "50"]) == 0
    picked = [json.loads(line)["path"] for line in capsys.readouterr().out.splitlines()]
    assert picked and not [p for p in picked if "/site/" in p]


def test_browse_opens_the_page_in_the_default_browser(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    make(root)
    seen = tmp_path / "opened.txt"
    opener = tmp_path / "opener"
    opener.write_text(f'#!/bin/sh\nprintf "%s" "$1" > "{seen}"\n')
    opener.chmod(0o755)
    env = {**os.environ, "BROWSER": str(opener)}
    run = subprocess.run(
        [sys.executable, "-m", "screenrecord", "browse", str(root), "--day", "2026-03-09"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    page = root / "site" / "days" / "2026-03-09.html"
    assert run.stdout.splitlines()[-1] == str(page)
    assert seen.read_text() == page.as_uri()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--day", "10/03/2026"], "--day '10/03/2026': not a date; use YYYY-MM-DD"),
        (["--day", "2026-03-11"], "--day 2026-03-11: no captures that day in"),
    ],
)
def test_a_bad_day_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    root = tmp_path / "archive"
    make(root)
    code, out, err = browse(str(root), "--no-open", *args, capsys=capsys)
    assert code == 2 and out == []
    assert err.startswith(f"screenrecord: {message}") and err.count("\n") == 1
    assert not (root / "site").exists()


def test_bad_paths_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "archive"
    make(root)
    (tmp_path / "a-file").write_text("x")
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "index.html").write_text("my own page")
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        ([str(tmp_path / "nowhere")], "not a folder; give the archive root"),
        ([str(empty)], f"screenrecord: {empty}: no frames here"),
        ([str(root), "--out", str(tmp_path / "a-file")], "is a file; give a folder for the site"),
        ([str(root), "--out", str(foreign)], "not empty and not a screenrecord site"),
    ]
    for args, message in cases:
        code, out, err = browse(*args, "--no-open", capsys=capsys)
        assert code == 2 and out == [], args
        assert message in err and err.count("\n") == 1, err
    assert (foreign / "index.html").read_text() == "my own page"
    assert list(foreign.iterdir()) == [foreign / "index.html"]
    assert list(empty.iterdir()) == []


def test_lanes_follow_the_gaps_between_decisions() -> None:
    day = date(2026, 3, 9)
    at = lambda h, m: datetime.combine(day, time(h, m))  # noqa: E731
    events = [
        (at(9, 0), 1, "active"),
        (at(9, 3), 1, "active"),
        (at(9, 6), 1, "unchanged"),
        (at(9, 9), 1, "unchanged"),
        (at(13, 0), 1, "active"),  # after a long gap: one interval from its own time
        (at(23, 59), 2, "error"),  # clipped at midnight
    ]
    assert siteday.lanes(events, day, 180) == {
        1: [
            (9 * 3600, 9 * 3600 + 360, "active"),  # each tick until the next one
            (9 * 3600 + 360, 9 * 3600 + 540, "unchanged"),
            (13 * 3600, 13 * 3600 + 180, "active"),
        ],
        2: [(86340, 86400, "error")],
    }


def test_a_folder_named_like_a_day_that_is_no_date_is_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "archive"
    make(root)
    odd = root / "2026-02" / "2026-02-30"
    odd.mkdir(parents=True)
    (odd / "2026-02-30_10.00.00.000000_1.png").write_bytes(b"not a frame either")
    code, out, _ = browse(str(root), "--no-open", capsys=capsys)
    assert code == 0 and out == [str(root / "site" / "days" / "2026-03-10.html")]
    assert "2026-02-30: not a date, left out of the site" in caplog.text
    assert sorted(p.name for p in (root / "site" / "days").iterdir()) == [
        "2026-03-09.html",
        "2026-03-10.html",
    ]


def test_a_day_of_repeats_only_has_a_page_of_lanes_and_no_frame(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The catalog knows a day whose screens never changed: no frame on disk, still a page."""
    root = tmp_path / "archive"
    make(root)
    quiet = sitearchive.ticks(date(2026, 3, 11), time(9), timedelta(minutes=3), 5)
    sitearchive.fill(root, quiet, duplicate_every=1)
    assert not (root / "2026-03" / "2026-03-11").exists()
    code, out, _ = browse(str(root), "--no-open", "--day", "2026-03-11", capsys=capsys)
    assert code == 0
    data = json.loads(re.search(r'id="data">(.*?)</script>', Path(out[-1]).read_text())[1])
    assert data["shots"] == [] and data["highlights"] == []
    assert {s for runs in data["lanes"].values() for _, _, s in runs} == {"unchanged"}
    assert data["prev"] == "2026-03-10.html"


def test_report_html_writes_the_very_pages_browse_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One day page: `report --html` of a period writes browse's pages of its days, byte for
    byte where both are written at the same depth (the links to the frames are relative)."""
    root = tmp_path / "archive"
    make(root)
    assert browse(str(root), "--no-open", "--out", str(tmp_path / "browsed"), capsys=capsys)[0] == 0
    out = tmp_path / "reported"
    code = cli.main(
        ["report", str(root), "--since", "2026-03-09", "--until", "2026-03-10", "--html", str(out)]
    )
    assert code == 0
    written = [p for p in capsys.readouterr().err.splitlines() if p.startswith("wrote ")]
    pages = [out / "days" / f"{day}.html" for day in DAYS]
    assert written == [f"wrote {p}" for p in [*pages, out / "index.html"]]
    for page in pages:
        assert page.read_bytes() == (tmp_path / "browsed" / "days" / page.name).read_bytes()
    assert (out / "index.html").read_bytes() == (tmp_path / "browsed" / "index.html").read_bytes()
    for p in [out, *out.rglob("*")]:  # owner-only, as the archive
        assert stat.S_IMODE(p.stat().st_mode) == (0o700 if p.is_dir() else 0o600), p


def test_report_html_of_one_day_is_the_site_of_that_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "archive"
    make(root)
    assert browse(str(root), "--no-open", capsys=capsys)[0] == 0
    out = tmp_path / "pages"
    for day in DAYS:  # each run leaves the site of its own period
        assert cli.main(["report", str(root), "--day", str(day), "--html", str(out)]) == 0
    assert [p.name for p in (out / "days").iterdir()] == ["2026-03-10.html"]
    data = sitearchive.page_data(out / "days" / "2026-03-10.html")
    # the same day as browse shows it, less the link to a day outside the period
    browsed = sitearchive.page_data(root / "site" / "days" / "2026-03-10.html")
    assert (data["prev"], browsed["prev"]) == (None, "2026-03-09.html")
    for key in ("shots", "lanes", "highlights", "monitors"):
        assert data[key] == browsed[key], key
    # a period without captures writes nothing; a folder of something else is refused
    capsys.readouterr()
    empty = tmp_path / "empty"
    assert cli.main(["report", str(root), "--day", "2026-03-01", "--html", str(empty)]) == 0
    assert not empty.exists() and "wrote" not in capsys.readouterr().err
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    assert cli.main(["report", str(root), "--html", str(tmp_path / "mine")]) == 2
    err = capsys.readouterr().err
    assert f"--html {tmp_path / 'mine'}: not empty and not a screenrecord site" in err
    assert list((tmp_path / "mine").iterdir()) == [tmp_path / "mine" / "notes.txt"]
