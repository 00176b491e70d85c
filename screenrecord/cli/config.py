"""`config path`, `config init` and `config check`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from screenrecord.cli.common import Shared
from screenrecord.config.units import count

if TYPE_CHECKING:
    from screenrecord.cli.common import Subparsers


def add_config(sub: Subparsers, shared: Shared) -> None:
    cfg = sub.add_parser(
        "config",
        help="where the config is, write a default one, check one",
        parents=[shared.plain],
    )
    actions = cfg.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    cp = actions.add_parser(
        "path", help="print the default config file path", parents=[shared.plain]
    )
    cp.set_defaults(func=do_config_path)
    ci = actions.add_parser("init", help="write a commented default config", parents=[shared.plain])
    ci.add_argument(
        "file", nargs="?", default=None, metavar="FILE", help="where (default: the platform's path)"
    )
    ci.set_defaults(func=do_config_init)
    cc = actions.add_parser("check", help="validate a config file", parents=[shared.plain])
    cc.add_argument(
        "file", nargs="?", default=None, metavar="FILE", help="default: the platform's config"
    )
    cc.set_defaults(func=do_config_check)


def do_config_path(args: argparse.Namespace) -> int:
    from screenrecord import config

    print(config.default_path())
    return 0


def do_config_init(args: argparse.Namespace) -> int:
    from pathlib import Path

    from screenrecord import config

    path = config.init(Path(args.file) if args.file else None)
    print(f"wrote {path}")
    return 0


def do_config_check(args: argparse.Namespace) -> int:
    from pathlib import Path

    from screenrecord import config

    path = Path(args.file) if args.file else config.default_path()
    if not args.file and not path.exists():
        print(
            f"{path}: no config file; the built-in defaults apply (`screenrecord config init` writes them)"
        )
        return 0
    cfg = config.load(path)
    monitors = "all" if cfg.monitors == "all" else ", ".join(map(str, cfg.monitors))
    every = cfg.keep_at_least_every or "off"
    p = cfg.privacy
    print(
        f"{path}: ok (root {cfg.root}, every {cfg.interval_seconds:g}s, monitors {monitors}, "
        f"near_action {cfg.dedup.near_action}, {cfg.storage.format}, keep_at_least_every {every}, "
        f"retention {_retention(cfg.retention)}, "
        f"excluding {count(len(p.exclude_apps), 'app')} and "
        f"{count(len(p.exclude_titles), 'title pattern')})"
    )
    return 0


def _retention(r: Any) -> str:
    """`off`, or the schedule in the config's words: `keep_all 14d, thin 14d: 6/h, ...`."""
    from screenrecord.config.units import size

    if not r.active:
        return "off"
    thin = ", ".join(map(str, r.thin)) or "none"
    budget = size(r.max_bytes) if r.max_bytes is not None else "off"
    return f"keep_all {r.keep_all_days}d, thin {thin}, max_bytes {budget}"
