"""A private D-Bus system bus (a real dbus-daemon) with a logind stand-in on it."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from helpers.procs import stop
from helpers.system import require

CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"""


@dataclass
class Logind:
    address: str
    """What DBUS_SYSTEM_BUS_ADDRESS is set to for the program under test."""
    state: Path

    def lock(self, locked: bool) -> None:
        self.state.write_text("locked" if locked else "unlocked")


@contextmanager
def logind(tmp: Path) -> Iterator[Logind]:
    """dbus-daemon on a socket under `tmp`, and tests/helpers/logind_stub.py answering on it."""
    require("dbus-daemon", "dbus-daemon")
    socket = tmp / "system_bus_socket"
    conf = tmp / "bus.conf"
    conf.write_text(CONFIG.format(socket=socket))
    bus = subprocess.Popen(
        ["dbus-daemon", "--nofork", "--nopidfile", f"--config-file={conf}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    address = f"unix:path={socket}"
    state = tmp / "locked"
    state.write_text("unlocked")
    stub = None
    try:
        for _ in range(200):
            if socket.exists():
                break
            assert bus.poll() is None, bus.stderr.read() if bus.stderr else ""
            time.sleep(0.05)
        stub = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("logind_stub.py")), address, str(state)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert stub.stdout is not None and stub.stdout.readline().strip() == "ready"
        yield Logind(address, state)
    finally:
        if stub is not None:
            stop(stub, timeout=5)
        stop(bus, timeout=5)
