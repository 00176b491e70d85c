"""The daemon as a real subprocess against a real headless sway (grim), with no X server."""

from __future__ import annotations

import signal
import time

import numpy as np
import pytest
from helpers.archive import check_archive
from helpers.procs import running, stop
from helpers.sway import COLOURS, _rgb
from helpers.xscreen import frames, rows, start_daemon, wait_rows, wait_ticks, write_config
from PIL import Image


def _decisions(found) -> list[tuple[int, int, int, str]]:
    return [(r["monitor"], r["width"], r["height"], r["decision"]) for r in found]


@pytest.mark.daemon
def test_one_stream_per_output_and_only_changes_are_written(sway_session, tmp_path):
    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root)
    with running(start_daemon(None, cfg, env=sway_session.env)) as proc:
        first = wait_rows(root, 2, proc)
        # One stream per output, at its physical size (HEADLESS-2 is 800x600 at scale 2).
        assert sorted(_decisions(first)) == [(1, 640, 480, "new"), (2, 800, 600, "new")]
        # An unchanged screen writes nothing.
        still = wait_ticks(root, 2, 2, proc)
        assert {r["decision"] for r in still[2:]} == {"duplicate"}
        assert len(frames(root)) == 2
        # A new background on HEADLESS-2 writes that output's frame only.
        sway_session.paint("HEADLESS-2", "#c02040")
        wait_ticks(root, 2, 2, proc)
        code, err = stop(proc, signal.SIGTERM)
    assert code == 0, err
    assert "Traceback" not in err
    kept = [(r["monitor"], r["decision"]) for r in rows(root) if r["path"]]
    assert kept == [(1, "new"), (2, "new"), (2, "new")]
    newest = root / [r for r in rows(root) if r["path"]][-1]["path"]
    assert (np.asarray(Image.open(newest)) == _rgb("#c02040")).all()
    first1 = root / [r for r in rows(root) if r["path"] and r["monitor"] == 1][0]["path"]
    assert (np.asarray(Image.open(first1)) == _rgb(COLOURS["HEADLESS-1"])).all()
    check_archive(root)


@pytest.mark.daemon
def test_outputs_that_come_and_go_end_and_restart_their_streams(sway_session, tmp_path):
    """sway 1.7's headless outputs cannot be disabled (wlroots 0.15: "Unsupported output state
    fields"), so an output is added with `create_output` and removed by a restart of sway with
    fewer outputs: the daemon also rides out the compositor going away and coming back."""
    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root)
    with running(start_daemon(None, cfg, env=sway_session.env)) as proc:
        wait_rows(root, 2, proc)
        assert sway_session.add_output() == "HEADLESS-3"
        added = wait_ticks(root, 2, 3, proc)
        assert (3, 1024, 768, "new") in _decisions(added)
        # The compositor goes away: said once, retried; back with one output, one stream.
        sway_session.stop()
        time.sleep(2.5)  # ticks (1 s apart) find no compositor
        sway_session.start(outputs=1)
        n = len(rows(root))
        back = wait_rows(root, n + 3, proc)[n:]
        assert {r["monitor"] for r in back} == {1}
        # An output added again restarts its stream, at its size.
        assert sway_session.add_output() == "HEADLESS-2"
        again = wait_ticks(root, 2, 2, proc)
        assert {(r["monitor"], r["width"], r["height"]) for r in again[-2:]} == {
            (1, 640, 480),
            (2, 800, 600),
        }
        code, err = stop(proc)
    assert code == 0, err
    assert err.count("cannot capture: sway on Wayland") == 1, err
    assert "capturing again after: sway on Wayland" in err
    assert "Traceback" not in err
    check_archive(root)
