"""What `dedup` decides and says: the user's config file, the order of the files given, Ctrl-C
during `--apply`, the summary of a rerun that finishes an interrupted one."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.archive import tree
from helpers.frames import SEQ, boxed, load, make_archive
from helpers.procs import stop
from PIL import Image

from screenrecord.archive.journal import FILE_NAME as JOURNAL
from screenrecord.cli import main
from screenrecord.config import default_path


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def near_archive(tmp_path: Path) -> Path:
    """Screens, near-duplicates of them, and repeats of those near-duplicates."""
    seq = [load(SEQ[i]) for i in (0, 5, 10)]
    frames = [seq[0], boxed(seq[0]), boxed(seq[0]), seq[1], boxed(seq[1]), seq[2], boxed(seq[1])]
    make_archive(tmp_path / "screens", frames)
    return tmp_path / "screens"


DEFAULT_DECISIONS = ["new", "near", "duplicate", "new", "near", "new", "duplicate"]


def decisions(out: str) -> list[str]:
    return [json.loads(line)["decision"] for line in out.splitlines()]


def test_thresholds_come_from_the_users_config_file(near_archive, capsys):
    code, out, _ = run_cli(capsys, "dedup", "--json", str(near_archive))
    assert code == 0 and decisions(out) == DEFAULT_DECISIONS  # no config file: the defaults
    config = default_path()
    config.parent.mkdir(parents=True)
    config.write_text(
        "[dedup]\nduplicate_threshold = 0.96\nnear_threshold = 0.9\nkeep_local_changes = false\n"
    )
    code, out, _ = run_cli(capsys, "dedup", "--json", str(near_archive))
    assert code == 0  # the boxed screens (~0.97) are duplicates by the user's thresholds
    assert decisions(out) == [
        "new",
        "duplicate",
        "duplicate",
        "new",
        "duplicate",
        "new",
        "duplicate",
    ]
    options = ["--duplicate-threshold", "0.99", "--near-threshold", "0.95"]
    code, out, _ = run_cli(capsys, "dedup", "--json", *options, str(near_archive))
    assert code == 0 and decisions(out) == DEFAULT_DECISIONS  # the options given win


def test_a_broken_config_file_is_one_line_and_nothing_moves(near_archive, capsys):
    config = default_path()
    config.parent.mkdir(parents=True)
    config.write_text("[dedup]\nduplicate_threshold = 2\n")
    before = tree(near_archive)
    code, out, err = run_cli(capsys, "dedup", "--apply", str(near_archive))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and str(config) in err and "duplicate_threshold" in err
    assert tree(near_archive) == before


def test_files_given_are_decided_in_time_order(near_archive, capsys):
    code, out, _ = run_cli(capsys, "dedup", "--json", str(near_archive))
    in_order = [json.loads(line) for line in out.splitlines()]
    files = [r["path"] for r in in_order]
    code, out, _ = run_cli(capsys, "dedup", "--json", *reversed(files))
    assert code == 0
    assert [json.loads(line) for line in out.splitlines()] == in_order


def test_a_rerun_that_finishes_an_interrupted_run_says_so(near_archive, capsys):
    """A journal whose plan is complete and none of whose moves were made (a run killed as it
    began moving): the rerun finishes it, then decides what is left, and says both apart."""
    code, out, _ = run_cli(capsys, "dedup", "--json", str(near_archive))
    aside = [r for r in map(json.loads, out.splitlines()) if r["decision"] != "new"]
    run = "20260312T080000123456"
    lines = [{"run": run, "started": "2026-03-12T08:00:00.123456"}]
    for r in aside:
        src = Path(r["path"])
        folder = "dedup" if r["decision"] == "duplicate" else "similar"
        dst = src.parent / folder / src.name
        lines.append(
            {
                "run": run,
                "src": src.relative_to(near_archive).as_posix(),
                "dst": dst.relative_to(near_archive).as_posix(),
                "decision": r["decision"],
            }
        )
    lines.append({"run": run, "planned": True})
    (near_archive / JOURNAL).write_text("".join(json.dumps(line) + "\n" for line in lines))
    code, out, _ = run_cli(capsys, "dedup", "--apply", str(near_archive))
    assert code == 0
    assert out.splitlines() == [
        "screenrecord dedup: finished the interrupted run: moved 4 files; "
        "then 3 frames: 0 duplicate, 0 near, 3 new, 0 errors; 1 other file ignored",
        "moved 0 files (0 B of duplicates into dedup/, near-duplicates into similar/)",
    ]


@pytest.fixture
def long_archive(tmp_path: Path) -> Path:
    """3,000 frames of one still screen (a real screenshot, made small): the first is new, the
    rest are duplicates of it, which take seconds to decide and seconds to move."""
    small = Image.fromarray(load(SEQ[0])).resize((64, 40))
    root = tmp_path / "screens"
    for n in range(3000):
        day = f"2026-03-{10 + n // 1000}"
        folder = root / day[:7] / day
        folder.mkdir(parents=True, exist_ok=True)
        k = n % 1000
        small.save(folder / f"{day}_{9 + k // 60:02d}.{k % 60:02d}.00.{n:06d}_1.png")
    return root


def interrupt(root: Path, when: str) -> tuple[int, str]:
    """Ctrl-C (SIGINT) to `dedup --apply ROOT` as soon as its journal shows it `when`:
    "deciding" (moves planned, the plan not complete) or "moving" (the plan complete)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "screenrecord", "dedup", "--apply", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    journal = root / JOURNAL
    mark = b'"planned"' if when == "moving" else b'"src"'
    while proc.poll() is None:
        if journal.exists():
            with journal.open("rb") as f:
                f.seek(max(0, journal.stat().st_size - 200))
                if mark in f.read():
                    break
    return stop(proc, signal.SIGINT, timeout=60)


def moved_aside(root: Path) -> int:
    return sum(1 for p in root.rglob("dedup/*.png") if not (p.parent.parent / p.name).exists())


def test_ctrl_c_while_deciding_moves_nothing_and_a_rerun_finishes(long_archive):
    before = tree(long_archive)
    code, err = interrupt(long_archive, "deciding")
    assert code == 130
    (line,) = err.splitlines()
    found = re.fullmatch(
        r"screenrecord dedup: interrupted after deciding (\d+) frames: nothing moved; "
        r"run the same command again to finish",
        line,
    )
    assert found and 1 < int(found[1]) < 3000, line
    assert {k: v for k, v in tree(long_archive).items() if k != JOURNAL} == before
    done = subprocess.run(
        [sys.executable, "-m", "screenrecord", "dedup", "--apply", str(long_archive)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "moved 2999 files" in done.stdout and "interrupted" not in done.stdout
    assert moved_aside(long_archive) == 2999


def test_ctrl_c_while_moving_says_what_moved_and_a_rerun_finishes(long_archive):
    code, err = interrupt(long_archive, "moving")
    assert code == 130
    (line,) = err.splitlines()
    found = re.fullmatch(
        r"screenrecord dedup: interrupted while moving files: moved (\d+) of 2999 files; "
        r"run the same command again to finish \(the (\d+) left are in the journal\)",
        line,
    )
    assert found, line
    moved, left = int(found[1]), int(found[2])
    assert moved == moved_aside(long_archive) and moved + left == 2999 and left > 0
    done = subprocess.run(
        [sys.executable, "-m", "screenrecord", "dedup", "--apply", str(long_archive)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        "screenrecord dedup: finished the interrupted run: moved 2999 files; then 1 frame: "
        "0 duplicate, 0 near, 1 new, 0 errors"
    ), done.stdout
    assert moved_aside(long_archive) == 2999
