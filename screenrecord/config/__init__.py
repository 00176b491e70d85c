"""The configuration: where its file lives, TOML -> a validated Config, and `config init`'s file.

- settings.py: every setting once, a row of its table, name, default, kind and help;
- kinds.py: what a value may be, each kind checking one and saying what is wrong;
- model.py: Config and its tables' dataclasses, their defaults read from the settings;
- load.py: finding and reading the file, and the validation, messages naming file and key;
- template.py: the commented file `config init` writes;
- units.py: how sizes, durations and scores read to a person.
"""

from __future__ import annotations

from screenrecord.config.kinds import parse_duration
from screenrecord.config.load import default_path, every, load, parse
from screenrecord.config.model import (
    ActivityConfig,
    CaptureConfig,
    Config,
    DedupConfig,
    PrivacyConfig,
    StorageConfig,
)
from screenrecord.config.settings import DEVICES, FORMATS, KEYS, NEAR_ACTIONS, SETTINGS
from screenrecord.config.template import DEFAULT_TOML, init

__all__ = [
    "DEFAULT_TOML",
    "DEVICES",
    "FORMATS",
    "KEYS",
    "NEAR_ACTIONS",
    "SETTINGS",
    "ActivityConfig",
    "CaptureConfig",
    "Config",
    "DedupConfig",
    "PrivacyConfig",
    "StorageConfig",
    "default_path",
    "every",
    "init",
    "load",
    "parse",
    "parse_duration",
]
