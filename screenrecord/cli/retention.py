"""`prune`: thin old days by the config's [retention]."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from screenrecord.cli.common import Shared, add_archive_path, archive, load_config
from screenrecord.config.units import count

if TYPE_CHECKING:
    from screenrecord.cli.common import Subparsers


def add_prune(sub: Subparsers, shared: Shared) -> None:
    p = sub.add_parser(
        "prune",
        help="thin old days by the config's [retention] (dry run unless --apply)",
        parents=[shared.config],
    )
    add_archive_path(p, "archive root")
    p.add_argument("--apply", action="store_true", help="delete the files (default: dry run)")
    p.add_argument("--json", action="store_true", help="the plan (and what was done) as JSON")
    p.set_defaults(func=do_prune)


def do_prune(args: argparse.Namespace) -> int:
    import json
    from datetime import datetime

    from screenrecord.config.units import size
    from screenrecord.retention import plan as retention
    from screenrecord.retention import prune

    cfg = load_config(args.config)
    root = archive(args.path, args.config)
    if not cfg.retention.active:
        where = cfg.source or "the built-in defaults"
        print(
            f"screenrecord prune: retention is off in {where}: nothing is removed (set [retention] thin or max_bytes)",
            file=sys.stderr if args.json else sys.stdout,
        )
        if args.json:
            off = {"root": str(root), "retention": "off", "config": str(where)}
            nothing = {"months": [], "gone": [], "applied": False, "removed": 0, "freed": 0}
            print(json.dumps(off | nothing, ensure_ascii=False))
        return 0
    stretches = retention.Stretches.of(cfg.interval_seconds, cfg.activity.idle_after)
    done = prune.run(root, cfg.retention, datetime.now(), args.apply, stretches)
    p = done.plan
    if args.json:
        out = (
            {"retention": "on"}
            | retention.to_json(p)
            | {
                "applied": done.applied,
                "removed": done.removed,
                "freed": done.freed,
            }
        )
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(
            f"{'month':<9} {'frames gone':>12} {'bytes gone':>11} {'frames kept':>12} {'bytes kept':>11}"
        )
        for m in p.months:
            print(
                f"{m.month:<9} {m.gone:>12,} {size(m.gone_bytes):>11} {m.kept:>12,} {size(m.kept_bytes):>11}"
            )
        gone = sum(m.gone for m in p.months)
        freed = p.size_before - p.size_after
        if done.applied:
            tail = f"deleted {count(done.removed, 'file')} ({size(done.freed)}); {size(p.size_after)} of frames kept"
        else:
            tail = f"would delete {count(gone, 'file')} ({size(freed)}), {size(p.size_after)} of frames kept; nothing deleted (dry run: add --apply to delete them)"
        print(f"screenrecord prune: {root}: {tail}")
    if p.warning:
        print(f"screenrecord: warning: {p.warning}", file=sys.stderr)
    return 0
