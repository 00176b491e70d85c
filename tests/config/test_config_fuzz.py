"""Any TOML document either loads or gives one clear line and exit code 2, never a traceback."""

from __future__ import annotations

import contextlib
import io
import json
import math
import tempfile
from datetime import date, datetime, time
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from screenrecord import config
from screenrecord.cli import main

KNOWN = {
    "": ["root", "interval_seconds", "monitors", "keep_at_least_every", "dedup", "storage"],
    "dedup": [
        "duplicate_threshold",
        "near_threshold",
        "near_action",
        "ring_size",
        "device",
        "keep_local_changes",
    ],
    "storage": ["format", "compress_level"],
}
WORDS = ["all", "off", "6h", "90m", "1d", "1h30m", "png", "webp", "keep", "separate", "drop"]
WORDS += ["auto", "cpu", "cuda", "mps", "~", "~/x", "~nosuchuser/x", "", " ", "/", ".", "a" * 300]

scalars = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 0.5, 0.95, 0.99, 1.0, 1, 0, -1, 9, 10, 100_000, 1e300]),
    st.booleans(),
    st.text(max_size=30),
    st.sampled_from(WORDS),
    st.from_regex(r"\A[0-9]{1,25}(\.[0-9]{1,5})?\s?[dhms]( ?[0-9]{1,20}[dhms]){0,2}\Z"),
    st.datetimes(),
    st.dates(),
    st.times(),
)


def values(table: str):
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys(table), inner, max_size=4),
        max_leaves=8,
    )


def keys(table: str):
    return st.sampled_from(KNOWN.get(table, KNOWN["dedup"])) | st.text(max_size=12)


def document():
    tables = st.fixed_dictionaries(
        {},
        optional={
            "dedup": st.dictionaries(keys("dedup"), values("dedup"), max_size=6) | values(""),
            "storage": st.dictionaries(keys("storage"), values("storage"), max_size=3) | values(""),
        },
    )
    top = st.dictionaries(keys(""), values(""), max_size=6)
    return st.tuples(top, tables).map(lambda tt: {**tt[0], **tt[1]})


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (datetime, date, time)):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(map(toml_value, v)) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + "}"


def dumps(doc: dict) -> str:
    return "".join(
        f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}\n" for k, v in doc.items()
    )


def check(data: bytes) -> None:
    """`config check` on the document: exit 0 and a Config, or exit 2 and one line naming the file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.toml"
        path.write_bytes(data)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["config", "check", str(path)])
        if code == 0:
            assert isinstance(config.load(path), config.Config)
            assert out.getvalue().startswith(f"{path}: ok")
            return
        assert code == 2, (code, err.getvalue())
        lines = err.getvalue().splitlines()
        assert len(lines) == 1, err.getvalue()
        assert lines[0].startswith(f"screenrecord: {path}: "), lines[0]
        assert "Traceback" not in lines[0]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document())
@example({"root": "a" * 300})
@example({"root": "~nosuchuser/archive"})
@example({"keep_at_least_every": "99999999999999999999d"})
@example({"interval_seconds": float("nan")})
@example({"dedup": {"near_threshold": 0.999}})
@example({"monitors": [1, 1]})
@example({"storage": []})
def test_any_toml_document_loads_or_is_one_clear_line(doc):
    check(dumps(doc).encode("utf-8"))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
@example("[dedup]\n[dedup]\n")
@example("root = \n")
def test_any_text_loads_or_is_one_clear_line(text):
    check(text.encode("utf-8", "surrogatepass"))


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=100))
@example(b"\xff\xfe")
def test_any_bytes_load_or_are_one_clear_line(data):
    check(data)
