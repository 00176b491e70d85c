"""The site `browse` writes, played in real headless Chromium from file:// with no server."""

from __future__ import annotations

import time as time_
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from helpers import sitearchive
from helpers.pages import Watched
from playwright.sync_api import Browser, Page

from screenrecord import cli
from screenrecord.models import Record

DAY = date(2026, 3, 10)
DAYS = (date(2026, 3, 9), DAY, date(2026, 3, 11))


class Archive:
    """Three days of two monitors with a catalog, and the site of them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.records: list[Record] = []
        self.records += sitearchive.fill(
            root, sitearchive.ticks(DAYS[0], time(17), timedelta(minutes=3), 6)
        )
        self.records += sitearchive.fill(
            root, sitearchive.ticks(DAY, time(9), timedelta(minutes=3), 60)
        )
        self.records += sitearchive.fill(
            root, sitearchive.ticks(DAYS[2], time(8), timedelta(minutes=3), 6)
        )
        assert cli.main(["browse", str(root), "--no-open"]) == 0
        self.site = root / "site"

    def page(self, day: date) -> str:
        return (self.site / "days" / f"{day}.html").as_uri()

    def kept(self, monitor: int, day: date = DAY) -> list[Record]:
        return [r for r in sitearchive.kept(self.records, monitor) if r.taken.date() == day]


def rel(r: Record) -> str:
    """A frame's path within its day folder, as the page names it."""
    assert r.path is not None
    return Path(*Path(r.path).parts[2:]).as_posix()  # less YYYY-MM/YYYY-MM-DD/


def clock(t: datetime) -> str:
    return f"{t:%H:%M:%S}"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    return Archive(tmp_path_factory.mktemp("browse") / "archive")


def open_page(w: Watched, url: str) -> Page:
    w.page.goto(url)
    settled(w.page)
    return w.page


def until(page: Page, expression: str, arg: object = None, timeout: float = 10) -> None:
    """Wait until `expression` (a function of `arg`) holds in the page. Not wait_for_function:
    it evaluates strings in the page, which the page's CSP (rightly) forbids."""
    deadline = time_.monotonic() + timeout
    while not page.evaluate(expression, arg):
        assert time_.monotonic() < deadline, f"still false after {timeout} s: {expression}"
        page.wait_for_timeout(20)


def settled(page: Page) -> None:
    """Wait until the shown frame has loaded and decoded."""
    until(page, "() => document.getElementById('frame').dataset.ready === '1'")


def shown(page: Page) -> tuple[str, str]:
    """The shown frame (its path in the day folder) and the page's hash, once loaded."""
    settled(page)
    return page.evaluate("document.getElementById('frame').dataset.rel"), page.evaluate(
        "location.hash"
    )


def test_the_day_page_loads_from_disk_with_no_error_and_no_request_outside(
    archive: Archive, tab: Watched
) -> None:
    page = open_page(tab, archive.page(DAY))
    first = archive.kept(1)[0]
    assert shown(page) == (rel(first), f"#t={clock(first.taken)}&m=1")
    assert page.evaluate("document.getElementById('frame').naturalWidth") == 320
    # the strip is virtual: a few thumbnails around the frame, not the monitor's 40
    assert len(archive.kept(1)) == 40
    assert page.evaluate("document.images.length") < 20
    assert page.evaluate(
        "[...document.querySelectorAll('#strip img')].filter(i => i.src).every(i => i.src.includes('/site/thumbs/2026-03-10/'))"
    )
    page.wait_for_load_state("networkidle")
    assert tab.problems == []
    assert tab.outside(archive.root) == []
    assert any("/site/thumbs/" in u for u in tab.requests)


def test_the_watch_sees_a_broken_page(tmp_path: Path, tab: Watched) -> None:
    """The checks of these tests can fail: a console error and a missing image are seen."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><img src="missing.png"><script>console.error("boom")</script>')
    tab.page.goto(bad.as_uri())
    assert any("boom" in p for p in tab.problems)
    loaded = "[...document.images].every(i => i.complete && i.naturalWidth > 0)"
    assert tab.page.evaluate(loaded) is False


def test_report_html_writes_a_day_page_that_plays_from_disk(
    archive: Archive, tmp_path: Path, tab: Watched
) -> None:
    out = tmp_path / "pages"
    assert cli.main(["report", str(archive.root), "--day", str(DAY), "--html", str(out)]) == 0
    page = open_page(tab, (out / "days" / f"{DAY}.html").as_uri())
    first = archive.kept(1)[0]
    assert shown(page) == (rel(first), f"#t={clock(first.taken)}&m=1")
    assert page.inner_text("h1") == "Tuesday 10 March 2026"
    page.wait_for_load_state("networkidle")
    assert page.evaluate(
        "[...document.querySelectorAll('#strip img')].filter(i => i.src).every(i => i.naturalWidth > 0)"
    )
    assert tab.problems == []
    assert tab.outside(archive.root, out) == []


def test_arrows_step_through_kept_frames_and_the_hash_follows(
    archive: Archive, tab: Watched
) -> None:
    page = open_page(tab, archive.page(DAY))
    kept = archive.kept(1)
    page.keyboard.press("ArrowRight")
    assert shown(page) == (rel(kept[1]), f"#t={clock(kept[1].taken)}&m=1")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")
    assert shown(page)[0] == rel(kept[1])
    page.keyboard.press("End")
    assert shown(page)[0] == rel(kept[-1])
    page.keyboard.press("Home")
    assert shown(page)[0] == rel(kept[0])
    assert tab.problems == []


def at_or_before(kept: list[Record], t: datetime) -> Record:
    return [r for r in kept if r.taken <= t][-1]


def test_shift_arrows_move_ten_minutes_and_page_keys_an_hour(
    archive: Archive, tab: Watched
) -> None:
    page = open_page(tab, archive.page(DAY))
    kept = archive.kept(1)
    start = kept[0].taken
    page.keyboard.press("Shift+ArrowRight")
    ten = at_or_before(kept, start + timedelta(minutes=10))
    assert ten != kept[1]  # a real jump: frames are 3 minutes apart
    assert shown(page)[0] == rel(ten)
    page.keyboard.press("Shift+ArrowRight")
    twenty = at_or_before(kept, ten.taken + timedelta(minutes=10))
    assert shown(page)[0] == rel(twenty)
    page.keyboard.press("Shift+ArrowLeft")
    back = at_or_before(kept, twenty.taken - timedelta(minutes=10))
    assert back.taken < ten.taken  # ten minutes back from a frame, not back to the last one
    assert shown(page)[0] == rel(back)
    page.keyboard.press("PageDown")
    hour = at_or_before(kept, back.taken + timedelta(hours=1))
    assert shown(page)[0] == rel(hour)
    page.keyboard.press("PageUp")
    assert shown(page)[0] == rel(at_or_before(kept, hour.taken - timedelta(hours=1)))


def test_space_plays_and_pauses(archive: Archive, tab: Watched) -> None:
    page = open_page(tab, archive.page(DAY))
    kept = [rel(r) for r in archive.kept(1)]
    page.keyboard.press("+")  # faster: 6 frames per second
    page.keyboard.press("Space")
    until(page, "frames => frames.indexOf(document.getElementById('frame').dataset.rel) >= 4", kept)
    page.keyboard.press("Space")
    paused = shown(page)[0]
    page.wait_for_timeout(700)
    assert shown(page)[0] == paused
    assert "6 fps" in page.inner_text("#speed")
    # the button plays too, and leaves Space to the page: the next Space pauses, once
    page.click("#play")
    assert page.inner_text("#play") == "❚❚ pause"
    page.keyboard.press("Space")
    assert page.inner_text("#play") == "▶ play"
    assert tab.problems == []


def test_the_strip_follows_and_its_thumbnails_can_be_clicked(
    archive: Archive, tab: Watched
) -> None:
    page = open_page(tab, archive.page(DAY))
    kept = archive.kept(1)
    page.keyboard.press("End")
    current = page.locator("#strip a.current")
    assert current.inner_text() == clock(kept[-1].taken)
    slots = page.locator("#strip a")
    labels = [slots.nth(k).inner_text() for k in range(slots.count())]
    before = labels.index(clock(kept[-1].taken)) - 2
    assert labels[before] == clock(kept[-3].taken)
    slots.nth(before).click()
    assert shown(page)[0] == rel(kept[-3])
    assert page.locator("#strip a.current").inner_text() == clock(kept[-3].taken)


def test_a_held_key_waits_for_each_frame_to_load(archive: Archive, tab: Watched) -> None:
    """Twenty key repeats arriving before the next frame has loaded move it by one frame only."""
    page = open_page(tab, archive.page(DAY))
    kept = archive.kept(1)
    held = """n => {
        const key = (repeat) => document.dispatchEvent(
            new KeyboardEvent('keydown', {key: 'ArrowRight', repeat, bubbles: true}));
        key(false);
        for (let i = 0; i < n; i++) key(true);
    }"""
    page.evaluate(held, 20)
    assert shown(page)[0] == rel(kept[1])
    page.evaluate("""() => document.dispatchEvent(
        new KeyboardEvent('keydown', {key: 'ArrowRight', repeat: true, bubbles: true}))""")
    assert shown(page)[0] == rel(kept[2])


def test_a_deep_link_opens_that_monitor_at_that_time(archive: Archive, tab: Watched) -> None:
    kept = archive.kept(2)
    between = kept[4].taken + timedelta(seconds=70)
    assert between < kept[5].taken
    page = open_page(tab, f"{archive.page(DAY)}#t={clock(between)}&m=2")
    assert shown(page) == (rel(kept[4]), f"#t={clock(kept[4].taken)}&m=2")
    assert page.evaluate("document.getElementById('frame').naturalWidth") == 256  # monitor 2
    page = open_page(tab, f"{archive.page(DAY)}#t={clock(kept[7].taken)}&m=2")
    assert shown(page)[0] == rel(kept[7])  # its own second, though taken a little after it
    page.keyboard.press("m")  # the other monitor, at the same time
    assert shown(page)[0] == rel(at_or_before(archive.kept(1), kept[7].taken))


def test_brackets_go_to_the_previous_and_next_day(archive: Archive, tab: Watched) -> None:
    page = open_page(tab, archive.page(DAY))
    page.keyboard.press("]")
    page.wait_for_url("**/2026-03-11.html#*")
    assert shown(page)[0] == rel(archive.kept(1, DAYS[2])[0])
    page.keyboard.press("[")
    page.wait_for_url("**/2026-03-10.html#*")
    assert shown(page)[0] == rel(archive.kept(1)[-1])
    page.keyboard.press("[")
    page.wait_for_url("**/2026-03-09.html#*")
    assert shown(page)[0] == rel(archive.kept(1, DAYS[0])[-1])
    page.keyboard.press("[")  # the first day: nowhere to go
    page.wait_for_timeout(300)
    assert "2026-03-09.html" in page.url
    assert tab.problems == []


def test_the_index_links_every_day(archive: Archive, tab: Watched) -> None:
    page = tab.page
    page.goto((archive.site / "index.html").as_uri())
    links = page.eval_on_selector_all("a.day", "as => as.map(a => a.href)")
    assert sorted(links) == [archive.page(d) for d in DAYS]
    assert page.inner_text(".month h2").startswith("March 2026")
    page.click(f'a[href="days/{DAYS[0]}.html"]')
    page.wait_for_url(f"**/{DAYS[0]}.html*")
    assert shown(page)[0] == rel(archive.kept(1, DAYS[0])[0])
    assert tab.problems == []
    assert tab.outside(archive.root) == []


def test_clicking_a_lane_goes_to_that_monitor_at_that_time(archive: Archive, tab: Watched) -> None:
    page = open_page(tab, archive.page(DAY))
    box = page.locator("#lanes").bounding_box()
    assert box is not None

    def x(t: time) -> float:  # halfway between two ticks, so a pixel's rounding does not matter
        return box["x"] + box["width"] * (t.hour * 3600 + t.minute * 60 + t.second) / 86400

    page.mouse.click(x(time(10, 1, 30)), box["y"] + box["height"] * 0.75)  # lower lane: monitor 2
    frame, hash_ = shown(page)
    assert hash_.endswith("&m=2")
    assert frame == rel(at_or_before(archive.kept(2), datetime.combine(DAY, time(10, 1, 30))))
    # dragging along monitor 1's lane scrubs through its frames
    page.mouse.move(x(time(10, 1, 30)), box["y"] + 2)
    page.mouse.down()
    page.mouse.move(x(time(11, 1, 30)), box["y"] + 2, steps=5)
    page.mouse.up()
    frame, hash_ = shown(page)
    assert hash_.endswith("&m=1")
    assert frame == rel(at_or_before(archive.kept(1), datetime.combine(DAY, time(11, 1, 30))))


def test_highlights_and_the_shortcut_list(archive: Archive, tab: Watched) -> None:
    page = open_page(tab, archive.page(DAY))
    marks = page.evaluate("JSON.parse(document.getElementById('data').textContent).highlights")
    assert marks and page.locator("#marks span").count() == len(marks)
    start = page.evaluate("JSON.parse(document.getElementById('data').textContent).shots[0][0]")
    later = [m for m in marks if m[0] > start]
    page.keyboard.press("h")
    frame, hash_ = shown(page)
    assert [frame, hash_.split("&m=")[1]] == [later[0][2], str(later[0][1])]
    page.keyboard.press("h")
    page.keyboard.press("H")
    assert shown(page)[0] == later[0][2]
    assert page.locator("#help").is_hidden()
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    listed = page.inner_text("#help")
    for key in ("Shift+←", "PageUp", "Space", "+ / -", "h / Shift+h", "[ / ]"):
        assert key in listed
    page.keyboard.press("?")
    assert page.locator("#help").is_hidden()


def test_a_site_elsewhere_finds_an_archive_whose_path_has_spaces_and_accents(
    tmp_path: Path, tab: Watched
) -> None:
    root = tmp_path / "my archive ü"
    sitearchive.fill(root, sitearchive.ticks(DAY, time(9), timedelta(minutes=3), 4))
    out = tmp_path / "another place" / "site"
    assert cli.main(["browse", str(root), "--out", str(out), "--no-open"]) == 0
    page = open_page(tab, (out / "days" / f"{DAY}.html").as_uri())
    assert page.evaluate("document.getElementById('frame').naturalWidth") == 320
    page.wait_for_load_state("networkidle")
    assert page.evaluate(
        "[...document.querySelectorAll('#strip img')].filter(i => i.src).every(i => i.naturalWidth > 0)"
    )
    assert tab.problems == []
    assert tab.outside(root, out) == []


def test_a_day_without_a_kept_frame_says_so(tmp_path: Path, tab: Watched) -> None:
    root = tmp_path / "archive"
    sitearchive.fill(
        root, sitearchive.ticks(DAY, time(9), timedelta(minutes=3), 5), duplicate_every=1
    )
    assert cli.main(["browse", str(root), "--no-open"]) == 0
    page = tab.page
    page.goto((root / "site" / "days" / f"{DAY}.html").as_uri())
    assert page.locator("#empty").is_visible()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")
    page.keyboard.press("m")
    assert "no kept frame" in page.inner_text("#where")
    assert page.locator("#legend").inner_text() == "unchanged"
    assert tab.problems == []


def test_the_page_can_make_no_network_request(archive: Archive, tab: Watched) -> None:
    page = open_page(tab, archive.page(DAY))
    blocked = page.evaluate("""() => new Promise(done => {
        document.addEventListener('securitypolicyviolation', e => done(e.blockedURI));
        const img = new Image();
        img.src = 'http://127.0.0.1:9/x.png';
    })""")
    assert blocked == "http://127.0.0.1:9/x.png"


def test_light_and_dark_follow_the_system(archive: Archive, browser: Browser) -> None:
    backgrounds = []
    for scheme in ("light", "dark"):
        context = browser.new_context(color_scheme=scheme)
        page = context.new_page()
        page.goto((archive.site / "index.html").as_uri())
        backgrounds.append(page.evaluate("getComputedStyle(document.body).backgroundColor"))
        context.close()
    assert backgrounds == ["rgb(250, 250, 250)", "rgb(23, 24, 27)"]


def test_a_frame_that_cannot_be_decoded_shows_as_unreadable_with_no_request(
    tmp_path: Path, tab: Watched
) -> None:
    """A kept frame whose PNG is damaged has no thumbnail: the strip draws its slot as unreadable
    (CSS, no image requested), the view says it cannot be read, and the page logs no error."""
    root = tmp_path / "archive"
    records = sitearchive.fill(root, sitearchive.ticks(DAY, time(9), timedelta(minutes=3), 12))
    kept = sitearchive.kept(records, 1)
    bad = kept[3]
    assert bad.path is not None
    damaged = root / bad.path
    damaged.write_bytes(damaged.read_bytes()[:60])  # the PNG's header, its pixels cut off
    assert cli.main(["browse", str(root), "--no-open"]) == 0
    thumbs = root / "site" / "thumbs" / str(DAY)
    thumb = thumbs / Path(rel(bad)).with_suffix(".jpg")
    assert not thumb.exists() and (thumbs / Path(rel(kept[2])).with_suffix(".jpg")).is_file()
    page = open_page(tab, (root / "site" / "days" / f"{DAY}.html").as_uri())
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert shown(page)[0] == rel(kept[2])  # the damaged frame is in the strip now
    slot = page.locator("#strip a.unreadable")
    assert slot.count() == 1 and slot.inner_text() == clock(bad.taken)
    assert slot.locator("img").get_attribute("src") is None
    page.keyboard.press("ArrowRight")
    until(page, "() => document.getElementById('frame').dataset.ready === 'unreadable'")
    assert page.locator("#unreadable").is_visible() and not page.locator("#frame").is_visible()
    assert rel(bad) in page.inner_text("#unreadable")
    page.keyboard.press("ArrowRight")
    assert shown(page)[0] == rel(kept[4])  # and on past it
    page.wait_for_load_state("networkidle")
    assert tab.problems == []
    assert not [u for u in tab.requests if thumb.name in u]
