"""What could hang the daemon and must not: a FIFO in place of the config at a reload, and an
X server that stops answering (SIGSTOP) in the middle of a tick. SIGTERM always ends it within
seconds, exit status 0, saying what it left unfinished."""

from __future__ import annotations

import os
import signal
import time

import pytest
from helpers import xserver
from helpers.procs import running, stop
from helpers.xscreen import SIZE, rows, show, start_daemon, text_screen, wait_rows, write_config


@pytest.mark.daemon
def test_a_fifo_in_place_of_the_config_is_refused_at_reload(xvfb_display, tmp_path):
    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root)
    show(xvfb_display, tmp_path, text_screen(1, SIZE))
    with running(start_daemon(xvfb_display, cfg)) as proc:
        wait_rows(root, 2, proc)
        cfg.unlink()
        os.mkfifo(cfg)
        proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        wait_rows(root, len(rows(root)) + 2, proc)  # still capturing, with the old config
        began = time.monotonic()
        code, err = stop(proc, timeout=10)
    assert code == 0, err
    assert time.monotonic() - began < 10
    assert f"config not reloaded, keeping the old one: {cfg}: not a regular file (a FIFO)" in err


@pytest.mark.display
@pytest.mark.daemon
def test_a_frozen_display_is_logged_and_sigterm_still_exits_within_seconds(tmp_path):
    root = tmp_path / "archive"
    cfg = write_config(tmp_path / "c.toml", root)
    with xserver.start(SIZE) as x:
        assert x.pid is not None
        server = x.pid
        show(x.display, tmp_path, text_screen(1, SIZE))
        proc = start_daemon(x.display, cfg)
        try:
            wait_rows(root, 2, proc)
            os.kill(server, signal.SIGSTOP)
            time.sleep(12.5)  # a tick stuck for 10 s is logged; none starts meanwhile
            os.kill(server, signal.SIGCONT)
            wait_rows(root, len(rows(root)) + 3, proc)  # the stuck tick ends, the next ones come
            os.kill(server, signal.SIGSTOP)
            time.sleep(1.5)  # a tick is stuck again
            began = time.monotonic()
            code, err = stop(proc, timeout=10)
            took = time.monotonic() - began
        finally:
            os.kill(server, signal.SIGCONT)
            stop(proc)
    assert code == 0, err
    assert took < 10, err
    assert "has not ended after 10 s (the display does not answer?): not captured" in err
    assert err.count("has not ended after") == 1, err  # no pile of stuck ticks
    assert "ended after 1" in err and ": capturing again" in err, err
    assert "stopping without the tick of" in err, err
    assert "Traceback" not in err
