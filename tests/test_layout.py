"""The code's layout rules, read from the source: imports flow one way, only the CLI talks to the
shell, and each variant (service target) is chosen in one place."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "screenrecord"

LAYERS = [
    {"errors", "models"},
    {"archive"},
    {"capture", "engine"},
    {"config"},
    {"pipeline", "service"},
    {"review"},
    {"retention"},
    {"daemon", "dedup"},
    {"cli"},
    {"__main__"},
]
"""Each module may import only from layers below its own (a package counts as its top name;
its own submodules may import each other's shared parts)."""

SHELL_MODULES = {"cli", "__main__"}


def modules() -> dict[str, Path]:
    return {
        ".".join(p.relative_to(PACKAGE).with_suffix("").parts): p
        for p in sorted(PACKAGE.rglob("*.py"))
    }


def top(module: str) -> str:
    return module.split(".")[0]


def layer(module: str) -> int:
    name = "__init__" if module == "__init__" else top(module)
    if name == "__init__":
        return -1
    found = [i for i, names in enumerate(LAYERS) if name in names]
    assert found, f"screenrecord/{module}: not in any layer of tests/test_layout.py"
    return found[0]


def imports(path: Path, module: str) -> set[str]:
    """The screenrecord modules `path` imports, at module level or inside functions."""
    out: set[str] = set()
    package = module.split(".")[:-1] if path.name != "__init__.py" else module.split(".")
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join([*base, *(node.module.split(".") if node.module else [])])
                out.add(name or module)
            elif node.module == "screenrecord":
                out |= {a.name for a in node.names}
            elif node.module and node.module.startswith("screenrecord."):
                out.add(node.module.removeprefix("screenrecord."))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("screenrecord."):
                    out.add(a.name.removeprefix("screenrecord."))
    return out


def test_imports_only_point_down_and_have_no_cycle() -> None:
    upward = []
    found = modules()
    packages = {top(m) for m in found}
    for module, path in found.items():
        for dep in imports(path, module):
            if top(dep) not in packages or top(dep) == top(module):
                continue  # a name such as __version__, or within one package
            if layer(dep) >= layer(module):
                upward.append(f"{module} -> {dep}")
    assert upward == []


def test_only_the_command_line_prints_or_parses_arguments() -> None:
    offenders = []
    for module, path in modules().items():
        if top(module) in SHELL_MODULES:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                offenders.append(f"{module}:{node.lineno} print")
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if "argparse" in names:
                    offenders.append(f"{module}:{node.lineno} argparse")
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("stdout", "stderr")
                and getattr(node.value, "id", None) == "sys"
            ):
                offenders.append(f"{module}:{node.lineno} sys.{node.attr}")
    assert offenders == []


def test_no_type_ignore_in_the_package() -> None:
    found = [
        f"{m}:{n}"
        for m, p in modules().items()
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if "type: ignore" in line
    ]
    assert found == []


TARGET_TEST = re.compile(
    r"""(==|!=)\s*["'](launchd|systemd|xdg|windows)["']"""
    r"""|["'](launchd|systemd|xdg|windows)["']\s*(==|!=)"""
    r"""|\bin\s*\(\s*["'](launchd|systemd|xdg|windows)["']"""
)


def test_no_module_compares_service_targets_more_than_three_times() -> None:
    counts = {m: len(TARGET_TEST.findall(p.read_text())) for m, p in modules().items()}
    assert {m: n for m, n in counts.items() if n > 3} == {}


def test_the_package_folder_reads_as_the_architecture() -> None:
    """`ls screenrecord` is the floor plan: at most 15 entries, each a stage or feature (a new
    job goes into a folder, not beside them)."""
    entries = sorted(p.name for p in PACKAGE.iterdir() if p.name != "__pycache__")
    assert len(entries) <= 15, entries
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"} == {
        n for layer in LAYERS for n in layer if (PACKAGE / n).is_dir()
    }


def test_no_module_holds_more_than_600_lines() -> None:
    long = {m: n for m, p in modules().items() if (n := len(p.read_text().splitlines())) > 600}
    assert long == {}
