"""Each command is built beside its handler, in the module of its group."""

from __future__ import annotations

import argparse

from screenrecord import cli
from screenrecord.cli.common import CONFIG_HELP, Shared, options

GROUP = {  # command -> the module of screenrecord.cli that builds and handles it
    "run": "capture",
    "once": "capture",
    "status": "status",
    "service": "service",
    "setup": "setup",
    "pause": "pause",
    "resume": "pause",
    "why": "review",
    "report": "review",
    "browse": "review",
    "highlights": "review",
    "config": "config",
    "dedup": "dedup",
    "undo": "dedup",
    "prune": "retention",
    "compare": "dedup",
}
ELSEWHERE = {"service status": "status"}  # the handler of `screenrecord status`, reused


def subcommands(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return next((a.choices for a in p._actions if isinstance(a, argparse._SubParsersAction)), {})


def handlers(p: argparse.ArgumentParser, path: str) -> dict[str, str]:
    """{command path: module of its handler} for `p` and every action under it."""
    if not subcommands(p):
        return {path: p.get_default("func").__module__}
    found: dict[str, str] = {}
    for name, s in subcommands(p).items():
        found |= handlers(s, f"{path} {name}")
    return found


def test_each_command_is_built_and_handled_in_the_module_of_its_group() -> None:
    shared = Shared(options(None, suppress=True), options(CONFIG_HELP, suppress=True))
    names = []
    for add in cli.BUILDERS:
        sub = argparse.ArgumentParser().add_subparsers()
        add(sub, shared)
        ((name, parser),) = sub.choices.items()
        assert add.__module__ == f"screenrecord.cli.{GROUP[name]}"
        for path, module in handlers(parser, name).items():
            assert module == f"screenrecord.cli.{ELSEWHERE.get(path, GROUP[name])}", path
        names.append(name)
    assert names == list(subcommands(cli._parser()))  # the builders make the whole parser
    assert sorted(names) == sorted(GROUP)
