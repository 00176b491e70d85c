"""What a plain install gives: the CPU engine without torch, and one line naming the gpu extra.

torch and pytorch-msssim come with the `gpu` extra only (most of an install's size). The test
venv has them (the faithfulness tests need pytorch_msssim), so a plain install is imitated by a
subprocess in which importing either fails, as it does where they are not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
SEQ = REPO / "tests" / "data" / "seq"

WITHOUT_GPU_EXTRA = (
    "import runpy, sys\n"
    "sys.modules['torch'] = sys.modules['pytorch_msssim'] = None  # import fails: not installed\n"
    "sys.argv[0] = 'screenrecord'\n"
    "runpy.run_module('screenrecord', run_name='__main__', alter_sys=True)\n"
)
"""`python -c` this, then the command line: the CLI as a plain install runs it."""


def screenrecord(
    args: list[str], home: Path, *, torch: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess with HOME and the XDG folders under `home`; `torch=False`
    runs it as if installed without the gpu extra."""
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_STATE_HOME": str(home / ".local/state"),
    }
    head = ["-m", "screenrecord"] if torch else ["-c", WITHOUT_GPU_EXTRA]
    return subprocess.run(
        [sys.executable, *head, *args], env=env, capture_output=True, text=True, timeout=120
    )


def archive(root: Path) -> list[Path]:
    """A day folder of the original layout: a frame, the same frame again, another screen."""
    day = root / "2026-03" / "2026-03-10"
    day.mkdir(parents=True)
    files = [day / f"2026-03-10_10.0{m}.00.000000_1.png" for m in (0, 3, 6)]  # monitor 1
    for src, dst in zip(("001.png", "001.png", "027.png"), files, strict=True):
        shutil.copyfile(SEQ / src, dst)
    return files


def test_cpu_path_never_imports_torch():
    code = (
        "import sys\n"
        "import screenrecord.cli, screenrecord.daemon, screenrecord.dedup, screenrecord.pipeline\n"
        "from pathlib import Path\n"
        "from screenrecord.engine import Engine, compare_files\n"
        "from screenrecord.models import DedupSettings\n"
        "assert Engine(DedupSettings(device='cpu')).device == 'cpu'\n"
        f"a, b = Path({str(SEQ / '001.png')!r}), Path({str(SEQ / '027.png')!r})\n"
        "assert compare_files(a, b, device='cpu') < 0.95\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'pytorch_msssim')))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "[]\n"


def test_without_the_gpu_extra_auto_decides_on_the_cpu(tmp_path):
    files = archive(tmp_path / "archive")
    r = screenrecord(
        ["dedup", "--json", "--device", "auto", str(tmp_path / "archive")], tmp_path, torch=False
    )
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(row["decision"], row["match"]) for row in rows] == [
        ("new", None),
        ("duplicate", str(files[0])),
        ("new", str(files[0])),  # a new frame names its best match, below the near threshold
    ]
    assert rows[1]["score"] == 1.0
    assert rows[2]["score"] < 0.95


@pytest.mark.parametrize("device", ["cuda", "mps"])
def test_without_the_gpu_extra_a_gpu_device_is_one_line_naming_the_extra(tmp_path, device):
    r = screenrecord(
        ["compare", "--device", device, str(SEQ / "001.png"), str(SEQ / "027.png")],
        tmp_path,
        torch=False,
    )
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.count("\n") == 1
    assert r.stderr.startswith(f"screenrecord: device '{device}' needs the gpu extra")
    assert "pip install '.[gpu]'" in r.stderr


def test_without_the_gpu_extra_a_gpu_device_in_the_config_is_one_line(tmp_path):
    archive(tmp_path / "archive")
    config = tmp_path / "config.toml"
    config.write_text('[dedup]\ndevice = "cuda"\n')
    r = screenrecord(
        ["dedup", "--config", str(config), str(tmp_path / "archive")], tmp_path, torch=False
    )
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1
    assert "gpu extra" in r.stderr


def test_torch_is_an_extra_pinned_by_the_constraints():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = {d.split(">")[0].split("=")[0].split(";")[0].strip() for d in project["dependencies"]}
    assert not names & {"torch", "pytorch-msssim"}
    extras = project["optional-dependencies"]
    assert {d.split(">")[0] for d in extras["gpu"]} == {"torch", "pytorch-msssim"}
    assert {"torch", "pytorch-msssim"} <= {d.split(">")[0] for d in extras["test"]}
    pins = (REPO / "constraints.txt").read_text().split()
    assert any(p.startswith("torch==") for p in pins)  # unpinned: a multi-GB CUDA build
