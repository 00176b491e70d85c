"""The README's pictures of `browse`: docs/browse-index.png and docs/browse-day.png (run by hand).

The archive is the labelled corpus (../shared/corpus: real screens of two monitors over two
days) as the daemon would have left it, kept frames on disk and every decision in the catalog;
without the corpus, screen-like frames drawn by tests/helpers/sitearchive.py. The day page is taken in
the middle of playback.

    .venv/bin/python bench/screenshots.py [OUT_DIR]
"""

from __future__ import annotations

import csv
import shutil
import sys
import tempfile
from datetime import date, timedelta
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from helpers import sitearchive  # noqa: E402
from helpers.pages import chromium  # noqa: E402

from screenrecord.archive import store
from screenrecord.archive.catalog import Catalog  # noqa: E402
from screenrecord.models import Kind, Record  # noqa: E402
from screenrecord.review import site  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"


def from_corpus(root: Path) -> date:
    """The corpus as the daemon keeps it; returns its busiest day."""
    with open(CORPUS / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    records = []
    for r in rows:
        taken, monitor = store.parse_name(Path(r["path"]).name) or (None, 0)
        assert taken is not None
        kind = Kind(r["ref_decision"])
        path = None
        if kind is not Kind.DUPLICATE:
            rel = Path(r["path"])
            if kind is Kind.NEAR:
                rel = rel.parent / store.SIMILAR / rel.name
            store.make_dirs((root / rel).parent)
            shutil.copyfile(CORPUS / r["path"], root / rel)
            path = rel.as_posix()
        records.append(Record(taken, monitor, int(r["width"]), int(r["height"]), kind, path=path))
    with Catalog.open(root) as cat:
        cat.record_many(records)
    return date(2026, 3, 10)


def drawn(root: Path) -> date:
    """Three days of drawn screens, when there is no corpus."""
    sizes = {1: (1280, 800), 2: (1280, 800)}
    for d, n in ((date(2026, 3, 9), 60), (date(2026, 3, 10), 160), (date(2026, 3, 12), 90)):
        sitearchive.fill(root, sitearchive.ticks(d, clock(9), timedelta(minutes=3), n), sizes=sizes)
    return date(2026, 3, 10)


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "archive"
        day = from_corpus(root) if (CORPUS / "manifest.csv").exists() else drawn(root)
        built = site.build(site.Archive.read(root), root / "site")
        with chromium() as browser:
            tab = browser.new_page(viewport={"width": 680, "height": 580})
            tab.goto(built.index.as_uri())
            tab.screenshot(path=str(out / "browse-index.png"))
            tab.set_viewport_size({"width": 1280, "height": 860})
            tab.goto(built.pages[day].as_uri() + "#t=10:00:00&m=1")
            tab.wait_for_timeout(500)
            tab.keyboard.press("Space")
            tab.wait_for_timeout(1500)  # mid-playback
            tab.screenshot(path=str(out / "browse-day.png"))
    print(out / "browse-index.png", out / "browse-day.png")


if __name__ == "__main__":
    main()
