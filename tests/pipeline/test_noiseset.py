"""The labelled noise set (helpers/noiseset.py), built once for this module on Xvfb from real
programs: its labels agree with its pixels, and `dedup` keeps its real changes but not its noise."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import noiseset
from helpers.xscreen import screenrecord

pytestmark = pytest.mark.display

WARMUP = 4
"""Noise ticks at the start of each scene (its noise programs' windows new) before the noise
frames are counted: the ticks the noise mask learns from."""


@pytest.fixture(scope="module")
def noise_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[noiseset.Row]]:
    root = tmp_path_factory.mktemp("noiseset")
    return root, noiseset.generate(root, warmup=WARMUP, rounds=2, tick=0.5)


def decisions(root: Path, *options: str) -> dict[str, str]:
    """`screenrecord dedup --json` over the set (a dry run): each frame's decision by its path."""
    r = screenrecord("dedup", "--json", *options, str(root))
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    return {Path(j["path"]).relative_to(root).as_posix(): j["decision"] for j in lines}


def test_the_set_has_every_label_and_change_in_every_scene(
    noise_set: tuple[Path, list[noiseset.Row]],
) -> None:
    root, rows = noise_set
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert noiseset.read_manifest(root) == rows
    assert {r.scene for r in rows} == set(noiseset.NOISE)
    assert {r.action for r in rows} == {"", "scene", *noiseset.ACTIONS}
    per_scene = Counter((r.scene, r.label) for r in rows)
    for scene in noiseset.NOISE:
        assert per_scene[scene, "change"] == 3, scene
        assert per_scene[scene, "noise"] >= 3, scene
    assert Counter(r.label for r in rows)["repeat"] > 0


def test_the_labels_agree_with_the_pixels(noise_set: tuple[Path, list[noiseset.Row]]) -> None:
    root, rows = noise_set
    assert noiseset.check(root, rows) == []


def test_check_finds_a_label_the_pixels_contradict(
    noise_set: tuple[Path, list[noiseset.Row]],
) -> None:
    """`check` can fail: a change called noise, noise called a repeat."""
    root, rows = noise_set
    typed = next(i for i, r in enumerate(rows) if r.action == "typed")
    noisy = next(i for i, r in enumerate(rows) if r.label == "noise")
    relabelled = list(rows)
    relabelled[typed] = replace(rows[typed], label="noise")
    relabelled[noisy] = replace(rows[noisy], label="repeat")
    wrong = noiseset.check(root, relabelled)
    assert sorted(w.split(":")[0] for w in wrong) == sorted([rows[typed].path, rows[noisy].path])


@pytest.mark.xfail(strict=True, reason="the change signal (issue #25) is not merged yet")
def test_dedup_keeps_every_real_change_and_not_the_noise(
    noise_set: tuple[Path, list[noiseset.Row]],
) -> None:
    root, rows = noise_set
    decided = decisions(root)
    kept = {p for p, d in decided.items() if d in ("new", "near")}
    changes = [r.path for r in rows if r.label == "change"]
    noise = [r.path for r in rows if r.label == "noise" and r.tick > WARMUP]
    assert [p for p in changes if p not in kept] == []
    assert len([p for p in noise if p in kept]) <= 0.1 * len(noise)
