"""Archive mode: decide every frame of existing folders, then (with --apply) move repeats aside.

Duplicates go to a `dedup/` subfolder and near-duplicates to `similar/` next to the file, as the
original script did. Nothing is deleted or overwritten; every move is journaled before it happens
(archive/journaled.py), so an interrupted run is finished by running again, and `undo` puts it
all back.

    walk     the archive walk: every image under the folders given, in time order
    stages   decoding and preparing, each a few frames ahead of the decisions
    decide   the run: each frame decided by the pipeline; `settings` checks the options
    mover    the sink of `--apply`: a journaled move for each frame set aside
    undo     every move of a folder's journal put back
    summary  what a run tells: its counts, and the `--json` line of each frame
"""

from __future__ import annotations

from screenrecord.dedup.decide import POLICY, run, settings
from screenrecord.dedup.mover import Mover, finish_interrupted, move
from screenrecord.dedup.summary import Summary, to_json
from screenrecord.dedup.undo import Undone, undo
from screenrecord.dedup.walk import Item, count_frames, items

__all__ = [
    "POLICY",
    "Item",
    "Mover",
    "Summary",
    "Undone",
    "count_frames",
    "finish_interrupted",
    "items",
    "move",
    "run",
    "settings",
    "to_json",
    "undo",
]
