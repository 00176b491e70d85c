"""`screenrecord prune` at its edges, as a real subprocess on the real ~200-day archive: retention
off with --json, keep_all of zero and one day in its words, and an archive without a catalog."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from helpers import retention_archive as ra
from helpers.xscreen import screenrecord


@pytest.fixture
def archive(retention_template: ra.Built, tmp_path: Path) -> ra.Built:
    return ra.copy(retention_template, tmp_path / "archive")


def prune(root: Path, cfg: Path, *args: str) -> subprocess.CompletedProcess:
    return screenrecord("prune", str(root), "--config", str(cfg), *args, timeout=120)


def test_json_with_retention_off_is_a_json_object_saying_so(
    archive: ra.Built, tmp_path: Path
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'root = "{archive.root}"\n')
    before = ra.frames_on_disk(archive.root)
    out = prune(archive.root, cfg, "--json", "--apply")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["retention"] == "off" and data["config"] == str(cfg)
    assert data["gone"] == [] and data["applied"] is False and data["removed"] == 0
    assert "retention is off" in out.stderr
    assert ra.frames_on_disk(archive.root) == before


@pytest.mark.parametrize(
    ("keep_all", "words"),
    [("0d", "today (keep_all)"), ("1d", "today and the day before (keep_all)")],
)
def test_keep_all_of_zero_or_one_day_is_accepted_and_said_in_words(
    archive: ra.Built, tmp_path: Path, keep_all: str, words: str
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'root = "{archive.root}"\n[retention]\nkeep_all = "{keep_all}"\nmax_bytes = 1\n'
    )
    check = screenrecord("config", "check", str(cfg))
    assert check.returncode == 0, check.stderr
    out = prune(archive.root, cfg, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["keep_all_days"] == int(keep_all[0])
    assert f"over the budget of 1 B: {words} and 1 frame" in out.stderr
    assert "days (keep_all)" not in out.stderr


@pytest.mark.parametrize("bad", ["-1d", "36h", "a week"])
def test_a_keep_all_that_is_not_whole_days_says_what_is_accepted(tmp_path: Path, bad: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[retention]\nkeep_all = "{bad}"\n')
    out = screenrecord("config", "check", str(cfg))
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "retention.keep_all" in out.stderr and '"0d" (today only)' in out.stderr


SCHEDULE = '["14d: 6/h", "180d: 12/d"]'


def test_an_archive_without_a_catalog_is_pruned_from_its_files(
    archive: ra.Built, retention_template: ra.Built, tmp_path: Path
) -> None:
    """The ~200 days with their catalog deleted (as the original cron script leaves an
    archive): the plan comes from the file names alone and is the catalog's plan here, since the
    idle breaks are gaps between files too; --apply deletes exactly it, journaled and locked, and
    makes no catalog."""
    with_catalog = ra.copy(retention_template, tmp_path / "with-catalog")
    (archive.root / "screenrecord.sqlite").unlink()
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'interval_seconds = 180\n[retention]\nkeep_all = "14d"\nthin = {SCHEDULE}\n')
    before = ra.frames_on_disk(archive.root)
    dry = prune(archive.root, cfg, "--json")
    assert dry.returncode == 0, dry.stderr
    listed = {g["path"] for g in json.loads(dry.stdout)["gone"]}
    expected = json.loads(prune(with_catalog.root, cfg, "--json").stdout)["gone"]
    assert listed and listed == {g["path"] for g in expected}
    assert ra.frames_on_disk(archive.root) == before
    done = prune(archive.root, cfg, "--apply")
    assert done.returncode == 0, done.stderr
    assert f"deleted {len(listed)} files" in done.stdout
    after = ra.frames_on_disk(archive.root)
    assert set(before) - set(after) == listed
    assert all(after[rel] == before[rel] for rel in after)
    assert not (archive.root / "screenrecord.sqlite").exists()
    assert not (archive.root / ".screenrecord-prune.jsonl").exists()
    assert json.loads(prune(archive.root, cfg, "--json").stdout)["gone"] == []  # settled


def test_a_folder_with_neither_catalog_nor_day_folders_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "2026-03-10_09.00.00.000000_1.png").write_bytes(b"not an archive's layout")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[retention]\nthin = {SCHEDULE}\n")
    out = prune(folder, cfg, "--apply")
    assert out.returncode == 2, out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert f"{folder}: not a screenrecord archive" in line and "no day folders" in line
    assert sorted(p.name for p in folder.iterdir()) == ["2026-03-10_09.00.00.000000_1.png"]
