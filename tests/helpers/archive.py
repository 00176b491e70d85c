"""Checks of an archive on disk: its files byte for byte, and its agreement with the catalog."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from PIL import Image

from helpers.xscreen import frames, leftovers, rows
from screenrecord.archive import store


def tree(root: Path) -> dict[str, str]:
    """Every file under root with its sha256: the tree, byte for byte."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def check_archive(root: Path) -> None:
    """Every catalog path exists and every frame on disk is in the catalog, named and sized right."""
    recorded = {r["path"]: r for r in rows(root) if r["path"]}
    on_disk = {p.as_posix() for p in frames(root)}
    assert on_disk == set(recorded)
    for rel, r in recorded.items():
        path = root / rel
        taken, monitor = store.parse_name(path.name)
        assert (taken, monitor) == (datetime.fromisoformat(r["taken"]), r["monitor"])
        folder = store.day_folder(root, taken)
        assert path.parent == (folder / "similar" if r["decision"] == "near" else folder)
        with Image.open(path) as im:
            assert im.size == (r["width"], r["height"])
        assert path.stat().st_size == r["bytes"]
    assert not leftovers(root)
