"""The one error family of screenrecord; the CLI prints its message and exits."""

from __future__ import annotations


class ScreenrecordError(Exception):
    """An error the user can act on; its message is one line saying what and what to do."""

    exit_code = 1


class UsageError(ScreenrecordError):
    """Bad arguments or settings."""

    exit_code = 2


class ConfigError(UsageError):
    """A config file that cannot be used."""


class CaptureError(ScreenrecordError):
    """The screen cannot be captured (no display, Wayland, missing permission)."""

    exit_code = 2


class ScreenLocked(CaptureError):
    """The desktop refuses to show its screen because it is locked (GNOME's screen casts): a
    locked tick, not a failure."""


class ApprovalNeeded(CaptureError):
    """The desktop lets screenrecord capture only once a person has approved it, and no
    approval is stored (GNOME's ScreenCast portal): `screenrecord setup` gives it."""


class StoreError(ScreenrecordError):
    """The archive cannot be read or written."""


class ImageError(ScreenrecordError):
    """A file that is not a usable image."""
