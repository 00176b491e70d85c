"""screenrecord: a visual diary of your computer, one changed screen at a time."""

__version__ = "0.2.0.dev0"
"""The version, written only here (pyproject.toml reads it); CHANGELOG.md says what each changed."""
