"""One table of capture backends: config's validation, the session's choice and `status` take
their names from session.BACKENDS, and a backend's module is imported only to capture."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from screenrecord import capture, config
from screenrecord.capture import session
from screenrecord.capture.session import BackendRow
from screenrecord.errors import ConfigError
from screenrecord.review import status

SESSIONS = [
    ({"DISPLAY": ":0"}, "linux"),
    ({}, "linux"),
    ({}, "darwin"),
    ({}, "win32"),
    ({"WAYLAND_DISPLAY": "wayland-1", "SWAYSOCK": "/run/user/1000/sway-ipc.sock"}, "linux"),
    ({"WAYLAND_DISPLAY": "wayland-1", "XDG_CURRENT_DESKTOP": "river"}, "linux"),
    ({"WAYLAND_DISPLAY": "wayland-0", "XDG_CURRENT_DESKTOP": "KDE", "DISPLAY": ":0"}, "linux"),
    ({"WAYLAND_DISPLAY": "wayland-0", "XDG_CURRENT_DESKTOP": "GNOME"}, "linux"),
    ({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, "linux"),
]
"""One session of every kind of desktop `session.desktop` tells apart."""

OTHER = {"WAYLAND_DISPLAY": "wayland-0", "XDG_CURRENT_DESKTOP": "Cosmic", "DISPLAY": ":0"}


def backend_setting(name: object) -> str:
    """What config makes of `capture.backend = name`."""
    return config.parse({"capture": {"backend": name}}, None).capture.backend


def test_config_accepts_the_table_s_names_and_auto_only() -> None:
    for name in ["auto", *session.BACKENDS]:
        assert backend_setting(name) == name
    with pytest.raises(ConfigError) as e:
        backend_setting("x11")
    assert str(e.value) == (
        f"built-in defaults: capture.backend: 'x11' is not one of: "
        f"{', '.join(['auto', *session.BACKENDS])}"
    )


def test_the_session_gets_a_backend_of_the_table_or_a_refusal() -> None:
    chosen = {session.choose(env, platform).backend for env, platform in SESSIONS}
    assert chosen == {row.name for row in session.BACKENDS.values() if row.chosen_on} | {None}
    assert not session.BACKENDS["mutter"].chosen_on  # GNOME-private API: only when asked for
    for name in session.BACKENDS:
        assert session.choose({}, "linux", name).backend == name


def test_each_row_loads_its_backend_by_name() -> None:
    for name, row in session.BACKENDS.items():
        loaded = row.load()
        assert issubclass(loaded, capture.Backend) and loaded.name == name == row.name


def test_a_row_added_to_the_table_is_accepted_chosen_and_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert session.choose(OTHER, "linux").backend is None
    row = BackendRow("cosmic", "nowhere:Nothing", lambda environ, platform: None, ("wayland",))
    monkeypatch.setitem(session.BACKENDS, "cosmic", row)

    assert backend_setting("cosmic") == "cosmic"
    assert session.choose(OTHER, "linux").backend == "cosmic"
    path = tmp_path / "c.toml"
    path.write_text(f'root = "{tmp_path / "archive"}"\n')
    shown = status.collect(datetime.now(), [], path, OTHER).capture
    assert shown == "cosmic (chosen), Wayland session (wayland-0) of Cosmic"
    path.write_text(f'root = "{tmp_path / "archive"}"\n[capture]\nbackend = "cosmic"\n')
    shown = status.collect(datetime.now(), [], path, {"DISPLAY": ":0"}).capture
    assert shown == "cosmic (capture.backend), X11 (:0)"


def test_status_reports_the_backends_of_the_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, row in list(session.BACKENDS.items()):  # each could capture here
        monkeypatch.setitem(
            session.BACKENDS, name, replace(row, problem=lambda e, p: None, note=None)
        )
    path = tmp_path / "c.toml"
    path.write_text(f'root = "{tmp_path / "archive"}"\n')
    shown = {status.collect(datetime.now(), [], path, env).capture for env, _ in SESSIONS}
    chosen = {line.split(" (chosen), ")[0] for line in shown if line and "(chosen)" in line}
    assert chosen == {row.name for row in session.BACKENDS.values() if row.chosen_on}
    for name in session.BACKENDS:
        path.write_text(f'root = "{tmp_path / "archive"}"\n[capture]\nbackend = "{name}"\n')
        shown_one = status.collect(datetime.now(), [], path, {"DISPLAY": ":0"}).capture
        assert shown_one == f"{name} (capture.backend), X11 (:0)"


def test_validating_a_config_imports_no_backend_module() -> None:
    code = (
        "import sys; from screenrecord import config; "
        "config.parse({'capture': {'backend': 'portal'}}, None); "
        "print(sorted(m for m in ('mss', 'jeepney', 'Xlib') if m in sys.modules))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert r.stdout.strip() == "[]"
