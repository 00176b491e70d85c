"""The command line as a new user meets it: defaults, help, log lines, messages, config errors,
and the service files it writes (issue 12, "The command line")."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.procs import stop
from helpers.xscreen import REPO, rows, screenrecord, show, text_screen, wait_rows, write_config

from screenrecord import cli, service
from screenrecord.archive import lock
from screenrecord.config import units
from screenrecord.service import Host

STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d screenrecord: ")
"""A log line of a file: the local time to the second, then the usual line."""


def env(home: Path, display: str | None = None, **extra: str) -> dict[str, str]:
    """HOME and the XDG folders in a temporary folder; a display only where one is given."""
    e = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_STATE_HOME": str(home / ".local/state"),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **extra,
    }
    if display:
        e["DISPLAY"] = display
    return e


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def archive(tmp_path: Path, home: Path, xvfb_display: str) -> tuple[Path, Path]:
    """(config, root) of an archive that `once` filled with one real frame of the display."""
    root = tmp_path / "archive"
    config = write_config(tmp_path / "c.toml", root)
    show(xvfb_display, tmp_path, text_screen(1, (1280, 800)))
    r = screenrecord("once", "--config", str(config), env=env(home, xvfb_display), timeout=120)
    assert r.returncode == 0, r.stderr
    return config, root


def lines(text: str) -> list[str]:
    return text.strip().splitlines()


# 1. report and highlights default to the configured root ------------------------------------------


def test_report_defaults_to_the_configured_root(archive: tuple[Path, Path], home: Path) -> None:
    config, root = archive
    r = screenrecord("report", "--config", str(config), env=env(home))
    assert r.returncode == 0, r.stderr
    assert lines(r.stdout)[0].startswith(f"report of {root} from the catalog")
    assert "(1 tick)" in r.stdout  # and the count agrees with its noun
    assert re.search(r"kept +1  frame, ", r.stdout), r.stdout


def test_highlights_defaults_to_the_configured_root(archive: tuple[Path, Path], home: Path) -> None:
    config, root = archive
    r = screenrecord("highlights", "--json", "--config", str(config), env=env(home))
    assert r.returncode == 0, r.stderr
    [pick] = [json.loads(line) for line in lines(r.stdout)]
    assert Path(pick["path"]).parent.parent.parent == root


def test_report_without_an_archive_names_the_configured_root(tmp_path: Path, home: Path) -> None:
    config = write_config(tmp_path / "c.toml", tmp_path / "nothing-yet")
    for command in ("report", "highlights", "browse"):
        r = screenrecord(command, "--config", str(config), env=env(home))
        assert r.returncode == 2, r.stderr
        [line] = lines(r.stderr)
        assert f"{tmp_path / 'nothing-yet'}: no archive here yet (the root of {config})" in line


# 2. help on every option, the common commands first -----------------------------------------------


def parsers(p: argparse.ArgumentParser, path: str = "screenrecord") -> Iterator[tuple[str, Any]]:
    """(command path, action) for every action of every parser, subcommands included."""
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                yield f"{path} {choice.dest}", choice
            for name, sub in action.choices.items():
                yield from parsers(sub, f"{path} {name}")
        else:
            yield path, action


def test_every_option_argument_and_command_has_help() -> None:
    found = list(parsers(cli._parser()))
    assert len(found) > 60  # the walk reached the subcommands
    missing = [
        (where, a.option_strings or a.dest)
        for where, a in found
        if not a.help or a.help == argparse.SUPPRESS
    ]
    assert missing == []


def test_status_config_help_says_which_config_it_reads(home: Path) -> None:
    for argv in (["status"], ["service", "status"]):
        r = screenrecord(*argv, "--help", env=env(home))
        assert r.returncode == 0, r.stderr
        assert "default: the one the installed service uses" in " ".join(r.stdout.split())


def test_command_list_starts_with_what_people_use_most(home: Path) -> None:
    r = screenrecord("--help", env=env(home))
    assert r.returncode == 0, r.stderr
    commands = re.findall(r"^    (\w+) ", r.stdout, re.MULTILINE)
    assert commands[:4] == ["run", "once", "status", "service"]
    assert sorted(commands) == sorted(
        ["run", "once", "status", "service", "pause", "resume", "why", "report", "browse"]
        + ["highlights", "config", "dedup", "undo", "prune", "compare", "setup"]
    )


# 3. log lines: stamped in files, not in the journal; PIL's chatter kept out -----------------------


def run_daemon_into(log: Path, config: Path, root: Path, environ: dict[str, str]) -> str:
    """Run the daemon with stdout and stderr appended to `log` (as launchd and the Windows
    launcher do), until it has kept a frame; returns what the file holds."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "screenrecord", "run", "--config", str(config)],
            env=environ,
            cwd=REPO,
            stdout=out,
            stderr=out,
        )
    try:
        wait_rows(root, 1)
    finally:
        code, _ = stop(proc)
    assert code == 0, log.read_text()
    return log.read_text()


@pytest.mark.daemon
def test_daemon_lines_in_a_log_file_carry_the_time(
    tmp_path: Path, home: Path, xvfb_display: str
) -> None:
    root = tmp_path / "archive"
    config = write_config(tmp_path / "c.toml", root)
    text = run_daemon_into(tmp_path / "daemon.log", config, root, env(home, xvfb_display))
    said = lines(text)
    assert len(said) >= 3, text  # started, a kept frame, stopping
    assert [line for line in said if not STAMP.match(line)] == []


@pytest.mark.daemon
def test_daemon_lines_in_the_journal_carry_no_time(
    tmp_path: Path, home: Path, xvfb_display: str
) -> None:
    """systemd names the stream it connects to the journal in JOURNAL_STREAM (device:inode);
    the journal stamps each line itself."""
    root = tmp_path / "archive"
    config = write_config(tmp_path / "c.toml", root)
    log = tmp_path / "journal-stream"
    log.touch()
    st = log.stat()
    environ = env(home, xvfb_display, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
    said = lines(run_daemon_into(log, config, root, environ))
    assert len(said) >= 3
    assert [line for line in said if not line.startswith("screenrecord: ")] == []


@pytest.mark.daemon
def test_a_journal_stream_that_is_not_stderr_is_ignored(
    tmp_path: Path, home: Path, xvfb_display: str
) -> None:
    """A daemon started from a shell of a systemd service inherits JOURNAL_STREAM while its own
    stderr goes to a file: the file still gets the time."""
    root = tmp_path / "archive"
    config = write_config(tmp_path / "c.toml", root)
    other = tmp_path / "other"
    other.touch()
    st = other.stat()
    environ = env(home, xvfb_display, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
    said = lines(run_daemon_into(tmp_path / "daemon.log", config, root, environ))
    assert said and [line for line in said if not STAMP.match(line)] == []


def test_debug_output_leaves_out_pils_chunk_lines(
    archive: tuple[Path, Path], home: Path, xvfb_display: str
) -> None:
    """The second `once` refills the ring from the first one's PNG, which PIL reads."""
    config, _ = archive
    r = screenrecord("-vv", "once", "--config", str(config), env=env(home, xvfb_display))
    assert r.returncode == 0, r.stderr
    assert "refilled the rings with 1 kept frame from" in r.stderr  # PIL did read a PNG
    assert "screenrecord: DEBUG: " in r.stderr
    assert "STREAM b'" not in r.stderr, r.stderr


def test_run_log_that_cannot_be_written_is_one_line(tmp_path: Path, home: Path) -> None:
    (tmp_path / "afile").write_text("x")
    config = write_config(tmp_path / "c.toml", tmp_path / "archive")
    log = tmp_path / "afile" / "screenrecord.log"
    r = screenrecord("run", "--config", str(config), "--log", str(log), env=env(home))
    assert r.returncode == 2
    [line] = lines(r.stderr)
    assert line.startswith(f"screenrecord: --log {log}: cannot write")


# 4. once says each decision once; counts agree; resume knows whether a recorder runs --------------


def test_once_prints_each_decision_once(tmp_path: Path, home: Path, xvfb_display: str) -> None:
    root = tmp_path / "archive"
    config = write_config(tmp_path / "c.toml", root)
    show(xvfb_display, tmp_path, text_screen(1, (1280, 800)))
    r = screenrecord("once", "--config", str(config), env=env(home, xvfb_display), timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    [line] = lines(r.stdout)
    [row] = rows(root)
    assert line == f"monitor 1 1280x800: new, score -, {root / row['path']}"


def test_counts_agree_with_their_noun() -> None:
    assert [units.count(n, "frame") for n in (0, 1, 2)] == ["0 frames", "1 frame", "2 frames"]
    assert units.count(1, "kept frame") == "1 kept frame"
    assert units.nouns(None, "tick") == "ticks"


def test_dedup_summary_of_one_frame(archive: tuple[Path, Path], home: Path) -> None:
    _, root = archive
    r = screenrecord("dedup", str(root), env=env(home), timeout=120)
    assert r.returncode == 0, r.stderr
    assert lines(r.stdout)[0].startswith(
        "screenrecord dedup: 1 frame: 0 duplicate, 0 near, 1 new, 0 errors; "
    )


def test_resume_with_no_recorder_running_says_when_it_applies(tmp_path: Path, home: Path) -> None:
    root = tmp_path / "archive"
    config = write_config(tmp_path / "c.toml", root)
    assert screenrecord("pause", "--config", str(config), env=env(home)).returncode == 0
    r = screenrecord("resume", "--config", str(config), env=env(home))
    assert r.returncode == 0, r.stderr
    assert lines(r.stdout) == [
        f"screenrecord: no longer paused; no recorder is running on {root}, so capturing starts "
        "when one does (`screenrecord run`, or the service at login)"
    ]


@pytest.mark.daemon
def test_resume_with_the_daemon_running_says_it_captures_again(
    tmp_path: Path, home: Path, xvfb_display: str
) -> None:
    root = tmp_path / "archive"
    config = write_config(tmp_path / "c.toml", root)
    assert screenrecord("pause", "--config", str(config), env=env(home)).returncode == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "screenrecord", "run", "--config", str(config)],
        env=env(home, xvfb_display),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: lock.holder(root) is not None, proc)
        assert lock.holder(root) == lock.Holder(proc.pid)
        r = screenrecord("resume", "--config", str(config), env=env(home))
        assert r.returncode == 0, r.stderr
        assert lines(r.stdout) == [f"screenrecord: capturing again ({root})"]
        wait_rows(root, 1, proc)
    finally:
        code, err = stop(proc)
    assert code == 0, err
    assert lock.holder(root) is None  # the lock went with the process


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            said = proc.stderr.read() if proc.stderr else ""
            raise AssertionError(f"daemon exited {proc.returncode}: {said}")
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout} s")
        time.sleep(0.05)


def test_holder_asks_without_creating_or_taking_anything(tmp_path: Path) -> None:
    assert lock.holder(tmp_path) is None
    assert lock.holder(tmp_path / "missing") is None
    assert list(tmp_path.iterdir()) == []
    lock.acquire(tmp_path)
    try:
        assert lock.holder(tmp_path) == lock.Holder(os.getpid())
    finally:
        lock.release(tmp_path)
    assert lock.holder(tmp_path) is None
    lock.acquire(tmp_path)  # asking left the lock free to take
    lock.release(tmp_path)


# 5. config errors: every unknown key at once, with what it likely means ---------------------------


def test_every_unknown_key_is_named_at_once_with_a_suggestion(tmp_path: Path, home: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        "colour = 1\ninterval = 60\n[dedup]\nnear_treshold = 0.9\n[storage]\nring_size = 5\n"
    )
    r = screenrecord("config", "check", str(path), env=env(home))
    assert r.returncode == 2
    [line] = lines(r.stderr)
    assert line == (
        f"screenrecord: {path}: colour: unknown setting (known here: activity, capture, dedup, "
        "interval_seconds, keep_at_least_every, monitors, privacy, retention, root, storage); "
        "interval: unknown setting (did you mean interval_seconds?); "
        "dedup.near_treshold: unknown setting (did you mean dedup.near_threshold?); "
        "storage.ring_size: unknown setting (did you mean dedup.ring_size?)"
    )


def test_a_missing_config_suggests_the_command_that_writes_it(tmp_path: Path, home: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "screenrecord", "once", "--config", "my config.toml"],
        env=env(home),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    [line] = lines(r.stderr)
    suggested = "screenrecord config init 'my config.toml'"
    assert line == (
        f"screenrecord: my config.toml: no such config file; create one with `{suggested}`"
    )
    init = subprocess.run(
        [sys.executable, "-m", *shlex.split(suggested)],
        env=env(home),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert init.returncode == 0, init.stderr
    assert (tmp_path / "my config.toml").is_file()


# 6. the service files: no placeholder in a comment, no shell in the XDG entry ---------------------

PYTHON = Path("/opt/venv/bin/python")


def test_systemd_unit_names_the_interpreter_only_where_it_starts_it(home: Path) -> None:
    text = service.render("systemd", Host("linux", {"HOME": str(home)}, PYTHON))
    assert "$" not in text  # no placeholder left, filled in or not
    assert [line for line in text.splitlines() if str(PYTHON) in line] == [
        f"ExecStart={PYTHON} -m screenrecord run"
    ]


@pytest.mark.parametrize("target", ["systemd", "xdg", "launchd", "windows"])
def test_no_service_file_starts_a_shell(home: Path, target: str) -> None:
    """The README: the interpreter by its absolute path, with no shell in between."""
    text = service.render(target, Host("linux", {"HOME": str(home)}, PYTHON))
    assert service.command_of(target, text)[:4] == [str(PYTHON), "-m", "screenrecord", "run"]


@pytest.mark.daemon
def test_xdg_entry_runs_without_a_shell_and_its_log_carries_the_time(
    tmp_path: Path, home: Path, xvfb_display: str
) -> None:
    root = tmp_path / "archive"
    config = write_config(tmp_path / "c.toml", root)
    host = Host("linux", {"HOME": str(home)}, Path(sys.executable))
    argv = service.command_of("xdg", service.render("xdg", host, config))
    assert argv[0] == sys.executable
    proc = subprocess.Popen(
        argv, env=env(home, xvfb_display), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        wait_rows(root, 1)
    finally:
        code, err = stop(proc)
    assert code == 0 and not err  # everything went to the log file
    log = service.layout("xdg", host).log
    assert log == home / ".local/state/screenrecord/screenrecord.log"
    said = lines(log.read_text())
    assert len(said) >= 3 and [line for line in said if not STAMP.match(line)] == []


def test_an_entry_written_with_a_shell_is_still_read_back(home: Path) -> None:
    """Entries installed before `run --log` wrapped the daemon in `sh -c`: status and uninstall
    still find the daemon's own command line in them."""
    old = (
        "[Desktop Entry]\nType=Application\nName=screenrecord\n"
        'Exec=/bin/sh -c "mkdir -p /h/log && exec /v/python -m screenrecord run '
        '>>/h/log/screenrecord.log 2>&1"\n'
    )
    assert service.daemon_argv("xdg", old) == ["/v/python", "-m", "screenrecord", "run"]
