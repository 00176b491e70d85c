"""Whether the session's screen is locked: logind's `LockedHint`, over the system bus (jeepney).

GNOME, KDE and elementary set the hint when they lock; many lockers (swaylock, xscreensaver,
i3lock) do not, and a machine without a system bus or logind cannot tell at all: those give
None ("not known"), never an error. The session is the one XDG_SESSION_ID names, else the
user's graphical session (logind's `Display` of the user), which is also what a systemd user
service, outside any session, finds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)

SYSTEM_BUS = "unix:path=/var/run/dbus/system_bus_socket"
LOGIN1 = "org.freedesktop.login1"
TIMEOUT_S = 0.5
"""Per call: a bus that does not answer within this is taken as "not known" for the tick."""


def locked(environ: Mapping[str, str]) -> bool | None:
    """LockedHint of the session, None where the bus, logind or the session cannot be asked."""
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection
    from jeepney.wrappers import DBusErrorResponse, unwrap_msg

    address = environ.get("DBUS_SYSTEM_BUS_ADDRESS") or SYSTEM_BUS
    try:
        conn = open_dbus_connection(bus=address, auth_timeout=TIMEOUT_S)
    except (OSError, RuntimeError, ValueError, TimeoutError):  # no bus here
        return None

    def call(path: str, interface: str, method: str, signature: str, *args: Any) -> Any:
        target = DBusAddress(path, bus_name=LOGIN1, interface=interface)
        msg = new_method_call(target, method, signature, args)
        return unwrap_msg(conn.send_and_get_reply(msg, timeout=TIMEOUT_S))

    def get(path: str, interface: str, prop: str) -> Any:
        (variant,) = call(path, "org.freedesktop.DBus.Properties", "Get", "ss", interface, prop)
        return variant[1]

    try:
        with conn:
            session_id = environ.get("XDG_SESSION_ID")
            if session_id:
                (path,) = call(
                    "/org/freedesktop/login1",
                    "org.freedesktop.login1.Manager",
                    "GetSession",
                    "s",
                    session_id,
                )
            else:
                _, path = get(
                    "/org/freedesktop/login1/user/self", "org.freedesktop.login1.User", "Display"
                )
            if not path or path == "/":
                return None
            return bool(get(path, "org.freedesktop.login1.Session", "LockedHint"))
    except (DBusErrorResponse, OSError, TimeoutError, ValueError, TypeError) as e:
        log.debug("logind cannot tell the lock state: %s", e)
        return None
