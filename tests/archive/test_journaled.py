"""Journaled runs (archive/journaled.py) on real files: the plan is written before anything
changes, a run cut short is finished from its journal, including a journal that an earlier
version wrote, and the archive's lock is held meanwhile."""

from __future__ import annotations

import json
from pathlib import Path

from screenrecord.archive import lock
from screenrecord.archive.catalog import Catalog
from screenrecord.archive.journal import Journal
from screenrecord.archive.journaled import Archives, Journaled

# A dedup journal as the earlier dedup wrote it, byte for byte: a run applied, a run whose plan
# is complete but that was killed after its first move, and a run killed while planning.
OLD_JOURNAL = (
    '{"run": "20260310T090000000001", "started": "2026-03-10T09:00:00.000001"}\n'
    '{"run": "20260310T090000000001", "src": "a.png", "dst": "dedup/a.png", "decision": "duplicate"}\n'
    '{"run": "20260310T090000000001", "planned": true}\n'
    '{"run": "20260310T090000000001", "applied": 1}\n'
    '{"run": "20260311T100000000002", "started": "2026-03-11T10:00:00.000002"}\n'
    '{"run": "20260311T100000000002", "src": "b.png", "dst": "dedup/b.png", "decision": "duplicate"}\n'
    '{"run": "20260311T100000000002", "src": "c.png", "dst": "similar/c.png", "decision": "near"}\n'
    '{"run": "20260311T100000000002", "src": "d.png", "dst": "dedup/d.png", "decision": "duplicate"}\n'
    '{"run": "20260311T100000000002", "planned": true}\n'
    '{"run": "20260312T110000000003", "started": "2026-03-12T11:00:00.000003"}\n'
    '{"run": "20260312T110000000003", "src": "e.png", "dst": "dedup/e.png", "decision": "duplicate"}\n'
)


def renaming(
    root: Path, tried: list[str], settled: list[tuple[str, list[str]]] | None = None
) -> Journaled:
    """Journaled runs in `root` whose step renames src to dst (done when the file is at dst);
    each step tried is added to `tried`, each run settled to `settled`."""

    def step(rec: dict) -> bool:
        tried.append(rec["src"])
        src, dst = root / rec["src"], root / rec["dst"]
        if src.exists():
            dst.parent.mkdir(exist_ok=True)
            src.rename(dst)
        return dst.exists()

    def settle(run_id: str, done: list[dict]) -> None:
        if settled is not None:
            settled.append((run_id, [r["src"] for r in done]))

    return Journaled(Journal(root), step, settle, "test run (%d moves)")


def test_a_run_cut_short_in_a_journal_of_the_earlier_format_is_finished(tmp_path: Path) -> None:
    for name in "bcde":
        (tmp_path / f"{name}.png").write_bytes(name.encode())
    (tmp_path / "dedup").mkdir()
    (tmp_path / "b.png").rename(tmp_path / "dedup" / "b.png")  # the move done before the kill
    (tmp_path / Journal(tmp_path).path.name).write_text(OLD_JOURNAL)
    tried: list[str] = []
    settled: list[tuple[str, list[str]]] = []
    journaled = renaming(tmp_path, tried, settled)
    done = journaled.finish_interrupted()
    journaled.close()
    assert [r["src"] for r in done] == tried == ["b.png", "c.png", "d.png"]
    assert settled == [("20260311T100000000002", ["b.png", "c.png", "d.png"])]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.png")) == [
        "dedup/b.png",
        "dedup/d.png",
        "e.png",  # its run never finished planning: left alone
        "similar/c.png",
    ]
    runs = {r.id: r for r in Journal(tmp_path).runs()}
    assert runs["20260311T100000000002"].applied and not runs["20260312T110000000003"].planned
    # finished once: a second start has nothing left to do
    again: list[str] = []
    assert renaming(tmp_path, again).finish_interrupted() == [] and again == []


def test_the_plan_is_journaled_before_any_step_and_the_run_marked_applied(tmp_path: Path) -> None:
    for name in "ab":
        (tmp_path / f"{name}.png").write_bytes(name.encode())
    tried: list[str] = []
    settled: list[tuple[str, list[str]]] = []
    journaled = renaming(tmp_path, tried, settled)
    journaled.plan({"src": "a.png", "dst": "dedup/a.png"})
    journaled.plan({"src": "b.png", "dst": "dedup/b.png"})
    journaled.planned(2)
    assert tried == []  # nothing moved while planning
    lines = [json.loads(line) for line in Journal(tmp_path).path.read_text().splitlines()]
    run_id = journaled.run_id
    assert lines[1:] == [
        {"run": run_id, "src": "a.png", "dst": "dedup/a.png"},
        {"run": run_id, "src": "b.png", "dst": "dedup/b.png"},
        {"run": run_id, "planned": 2},
    ]
    assert set(lines[0]) == {"run", "started"}
    assert len(journaled.apply()) == 2
    journaled.close()
    assert settled == [(run_id, ["a.png", "b.png"])]
    last = json.loads(Journal(tmp_path).path.read_text().splitlines()[-1])
    assert last == {"run": run_id, "applied": 2}
    assert sorted(p.name for p in (tmp_path / "dedup").iterdir()) == ["a.png", "b.png"]


def test_archives_hold_the_lock_while_a_run_changes_files(tmp_path: Path) -> None:
    Catalog.open(tmp_path).close()
    inside = tmp_path / "2026-03" / "2026-03-10"
    inside.mkdir(parents=True)
    with Archives.holding([inside], lock.PRUNING) as archives:
        assert archives.roots == [tmp_path.absolute()]
        held = lock.holder(tmp_path)
        assert held is not None and held.doing == lock.PRUNING
    assert lock.holder(tmp_path) is None
