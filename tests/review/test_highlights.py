"""highlights on the labelled corpus: unusual, distinct, never the long-running repeats."""

from __future__ import annotations

import csv
import itertools
import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from helpers.frames import CORPUS, needs_corpus
from PIL import Image

from screenrecord import cli
from screenrecord.archive.catalog import Catalog
from screenrecord.engine import prepare, ssim
from screenrecord.models import Kind, Record
from screenrecord.review import highlights

REPEATS = {"lock-screen", "idle", "idle-desktop"}


def manifest() -> dict[str, dict[str, str]]:
    with open(CORPUS / "manifest.csv", newline="") as f:
        return {r["path"]: r for r in csv.DictReader(f)}


def episodes(rows: dict[str, dict[str, str]]) -> dict[str, int]:
    """Number each maximal run of one scene label in a monitor's capture order."""
    out, last, n = {}, {}, 0
    for r in sorted(rows.values(), key=lambda r: int(r["seq"])):
        m = r["monitor"]
        if last.get(m) != r["scene"]:
            n += 1
            last[m] = r["scene"]
        out[r["path"]] = n
    return out


@pytest.fixture(scope="module")
def picks() -> list[highlights.Highlight]:
    return highlights.find([CORPUS], n=20)


@needs_corpus
def test_top_picks_are_distinct_new_content(picks: list[highlights.Highlight]) -> None:
    rows = manifest()
    ep = episodes(rows)
    labels = [rows[p.path.relative_to(CORPUS).as_posix()] for p in picks]
    assert len(picks) >= 8
    for r in labels:  # never a long-running repeat, never a frame identical to the one before
        assert r["scene"] not in REPEATS, r
        assert r["kind"] not in ("exact-repeat", "recurrence", "tiny-change"), r
    assert all(r["kind"] == "new-content" for r in labels[:3]), labels[:3]
    top = [ep[r["path"]] for r in labels[:8]]
    assert len(set(top)) == len(top), "two of the top 8 come from one scene"
    assert [p.rank for p in picks] == list(range(1, len(picks) + 1))
    nov = [p.novelty for p in picks]
    assert nov == sorted(nov, reverse=True) and nov[-1] >= highlights.MIN_NOVELTY


@needs_corpus
def test_no_two_picks_are_near_duplicates(picks: list[highlights.Highlight]) -> None:
    """Full-resolution-half SSIM (the engine's exact score) between picks stays below 0.95."""
    top = picks[:12]
    prepared = {p.path: prepare(Image.open(p.path).convert("RGB")) for p in top}
    for a, b in itertools.combinations(top, 2):
        if a.monitor == b.monitor:
            score = ssim(prepared[a.path], prepared[b.path])
            assert score < 0.95, (a.path.name, b.path.name, score)


@needs_corpus
def test_a_period_of_only_repeats_has_no_highlights(tmp_path: Path) -> None:
    rows = manifest()
    for r in rows.values():
        if r["scene"] in REPEATS and r["monitor"] == "1":
            dest = tmp_path / r["path"]
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(CORPUS / r["path"], dest)
    assert len(list(tmp_path.rglob("*.png"))) > 30
    assert highlights.find([tmp_path]) == []


def copy_frames(dest: Path, scenes: set[str], limit: int) -> list[Path]:
    rows = [r for r in manifest().values() if r["scene"] in scenes and r["kind"] == "new-content"]
    out = []
    for r in rows[:limit]:
        p = dest / r["path"]
        p.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CORPUS / r["path"], p)
        out.append(p)
    return out


@needs_corpus
def test_catalog_repeats_make_a_still_screen_ordinary(tmp_path: Path) -> None:
    """A kept frame whose repeats were skipped (only in the catalog) is no highlight."""
    frames = copy_frames(tmp_path, {"window-move", "browser-tab", "man-scroll"}, 6)
    before = highlights.find([tmp_path])
    still = before[0].path
    with Catalog.open(tmp_path) as cat:
        cat.record(
            Record(
                datetime(2026, 3, 10, 12),
                1,
                1920,
                1080,
                Kind.DUPLICATE,
                0.998,
                match=still.relative_to(tmp_path).as_posix(),
            )
        )
    after = highlights.find([tmp_path], catalog_scores=highlights.repeats(tmp_path, None, None))
    assert still in frames and still not in [p.path for p in after]
    # the others stay; frames that `still` kept out (too close in time) may now come in
    assert {p.path for p in before} - {still} <= {p.path for p in after}


@needs_corpus
def test_period_filter_and_monitors(picks: list[highlights.Highlight]) -> None:
    day = highlights.find([CORPUS], since=datetime(2026, 3, 11), until=datetime(2026, 3, 12), n=5)
    assert day and all(p.taken.date() == datetime(2026, 3, 11).date() for p in day)
    assert {p.monitor for p in picks} == {1, 2}  # the short two-monitor period counts too


@needs_corpus
def test_cli_json_and_copy_to(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "archive"
    copy_frames(src, {"window-move", "browser-tab", "terminal-typing"}, 8)
    (src / "2026-03" / "2026-03-10" / "2026-03-10_23.59.59.000000_1.png").write_bytes(b"")  # broken
    out = tmp_path / "best"
    args = ["highlights", str(src), "-n", "3", "--json", "--copy-to", str(out)]
    assert cli.main(args) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["rank"] for x in lines] == [1, 2, 3]
    assert sorted(p.name for p in out.iterdir()) == sorted(Path(x["path"]).name for x in lines)
    for x in lines:
        assert (out / Path(x["path"]).name).read_bytes() == Path(x["path"]).read_bytes()
    assert cli.main(args) == 0  # a rerun finds its own copies and leaves them
    capsys.readouterr()
    (out / Path(lines[0]["path"]).name).write_bytes(b"someone else's file")
    assert cli.main(args) == 1  # never overwritten
    assert "already exists" in capsys.readouterr().err


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["highlights", str(tmp_path / "nope")]) == 2
    assert cli.main(["highlights", str(tmp_path), "-n", "0"]) == 2
    assert cli.main(["highlights", str(tmp_path), "--since", "last week"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3 and all(e.startswith("screenrecord: ") for e in err)


def test_frames_without_corpus(tmp_path: Path) -> None:
    """Distinct drawings are picked; exact copies of one drawing are not (plain clone)."""
    from PIL import ImageDraw

    from screenrecord.archive import store

    t0 = datetime(2026, 1, 5, 9)
    for k in range(8):
        img = Image.new("RGB", (320, 180), "white")
        d = ImageDraw.Draw(img)
        if k < 4:  # four different screens
            d.rectangle((20 + 60 * k, 20, 100 + 60 * k, 160), fill=(40 * k, 90, 200))
            d.ellipse((200 - 40 * k, 30, 300 - 40 * k, 130), fill=(200, 40 * k, 60))
        else:  # one screen left alone: four copies
            d.rectangle((0, 120, 320, 180), fill=(30, 30, 30))
        taken = t0.replace(minute=12 * (k % 5), hour=9 + k // 5)
        store.write_atomic(store.frame_path(tmp_path, taken, 1), store.encode(img))
    found = highlights.find([tmp_path], n=10)
    assert sorted((p.taken.hour, p.taken.minute) for p in found) == [
        (9, 0),
        (9, 12),
        (9, 24),
        (9, 36),
    ]


@pytest.mark.parametrize("dest", ["/proc/1", "/proc/1/new"])
def test_copy_to_a_folder_that_cannot_be_written_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dest: str
) -> None:
    """`/proc/1` is a folder no one can create a file in, root included: one line, no traceback."""
    from PIL import ImageDraw

    from screenrecord.archive import store

    for k in range(3):
        img = Image.new("RGB", (320, 180), "white")
        d = ImageDraw.Draw(img)
        d.rectangle((20 + 60 * k, 20, 100 + 60 * k, 160), fill=(40 * k, 90, 200))
        d.ellipse((200 - 40 * k, 30, 300 - 40 * k, 130), fill=(200, 40 * k, 60))
        taken = datetime(2026, 1, 5, 9, 12 * k)
        store.write_atomic(store.frame_path(tmp_path, taken, 1), store.encode(img))
    assert cli.main(["highlights", str(tmp_path), "--copy-to", dest]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"screenrecord: --copy-to {dest}: cannot copy there")
    assert "give a folder you can write" in line
