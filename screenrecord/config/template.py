"""The commented file `config init` writes: every setting of settings.SETTINGS at its default,
under its help; the settings of a table that sets nothing by default (retention) commented out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from screenrecord.archive import store
from screenrecord.config.load import default_path
from screenrecord.config.settings import SECTIONS, SETTINGS, Section, Setting
from screenrecord.errors import ConfigError, StoreError

HEADER = (
    "# screenrecord configuration. Every key is optional; the values below are the defaults.\n"
    "# Check a file with `screenrecord config check FILE`."
)

WIDTH = 100
"""A commented example list wraps before this column, as the code's lines do."""


def render() -> str:
    """The file's text: the header, the top-level settings a blank line apart, then each table."""
    blocks = [HEADER]
    for section in SECTIONS:
        rows = [s for s in SETTINGS if s.section == section.name]
        if not section.name:
            blocks += ["\n".join(_setting(s, section)) for s in rows]
            continue
        lines = [f"[{section.name}]", *_comment(section.help)]
        for s in rows:
            lines += _setting(s, section)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _comment(text: str) -> list[str]:
    return [f"# {line}" for line in text.splitlines()]


def _setting(s: Setting, section: Section) -> list[str]:
    """Its help, then its default (or, in a table that sets nothing, its example commented
    out), then its example, commented out."""
    lines = _comment(s.help)
    if section.commented:
        return lines + _commented(s.name, s.default if s.example is None else s.example)
    lines.append(f"{s.name} = {toml(s.default)}")
    if s.example is not None:
        lines += _commented(s.name, s.example)
    return lines


def _commented(name: str, value: Any) -> list[str]:
    """`# name = value`, a list wrapped before WIDTH with its items aligned after the `[`."""
    first = f"# {name} = "
    if not isinstance(value, list) or not value:
        return [first + toml(value)]
    items = [toml(v) + "," for v in value]
    items[-1] = items[-1][:-1] + "]"
    lines, line = [], first + "[" + items[0]
    for item in items[1:]:
        if len(line) + 1 + len(item) > WIDTH:
            lines.append(line)
            line = "#" + " " * len(first) + item
        else:
            line += " " + item
    return [*lines, line]


def toml(value: Any) -> str:
    """A default as TOML writes it: `true`, `180`, `0.99`, `"png"`, `["a", "b"]`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(map(toml, value)) + "]"
    return repr(value)


DEFAULT_TOML = render()
"""What `config init` writes."""


def init(path: Path | None = None) -> Path:
    """Write the commented default config to `path` (default: the platform's); never overwrites.

    Written like the archive's files: atomically, 0600, in folders made 0700 (whatever the
    umask); a folder that already exists is left as it is.
    """
    path = Path(path) if path is not None else default_path()
    exists = ConfigError(f"{path}: already exists, left as it is; edit it or remove it first")
    if path.exists():
        raise exists
    try:
        store.write_atomic(path, DEFAULT_TOML.encode("utf-8"))
    except StoreError as e:
        if path.exists():
            raise exists from None
        raise ConfigError(f"{e}; choose another path") from None
    except OSError as e:  # its folder cannot be made
        raise ConfigError(f"{path}: cannot write ({e.strerror}); choose another path") from None
    return path
