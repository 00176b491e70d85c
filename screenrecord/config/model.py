"""The validated configuration: one frozen dataclass per table, their defaults read from
settings.SETTINGS."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, Literal

from screenrecord.config.settings import BY_KEY, SETTINGS, defaults
from screenrecord.models import DedupSettings, Retention


def _default(key: str) -> Any:
    """The dataclass field of setting `key`, its default made afresh for every object (a root
    under `~` follows HOME)."""
    return field(default_factory=partial(_value, key))


def _value(key: str) -> Any:
    return BY_KEY[key].value


@dataclass(frozen=True, slots=True)
class DedupConfig:
    duplicate_threshold: float = _default("dedup.duplicate_threshold")
    near_threshold: float = _default("dedup.near_threshold")
    near_action: str = _default("dedup.near_action")
    ring_size: int = _default("dedup.ring_size")
    device: str = _default("dedup.device")
    keep_local_changes: bool = _default("dedup.keep_local_changes")


@dataclass(frozen=True, slots=True)
class StorageConfig:
    format: str = _default("storage.format")
    compress_level: int = _default("storage.compress_level")

    @property
    def ext(self) -> str:
        return self.format


@dataclass(frozen=True, slots=True)
class ActivityConfig:
    record_titles: bool = _default("activity.record_titles")
    idle_after: timedelta = _default("activity.idle_after")
    skip_when_idle: bool = _default("activity.skip_when_idle")
    skip_when_locked: bool = _default("activity.skip_when_locked")


@dataclass(frozen=True, slots=True)
class PrivacyConfig:
    exclude_apps: tuple[str, ...] = _default("privacy.exclude_apps")
    """Application or executable names, matched case-insensitively."""
    exclude_titles: tuple[str, ...] = _default("privacy.exclude_titles")
    """Regular expressions, searched case-insensitively in window titles (checked to compile)."""


@dataclass(frozen=True, slots=True)
class CaptureConfig:
    backend: str = _default("capture.backend")
    """A name in capture's backend table (session.BACKENDS), or "auto": capture chooses by
    session (session.choose)."""


@dataclass(frozen=True, slots=True)
class Config:
    """A validated configuration; `source` is the file it came from (None: built-in defaults)."""

    root: Path = _default("root")
    interval_seconds: float = _default("interval_seconds")
    monitors: Literal["all"] | tuple[int, ...] = _default("monitors")
    keep_at_least_every: timedelta | None = _default("keep_at_least_every")
    dedup: DedupConfig = field(default_factory=DedupConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    activity: ActivityConfig = field(default_factory=ActivityConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    capture: CaptureConfig = field(default_factory=CaptureConfig)
    retention: Retention = field(default_factory=lambda: Retention(**defaults("retention")))
    source: Path | None = None
    every: float | None = None
    """interval_seconds as `run --every` gave it, over the file's (None: the file's); a reload
    of the file keeps it (`with_every`)."""

    def with_every(self, seconds: float | None) -> Config:
        """This config with the interval of `run --every` (None: as it is)."""
        if seconds is None:
            return self
        return dataclasses.replace(self, interval_seconds=seconds, every=seconds)

    def dedup_settings(self) -> DedupSettings:
        d = self.dedup
        return DedupSettings(
            duplicate_threshold=d.duplicate_threshold,
            near_threshold=d.near_threshold,
            ring_size=d.ring_size,
            device=d.device,
            keep_local_changes=d.keep_local_changes,
        )

    @property
    def wanted(self) -> tuple[int, ...] | None:
        """The monitor numbers to capture, None for all of them."""
        return None if isinstance(self.monitors, str) else self.monitors

    def wants(self, monitor: int) -> bool:
        """Whether monitor number `monitor` (from 1) is captured."""
        return self.wanted is None or monitor in self.wanted


def assemble(values: Mapping[str, Any], source: Path | None) -> Config:
    """The Config of checked `values`, by full key (`dedup.ring_size`)."""

    def table(section: str) -> dict[str, Any]:
        return {s.attribute: values[s.key] for s in SETTINGS if s.section == section}

    return Config(
        **table(""),
        dedup=DedupConfig(**table("dedup")),
        storage=StorageConfig(**table("storage")),
        activity=ActivityConfig(**table("activity")),
        privacy=PrivacyConfig(**table("privacy")),
        capture=CaptureConfig(**table("capture")),
        retention=Retention(**table("retention")),
        source=source,
    )
