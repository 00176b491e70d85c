"""The table of settings: its defaults and examples are valid, and Config, the validation and
`config init`'s file are all made from it."""

from __future__ import annotations

import dataclasses
import sys

from screenrecord import config
from screenrecord.config.kinds import Checker
from screenrecord.config.settings import SECTIONS, SETTINGS, defaults

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


def test_every_default_and_example_passes_its_own_check() -> None:
    check, found = Checker(None), {}
    for s in SETTINGS:
        found[s.key] = s.kind.read(check, s.key, s.default, found)
        assert found[s.key] == s.value, s.key
        if s.example is not None:
            s.kind.read(check, s.key, s.example, found)


def test_config_has_one_attribute_per_setting_and_its_default() -> None:
    cfg = config.Config()
    for section in SECTIONS:
        table = getattr(cfg, section.name) if section.name else cfg
        names = {f.name for f in dataclasses.fields(table)} - {
            "source",
            "every",  # `run --every`, not a setting of the file
            *(t.name for t in SECTIONS),
        }
        assert names == set(defaults(section.name)), section.name
        assert {n: getattr(table, n) for n in names} == defaults(section.name)
    assert config.parse({}, None) == cfg


def test_the_written_file_sets_every_default_but_retention_s() -> None:
    written = tomllib.loads(config.DEFAULT_TOML)
    expected: dict = {}
    for s in SETTINGS:
        if not next(t for t in SECTIONS if t.name == s.section).commented:
            (expected.setdefault(s.section, {}) if s.section else expected)[s.name] = s.default
    assert written == {**expected, "retention": {}}


def test_the_written_file_shows_each_example_commented_out() -> None:
    lines = config.DEFAULT_TOML.splitlines()
    for s in SETTINGS:
        if s.example is not None:
            assert any(line.startswith(f"# {s.name} = ") for line in lines), s.key
    assert max(map(len, lines)) <= 100
