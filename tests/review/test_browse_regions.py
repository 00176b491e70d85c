"""The day player outlines where the shown frame changed (the catalog's regions), in real
headless Chromium: at the right place on the scaled image, toggled by a key, listed in `?`."""

from __future__ import annotations

import dataclasses
import time as time_
from datetime import date, time, timedelta
from pathlib import Path

import pytest
from helpers import sitearchive
from helpers.pages import Watched
from playwright.sync_api import Page

from screenrecord import cli
from screenrecord.archive.catalog import Catalog
from screenrecord.models import Box, Record

DAY = date(2026, 3, 10)
BOXES = (Box(40, 30, 120, 20), Box(210, 140, 60, 36))
"""The changed regions of the day's second kept frame of monitor 1 (a 320x200 frame)."""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Record]]:
    """A day of kept frames; the second of monitor 1 has two changed regions, the rest none."""
    root = tmp_path_factory.mktemp("regions") / "archive"
    records = sitearchive.fill(
        root, sitearchive.ticks(DAY, time(9), timedelta(minutes=3), 6), catalog=False
    )
    second = sitearchive.kept(records, 1)[1]
    records = [dataclasses.replace(r, regions=BOXES) if r is second else r for r in records]
    with Catalog.open(root) as cat:
        cat.record_many(records)
    assert cli.main(["browse", str(root), "--no-open"]) == 0
    return root, sitearchive.kept(records, 1)


def until(page: Page, expression: str, timeout: float = 10) -> None:
    deadline = time_.monotonic() + timeout
    while not page.evaluate(expression):
        assert time_.monotonic() < deadline, f"still false after {timeout} s: {expression}"
        page.wait_for_timeout(20)


def rel(r: Record) -> str:
    """A frame's path within its day folder, as the page names it."""
    assert r.path is not None
    return Path(*Path(r.path).parts[2:]).as_posix()


def shown(page: Page, r: Record) -> None:
    """Wait until `r`'s frame is shown, loaded and decoded."""
    until(page, f"document.getElementById('frame').dataset.rel === {rel(r)!r}")
    until(page, "document.getElementById('frame').dataset.ready === '1'")


def outlines(page: Page) -> list[tuple[float, float, float, float]]:
    """The outlines drawn, each (x, y, w, h) on the page."""
    found = []
    for box in page.locator("#regions .region").all():
        b = box.bounding_box()
        assert b is not None and box.is_visible()
        found.append((b["x"], b["y"], b["width"], b["height"]))
    return found


def expected(page: Page, boxes: tuple[Box, ...]) -> list[tuple[float, float, float, float]]:
    """Where `boxes` of a 320x200 frame fall on the page: the image scaled to fit its element
    (object-fit: contain), centred in it."""
    img = page.locator("#frame").bounding_box()
    assert img is not None
    scale = min(img["width"] / 320, img["height"] / 200)
    left = img["x"] + (img["width"] - 320 * scale) / 2
    top = img["y"] + (img["height"] - 200 * scale) / 2
    return [(left + b.x * scale, top + b.y * scale, b.w * scale, b.h * scale) for b in boxes]


def close(a: list[tuple[float, ...]], b: list[tuple[float, ...]]) -> bool:
    """The same boxes, to a pixel."""
    if len(a) != len(b):
        return False
    pairs = zip(a, b, strict=True)
    return all(abs(p - q) <= 1 for s, t in pairs for p, q in zip(s, t, strict=True))


def test_the_changed_regions_are_outlined_on_the_scaled_frame_and_o_toggles_them(
    site: tuple[Path, list[Record]], tab: Watched
) -> None:
    root, kept = site
    page = tab.page
    page.set_viewport_size({"width": 1000, "height": 800})
    page.goto((root / "site" / "days" / f"{DAY}.html").as_uri())
    shown(page, kept[0])
    assert outlines(page) == []  # a frame without regions: none
    page.keyboard.press("ArrowRight")
    shown(page, kept[1])
    drawn = outlines(page)
    assert close(drawn, expected(page, BOXES)), (drawn, expected(page, BOXES))
    assert drawn[0][2] > 120  # scaled up from the frame's 320 px to the shown image
    assert "2 changed regions outlined" in page.inner_text("#where")
    page.keyboard.press("o")
    assert page.locator("#regions .region").count() == 0
    assert "outlined" not in page.inner_text("#where")
    page.keyboard.press("ArrowRight")
    shown(page, kept[2])
    page.keyboard.press("ArrowLeft")
    shown(page, kept[1])
    assert page.locator("#regions .region").count() == 0  # off stays off
    page.keyboard.press("o")
    assert close(outlines(page), expected(page, BOXES))
    page.set_viewport_size({"width": 700, "height": 700})  # the image shrinks: so do they
    until(page, "document.getElementById('frame').clientWidth < 700")
    assert close(outlines(page), expected(page, BOXES))
    page.keyboard.press("ArrowRight")
    shown(page, kept[2])
    assert outlines(page) == []
    assert tab.problems == []


def test_the_shortcut_list_names_the_outline_key(
    site: tuple[Path, list[Record]], tab: Watched
) -> None:
    root, _ = site
    page = tab.page
    page.goto((root / "site" / "days" / f"{DAY}.html").as_uri())
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    keys = page.locator("#help dt").all_inner_texts()
    uses = page.locator("#help dd").all_inner_texts()
    assert "outline what changed" in uses[keys.index("o")]


def test_the_day_page_carries_each_frames_regions(site: tuple[Path, list[Record]]) -> None:
    root, kept = site
    data = sitearchive.page_data(root / "site" / "days" / f"{DAY}.html")
    regions = {s[2]: s[5] for s in data["shots"]}
    assert regions.pop(rel(kept[1])) == [[40, 30, 120, 20], [210, 140, 60, 36]]
    assert set(map(tuple, regions.values())) == {()}
