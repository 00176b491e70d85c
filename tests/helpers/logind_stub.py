"""A stand-in for logind on a private bus, run as a subprocess by tests/helpers/bus.py.

It owns org.freedesktop.login1 and answers the three calls screenrecord makes to learn whether
the screen is locked: Manager.GetSession, the user's Display and the session's LockedHint, which
it reads from STATE_FILE ("locked" or anything else) at every call, so a test can lock and
unlock. Usage: python logind_stub.py BUS_ADDRESS STATE_FILE
"""

from __future__ import annotations

import sys
from pathlib import Path

from jeepney import HeaderFields, MessageType, new_error, new_method_return
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection

SESSION = "/org/freedesktop/login1/session/_31"


def main(address: str, state: Path) -> None:
    conn = open_dbus_connection(bus=address)
    conn.send_and_get_reply(message_bus.RequestName("org.freedesktop.login1"))
    print("ready", flush=True)
    while True:
        msg = conn.receive()
        if msg.header.message_type != MessageType.method_call:
            continue
        member = msg.header.fields.get(HeaderFields.member)
        prop = msg.body[1] if member == "Get" else None
        if member == "GetSession":
            reply = new_method_return(msg, "o", (SESSION,))
        elif prop == "Display":
            reply = new_method_return(msg, "v", (("(so)", ("31", SESSION)),))
        elif prop == "LockedHint":
            locked = state.read_text().strip() == "locked"
            reply = new_method_return(msg, "v", (("b", locked),))
        else:
            reply = new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", "s", (member,))
        conn.send(reply)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
