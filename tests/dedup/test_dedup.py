from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers.archive import tree
from helpers.frames import (
    CORPUS,
    SEQ,
    bomb_png,
    boxed,
    load,
    make_archive,
    manifest,
    needs_corpus,
)
from helpers.procs import stop
from PIL import Image

from screenrecord.archive.journal import FILE_NAME as JOURNAL
from screenrecord.cli import main

# capture order -> (day, time) for a small seed-layout archive made of the shipped screenshots
STAMPS = [
    "09.00.00.000001",
    "09.02.00.000002",
    "09.04.00.000003",
    "09.06.00.000004",
    "09.08.00.000005",
]


def run_cli(*args: str, capsys=None) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# What dedup decides for the frames of `archive`, by position in capture order; the rest are
# new. The reference loop (frames.reference_decisions) decides the same but for frame 9, a
# duplicate by its score (0.9948) in which a line of text appeared: kept, near
# (keep_local_changes).
DUPLICATES = [1, 4, 5, 7, 8, 11, 16, 17]
NEARS = [9, 14, 15]


@pytest.fixture
def archive(tmp_path):
    seq = [load(p) for p in SEQ]
    # frames 0..15, then the lock screen (10) again the next day: a repeat across folders
    paths = make_archive(tmp_path, seq)
    paths += make_archive(tmp_path, [seq[10].copy(), seq[4].copy()], day="2026-03-11", start=16)
    (tmp_path / "2026-03" / "2026-03-10" / ".DS_Store").write_bytes(b"\0\1junk")
    (tmp_path / "2026-03" / "capture.log").write_text("cron ran\n")
    return tmp_path


def test_dry_run_moves_nothing_and_summarises(archive, capsys):
    before = tree(archive)
    code, out, _ = run_cli("dedup", str(archive), capsys=capsys)
    assert code == 0
    assert tree(archive) == before
    paths = sorted(archive.rglob("*.png"))  # the order dedup walks them
    freed = sum(paths[i].stat().st_size for i in DUPLICATES)
    assert (
        f"18 frames: {len(DUPLICATES)} duplicate, {len(NEARS)} near, "
        f"{18 - len(DUPLICATES) - len(NEARS)} new, 0 errors; 2 other files ignored" in out
    )
    assert freed < 1e6  # under 1 MB it reads in kB, not "0.5 MB"
    assert f"would free {freed / 1e3:.1f} kB; nothing moved" in out


def test_json_lines_and_repeat_across_days(archive, capsys):
    code, out, err = run_cli("dedup", "--json", str(archive), capsys=capsys)
    assert code == 0
    recs = [json.loads(line) for line in out.splitlines()]
    assert len(recs) == 18
    assert set(recs[0]) == {"path", "decision", "score", "match", "error", "moved_to"}
    assert recs[0]["decision"] == "new" and recs[0]["score"] is None and recs[0]["match"] is None
    by_name = {Path(r["path"]).name: r for r in recs}
    lock_again = by_name["2026-03-11_09.16.00.000016_1.png"]
    assert lock_again["decision"] == "duplicate"
    assert Path(lock_again["match"]).name == "2026-03-10_09.10.00.000010_1.png"
    assert lock_again["score"] == 1.0
    assert "18 frames" in err  # the summary stays off stdout
    # the duplicate by score kept for a line of text says where and why
    line = recs[9]
    assert line["decision"] == "near" and line["score"] > 0.99
    (x, y, w, h), *others = line["regions"]
    assert w >= 96 and all(ow < 96 for _, _, ow, _ in others)
    assert line["reason"].startswith(f"duplicate by score {line['score']:.4f}; kept: ")
    assert f"{w}x{h} at {x},{y}" in line["reason"]
    code, out, _ = run_cli("dedup", "--json", "--no-local-changes", str(archive), capsys=capsys)
    plain = [json.loads(line) for line in out.splitlines()]
    assert plain[9]["decision"] == "duplicate"
    assert all(set(r) == set(recs[0]) for r in plain)  # no regions, no reason


def test_apply_then_undo_restores_the_tree_byte_for_byte(archive, capsys):
    before = tree(archive)
    code, out, _ = run_cli("dedup", "--json", "--apply", str(archive), capsys=capsys)
    assert code == 0
    recs = [json.loads(line) for line in out.splitlines()]
    dups = [Path(r["path"]) for r in recs if r["decision"] == "duplicate"]
    nears = [Path(r["path"]) for r in recs if r["decision"] == "near"]
    assert dups and nears
    for p in dups:
        assert not p.exists() and (p.parent / "dedup" / p.name).exists()
    for p in nears:
        assert not p.exists() and (p.parent / "similar" / p.name).exists()
    # a second run finds nothing more to move and does not walk dedup/ or similar/
    code, out, _ = run_cli("dedup", "--json", str(archive), capsys=capsys)
    later = [json.loads(line) for line in out.splitlines()]
    assert all(r["decision"] == "new" for r in later)
    assert not any("/dedup/" in r["path"] or "/similar/" in r["path"] for r in later)
    code, out, _ = run_cli("undo", str(archive), capsys=capsys)
    assert code == 0 and f"{len(dups) + len(nears)} files put back" in out
    assert tree(archive) == before
    assert not any(p.name in ("dedup", "similar") for p in archive.rglob("*"))


def test_apply_never_overwrites_a_file_already_set_aside(archive, capsys):
    code, out, _ = run_cli("dedup", "--json", str(archive), capsys=capsys)
    dup = next(
        Path(r["path"]) for r in map(json.loads, out.splitlines()) if r["decision"] == "duplicate"
    )
    (dup.parent / "dedup").mkdir()
    squatter = dup.parent / "dedup" / dup.name
    squatter.write_bytes(b"someone else's file")
    run_cli("dedup", "--apply", str(archive), capsys=capsys)
    assert squatter.read_bytes() == b"someone else's file"
    assert not dup.exists()
    assert (dup.parent / "dedup" / f"{dup.stem}~1{dup.suffix}").exists()


def corrupt_files(folder: Path) -> dict[str, str]:
    """Every kind of bad file, named like frames; returns name -> expected reason fragment."""
    folder.mkdir(parents=True, exist_ok=True)
    good = (
        (folder / "2026-03-10_10.00.00.000000_1.png").read_bytes()
        if (folder / "2026-03-10_10.00.00.000000_1.png").exists()
        else None
    )
    cases = {}
    name = lambda n: f"2026-03-10_11.{n:02d}.00.000000_1.png"  # noqa: E731
    Image.fromarray(load(SEQ[0])).save(folder / name(1))
    data = (folder / name(1)).read_bytes()
    (folder / name(1)).write_bytes(data[: len(data) // 2])
    cases[name(1)] = "cannot decode"
    (folder / name(2)).write_bytes(b"")
    cases[name(2)] = "empty file"
    (folder / name(3)).write_text("this is not a picture\n")
    cases[name(3)] = "not an image"
    (folder / name(4)).write_bytes(bomb_png(100000, 100000))
    cases[name(4)] = "dimensions"
    Image.fromarray(load(SEQ[0])[:16, :16]).save(folder / name(5))
    cases[name(5)] = "too small"
    del good
    return cases


def test_corrupt_files_are_errors_left_in_place(tmp_path, capsys):
    folder = tmp_path / "2026-03" / "2026-03-10"
    cases = corrupt_files(folder)
    rgb = load(SEQ[3])
    variants = {
        "2026-03-10_12.00.00.000000_1.png": Image.fromarray(rgb).convert(
            "P", palette=Image.Palette.ADAPTIVE
        ),
        "2026-03-10_12.01.00.000000_1.png": Image.fromarray(rgb).convert("RGBA"),
        "2026-03-10_12.02.00.000000_1.png": Image.fromarray(rgb).convert("L"),
        "2026-03-10_12.03.00.000000_1.png": Image.fromarray(
            load(SEQ[5])[..., 0].astype(np.uint16) * 257
        ),
    }
    for n, im in variants.items():
        im.save(folder / n)
    before = tree(tmp_path)
    code, out, err = run_cli("dedup", "--json", "--apply", str(tmp_path), capsys=capsys)
    assert code == 1
    recs = {Path(r["path"]).name: r for r in map(json.loads, out.splitlines())}
    for n, reason in cases.items():
        assert recs[n]["decision"] == "error", n
        assert reason in recs[n]["error"] and n in recs[n]["error"]
        assert "\n" not in recs[n]["error"]
        assert (folder / n).exists()
    for n in variants:
        assert recs[n]["decision"] in ("new", "near", "duplicate"), recs[n]
    assert "5 errors" in err
    for n in cases:
        assert (
            tree(tmp_path)[str((folder / n).relative_to(tmp_path))]
            == before[str((folder / n).relative_to(tmp_path))]
        )


def test_usage_errors_exit_2(tmp_path, capsys):
    code, _, err = run_cli("dedup", str(tmp_path / "nowhere"), capsys=capsys)
    assert code == 2 and "nowhere: no such file or folder" in err
    code, _, err = run_cli("dedup", "--near-threshold", "0.999", str(tmp_path), capsys=capsys)
    assert code == 2 and "thresholds" in err
    code, out, _ = run_cli("undo", str(tmp_path), capsys=capsys)
    assert code == 0 and "nothing to undo" in out  # not an error (issue 12)
    code, _, _ = run_cli("dedup", capsys=capsys)
    assert code == 2


def test_compare_prints_the_score(tmp_path, capsys):
    from helpers.frames import reference_ssim

    code, out, _ = run_cli("compare", str(SEQ[0]), str(SEQ[2]), capsys=capsys)
    assert code == 0
    assert float(out) == pytest.approx(reference_ssim(load(SEQ[0]), load(SEQ[2])), abs=1e-4)


def test_interrupted_moves_are_finished_by_a_rerun(archive, capsys):
    """A journal whose plan is complete but whose moves stopped halfway: the rerun finishes."""
    from screenrecord import dedup
    from screenrecord.archive.journal import Journal

    run_cli("dedup", "--apply", str(archive), capsys=capsys)
    finished = tree(archive)
    run_cli("undo", str(archive), capsys=capsys)
    # replay the same plan by hand and stop after half of the moves, as a kill -9 would
    run_cli("dedup", "--apply", str(archive), capsys=capsys)
    j = Journal(archive)
    (run,) = j.runs()
    moves = list(j.moves(run.id))
    run_cli("undo", str(archive), capsys=capsys)
    j = Journal(archive)
    rid = j.begin()
    for m in moves:
        j.write({**m, "run": rid})
    j.write({"run": rid, "planned": True}, sync=True)
    j.close()
    for m in moves[: len(moves) // 2]:
        dedup.move(archive, m)
    code, _, err = run_cli("dedup", "--apply", str(archive), capsys=capsys)
    assert code == 0
    after = {k: v for k, v in tree(archive).items() if k != JOURNAL}
    assert after == {k: v for k, v in finished.items() if k != JOURNAL}


def test_a_journal_left_by_an_earlier_version_is_finished(archive, capsys):
    """An interrupted run's journal, written line by line as earlier versions wrote it (one JSON
    object per line, `json.dumps`' separators), half its moves done: the next run finishes it."""
    code, out, _ = run_cli("dedup", "--json", str(archive), capsys=capsys)
    aside = [
        (Path(r["path"]), r["decision"])
        for r in map(json.loads, out.splitlines())
        if r["decision"] in ("duplicate", "near")
    ]
    assert len(aside) == len(DUPLICATES) + len(NEARS)
    before = tree(archive)
    run = "20260312T080000123456"
    lines = [f'{{"run": "{run}", "started": "2026-03-12T08:00:00.123456"}}']
    for p, decision in aside:
        src = p.relative_to(archive).as_posix()
        dst = (p.parent / ("dedup" if decision == "duplicate" else "similar") / p.name).relative_to(
            archive
        )
        lines.append(
            f'{{"run": "{run}", "src": "{src}", "dst": "{dst.as_posix()}", "decision": "{decision}"}}'
        )
    lines.append(f'{{"run": "{run}", "planned": true}}')
    (archive / JOURNAL).write_text("".join(line + "\n" for line in lines))
    for line in lines[1 : len(aside) // 2 + 1]:  # moved before the kill
        m = json.loads(line)
        (archive / m["dst"]).parent.mkdir(exist_ok=True)
        os.rename(archive / m["src"], archive / m["dst"])
    code, out, err = run_cli("dedup", "--json", "--apply", str(archive), capsys=capsys)
    assert code == 0 and f"moved {len(aside)} files" in err  # the moves left, finished
    assert all(json.loads(line)["decision"] == "new" for line in out.splitlines())
    for p, decision in aside:
        assert (p.parent / ("dedup" if decision == "duplicate" else "similar") / p.name).is_file()
        assert not p.exists()
    code, out, _ = run_cli("undo", str(archive), capsys=capsys)
    assert code == 0 and f"{len(aside)} files put back" in out
    assert tree(archive) == before


def kill_during_apply(root: Path, when: str) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "screenrecord", "dedup", "--apply", "--no-local-changes", str(root)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    journal = root / JOURNAL
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        text = journal.read_text() if journal.exists() else ""
        if (when == "planning" and '"src"' in text) or (when == "moving" and '"planned"' in text):
            break
        time.sleep(0.001)
    stop(proc, signal.SIGKILL)


@needs_corpus
@pytest.mark.parametrize("when", ["planning", "moving"])
def test_kill_9_during_apply_loses_nothing(tmp_path, when, capsys):
    root = tmp_path / "corpus"
    shutil.copytree(CORPUS, root)
    for p in root.rglob("*"):
        os.chmod(p, 0o700 if p.is_dir() else 0o600)
    before = tree(root)
    kill_during_apply(root, when)
    # every file is in exactly one place: where it was, or set aside under the same name
    # (or, killed between link and unlink, in both as one file: two names of the same inode)
    now = tree(root)
    for rel, digest in before.items():
        p = Path(rel)
        places = [
            q
            for q in (p, p.parent / "dedup" / p.name, p.parent / "similar" / p.name)
            if now.get(str(q)) == digest
        ]
        assert len(places) >= 1, rel
        assert len({(root / q).stat().st_ino for q in places}) == 1, rel
    code, _, _ = run_cli("dedup", "--apply", "--no-local-changes", str(root), capsys=capsys)
    assert code == 0  # the score alone decides: the manifest's reference decisions
    want = {r["path"]: r["ref_decision"] for r in manifest()}
    done = tree(root)
    for rel, decision in want.items():
        p = Path(rel)
        where = {
            "duplicate": p.parent / "dedup" / p.name,
            "near": p.parent / "similar" / p.name,
            "new": p,
        }[decision]
        assert str(where) in done, (rel, decision)
    run_cli("undo", str(root), capsys=capsys)
    assert tree(root) == before


def test_apply_never_moves_through_a_link_out_of_the_archive(archive, tmp_path_factory, capsys):
    outside = tmp_path_factory.mktemp("outside")
    day = archive / "2026-03" / "2026-03-10"
    (day / "dedup").symlink_to(outside, target_is_directory=True)
    code, out, err = run_cli("dedup", "--json", "--apply", str(archive), capsys=capsys)
    dups = [
        Path(r["path"]) for r in map(json.loads, out.splitlines()) if r["decision"] == "duplicate"
    ]
    assert any(p.parent == day for p in dups)
    assert list(outside.iterdir()) == []
    for p in dups:
        if p.parent == day:
            assert p.exists(), p  # left in place


@pytest.fixture
def near_archive(tmp_path):
    """Screens, near-duplicates of them, and repeats of those near-duplicates."""
    seq = [load(SEQ[i]) for i in (0, 5, 10)]  # three screens that differ
    frames = [seq[0], boxed(seq[0]), boxed(seq[0]), seq[1], boxed(seq[1]), seq[2], boxed(seq[1])]
    make_archive(tmp_path, frames)
    return tmp_path


def test_after_apply_every_match_names_a_file_that_exists(near_archive, capsys):
    code, out, _ = run_cli("dedup", "--json", "--apply", str(near_archive), capsys=capsys)
    assert code == 0
    recs = [json.loads(line) for line in out.splitlines()]
    assert [r["decision"] for r in recs] == [
        "new", "near", "duplicate", "new", "near", "new", "duplicate",
    ]  # fmt: skip
    matches = [Path(r["match"]) for r in recs if r["match"]]
    assert len(matches) == 6  # all but the first frame: new ones name their best match too
    assert all(m.is_file() for m in matches), [m for m in matches if not m.is_file()]
    # the repeats of near frames match them where they are now, in similar/
    assert [Path(r["match"]).parent.name for r in recs if r["decision"] == "duplicate"] == [
        "similar",
        "similar",
    ]
    for r in recs:  # and every frame is where its line says
        assert Path(r["moved_to"] or r["path"]).is_file()


def test_progress_total_is_the_number_of_frames_decided(near_archive, capsys):
    from screenrecord import dedup
    from screenrecord.models import DedupSettings

    settings = DedupSettings(device="cpu")

    class Counted:
        def __init__(self) -> None:
            self.total: int | None = None
            self.done = 0

        def start(self, total: int) -> None:
            self.total = total

        def advance(self, n: int = 1) -> None:
            self.done += n

    bar = Counted()
    summary = dedup.run([near_archive], settings, apply=True, on_progress=bar)
    assert bar.total == summary.frames == bar.done == 7
    # now similar/ folders exist: their frames feed the rings but are not decided again
    assert any(p.parent.name == "similar" for p in near_archive.rglob("*.png"))
    bar = Counted()
    summary = dedup.run([near_archive], settings, on_progress=bar)
    assert bar.total == summary.frames == bar.done == 3
    assert (summary.new, summary.near, summary.duplicate) == (3, 0, 0)
