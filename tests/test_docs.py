"""The documentation holds together: every relative link in README.md and docs/ leads to a file
that exists, and every anchor to a heading of that file; the README stays a short user's page;
the changelog names the version the package says it is; the test packages listed in
docs/development.md are the ones CI installs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import screenrecord

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def prose(text: str) -> str:
    """The text without fenced code blocks and code spans, where a link is only text."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its rendered text lowercased, punctuation dropped (word
    characters, hyphens and spaces stay), each space a hyphen."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link counts as its text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "")
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor of a page; a repeated heading gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    out: set[str] = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text())):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def links(path: Path) -> list[str]:
    return [t for t in LINK.findall(prose(path.read_text())) if not SCHEME.match(t)]


def broken(page: Path) -> list[str]:
    """The relative links of `page` that lead nowhere, each with the reason."""
    out = []
    for target in links(page):
        name, _, anchor = target.partition("#")
        dest = (page.parent / name).resolve() if name else page
        if not dest.exists():
            out.append(f"{target}: no file {dest}")
        elif anchor and (dest.suffix != ".md" or anchor not in anchors(dest)):
            out.append(f"{target}: no heading #{anchor} in {dest}")
    return out


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    assert broken(page) == []


def test_the_link_checker_sees_a_broken_link_and_a_broken_anchor(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# A page: `its` title\n\n## Second, part (2)\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#a-page-its-title) [ok](other.md#second-part-2) [ok](#here)\n"
        "# Here\n"
        "[missing](gone.md) [bad anchor](other.md#nowhere) `[code](gone.md)`\n"
        "```\n[fenced](gone.md)\n```\n[web](https://example.org/gone.md)\n"
    )
    problems = [p.split(":")[0] for p in broken(page)]
    assert problems == ["gone.md", "other.md#nowhere"]


def test_slug_follows_github() -> None:
    assert slug("Cleaning up an existing archive: `screenrecord dedup`") == (
        "cleaning-up-an-existing-archive-screenrecord-dedup"
    )
    assert (
        slug("Desktops: what can be captured, and how") == "desktops-what-can-be-captured-and-how"
    )
    assert slug("The targets not met, and what each would cost") == (
        "the-targets-not-met-and-what-each-would-cost"
    )


def test_readme_is_a_short_page_that_starts_with_the_two_commands() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200
    first = "\n".join(lines[:10])
    assert "make run" in first
    assert "make test" in first


def test_changelog_names_this_version() -> None:
    """An entry for the version, by its release number: 0.2.0.dev0 is 0.2.0 before its release."""
    release = re.match(r"\d+(\.\d+)*", screenrecord.__version__)
    assert release is not None
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(rf"^## \[{re.escape(release.group())}\]", changelog, re.MULTILINE)


def test_development_lists_the_packages_ci_installs() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    block = re.search(r"^packages=\((.*?)^\)", ci, re.MULTILINE | re.DOTALL)
    assert block is not None
    installed = {line.split("#")[0].strip() for line in block.group(1).splitlines()} - {""}
    page = (ROOT / "docs" / "development.md").read_text()
    table = re.search(
        r"^\| package \| what uses it \|\n\|[-|]+\|\n((?:\|.*\n)+)", page, re.MULTILINE
    )
    assert table is not None
    listed = {
        name
        for row in table.group(1).splitlines()
        for name in re.findall(r"`([^`]+)`", row.split("|")[1])
    }
    assert listed == installed
