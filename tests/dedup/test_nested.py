"""`dedup --apply` and `undo` on a folder that holds another archive below it: that archive is
locked like the folder's own (refused beside its recorder) and its catalog follows its files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.archive import tree
from helpers.frames import SEQ, load, make_archive
from helpers.procs import running, stop
from helpers.xscreen import rows, start_daemon, wait_rows, write_config
from PIL import Image

from screenrecord.archive import lock, store
from screenrecord.archive.catalog import Catalog
from screenrecord.archive.journaled import Archives
from screenrecord.cli import main
from screenrecord.models import Kind, Record


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def outside(root: Path, nested: Path) -> dict[str, str]:
    """The tree of `root` without the archive nested in it (its recorder keeps writing)."""
    skip = nested.relative_to(root).as_posix() + "/"
    return {k: v for k, v in tree(root).items() if not (k + "/").startswith(skip)}


def images(root: Path) -> dict[str, str]:
    """The frames under `root`, byte for byte (not the catalogs, locks and journals)."""
    return {k: v for k, v in tree(root).items() if k.endswith(".png")}


def cataloged(root: Path, paths: list[Path]) -> None:
    """A catalog in `root` with a row for each frame of `paths`, as its recorder left them."""
    records = []
    for p in paths:
        taken, monitor = store.parse_name(p.name)
        with Image.open(p) as im:
            w, h = im.size
        rel = p.relative_to(root).as_posix()
        records.append(Record(taken, monitor, w, h, Kind.NEW, path=rel, bytes=p.stat().st_size))
    with Catalog.open(root) as cat:
        cat.record_many(records)


@pytest.mark.daemon
def test_apply_and_undo_refuse_a_folder_holding_a_live_archive(xvfb_display, tmp_path, capsys):
    root = tmp_path / "screens"
    seq = [load(p) for p in SEQ]
    make_archive(root, seq)
    code, _, _ = run_cli(capsys, "dedup", "--apply", str(root))
    assert code == 0  # a journal to undo, and frames set aside
    make_archive(root, [seq[10].copy(), seq[4].copy()], day="2026-03-11", start=16)  # repeats
    nested = root / "sub" / "archive"
    cfg = write_config(tmp_path / "c.toml", nested)
    with running(start_daemon(xvfb_display, cfg)) as proc:
        wait_rows(nested, 1, proc)
        before = outside(root, nested)
        code, out, err = run_cli(capsys, "dedup", "--apply", str(root))
        assert code == 1, out + err
        assert err.count("\n") == 1 and out == ""
        assert f"{nested}: another screenrecord (pid {proc.pid}) is already recording" in err
        assert outside(root, nested) == before  # nothing moved, nothing planned
        code, out, err = run_cli(capsys, "undo", str(root))
        assert code == 1, out + err
        assert err.count("\n") == 1 and out == ""
        assert f"{nested}: another screenrecord (pid {proc.pid}) is already recording" in err
        assert outside(root, nested) == before  # nothing put back
        kept = [r["path"] for r in rows(nested) if r["path"]]
        assert kept and all((nested / p).is_file() for p in kept)
        code, err = stop(proc)
    assert code == 0, err


def test_a_nested_archive_is_locked_while_its_files_move(tmp_path):
    root = tmp_path / "screens"
    nested = root / "sub" / "archive"
    starting = root / "other"  # a recorder that has locked its archive, no catalog yet
    nested.mkdir(parents=True)
    starting.mkdir()
    Catalog.open(nested).close()
    (starting / lock.NAME).write_text("")
    with Archives.holding([root]) as archives:
        assert archives.roots == [starting, nested]
        for r in (nested, starting):
            held = lock.holder(r)
            assert held is not None and held.doing == lock.MOVING
    assert lock.holder(nested) is None and lock.holder(starting) is None


def test_a_nested_archive_is_deduplicated_and_its_catalog_follows(tmp_path, capsys):
    root = tmp_path / "screens"
    nested = root / "sub" / "archive"
    seq = [load(p) for p in SEQ]
    make_archive(root, seq[:8])
    cataloged(nested, make_archive(nested, seq))
    before = images(root)
    code, out, _ = run_cli(capsys, "dedup", "--json", "--apply", str(root))
    assert code == 0
    moved = {
        Path(r["path"]).relative_to(nested).as_posix(): Path(r["moved_to"]).relative_to(nested)
        for r in map(json.loads, out.splitlines())
        if r["moved_to"] and Path(r["path"]).is_relative_to(nested)
    }
    assert moved  # the nested archive has repeats, set aside
    paths = {r["taken"]: r["path"] for r in rows(nested)}
    assert all((nested / p).is_file() for p in paths.values())  # the catalog follows its files
    assert sorted(p for p in paths.values() if Path(p).parent.name in ("dedup", "similar")) == (
        sorted(p.as_posix() for p in moved.values())
    )
    code, out, _ = run_cli(capsys, "undo", str(root))
    assert code == 0
    assert images(root) == before
    assert all((nested / r["path"]).is_file() for r in rows(nested))
    assert not any(Path(r["path"]).parent.name in ("dedup", "similar") for r in rows(nested))
