"""Retention: which old frames a schedule and a disk budget let go, and pruning them."""
