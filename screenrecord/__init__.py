"""screenrecord: a visual diary of your computer, one changed screen at a time."""

__version__ = "0.1.0"
