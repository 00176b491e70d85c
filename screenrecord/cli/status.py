"""`status`: is it running, where it writes, what it last did (also `service status`)."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from screenrecord import service
from screenrecord.cli.common import Shared, host, path

if TYPE_CHECKING:
    from screenrecord.cli.common import Subparsers


DESCRIPTION = "without --config: the config the installed service uses, else the platform's"
CONFIG_HELP = "config file (default: the one the installed service uses, else the platform's)"


def add_status(sub: Subparsers, shared: Shared) -> None:
    st = sub.add_parser(
        "status",
        help="is it running, where it writes, what it last did",
        description=DESCRIPTION,
        parents=[shared.config_meaning(CONFIG_HELP)],
    )
    st.set_defaults(func=do_status)


def do_status(args: argparse.Namespace) -> int:
    from datetime import datetime

    from screenrecord.review import status

    s = status.collect(datetime.now(), service.discover(host()), path(args.config), os.environ)
    print(status.format_status(s))
    return 0
