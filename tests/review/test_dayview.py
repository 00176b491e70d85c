"""The HTML day view, loaded from disk in headless Chromium (DevTools protocol over a pipe)."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from helpers.frames import CORPUS, needs_corpus
from helpers.procs import stop
from helpers.system import unavailable

from screenrecord import cli
from screenrecord.archive import store
from screenrecord.archive.catalog import Catalog
from screenrecord.models import Kind, Record

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """Headless Chromium driven over --remote-debugging-pipe (fd 3 in, fd 4 out, NUL-separated JSON)."""

    def __init__(self, profile: Path) -> None:
        if CHROMIUM is None:
            unavailable("chromium missing: install the Debian package chromium")
        to_r, self.to_w = os.pipe()
        self.from_r, from_w = os.pipe()
        flags = (
            "--headless --no-sandbox --disable-gpu --disable-background-networking "
            "--disable-component-update --disable-sync --no-first-run --remote-debugging-pipe "
            f"--user-data-dir={profile}"
        )
        self.proc = subprocess.Popen(
            ["bash", "-c", f'exec 3<&{to_r} 4>&{from_w}; exec "{CHROMIUM}" {flags} about:blank'],
            pass_fds=(to_r, from_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_r)
        os.close(from_w)
        self.buf, self.next_id, self.events = b"", 0, []

    def send(self, method: str, session: str | None = None, **params) -> dict:
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self.to_w, json.dumps(msg).encode() + b"\0")
        while True:
            m = self.receive(30)
            if m.get("id") == self.next_id:
                assert "error" not in m, m
                return m["result"]

    def receive(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.from_r], [], [], left)[0]:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self.from_r, 1 << 16)
            if not chunk:
                raise EOFError("chromium exited")
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        m = json.loads(raw)
        if "method" in m:
            self.events.append(m)
        return m

    def load(self, url: str) -> tuple[str, list[dict]]:
        """Open url in a new tab, wait for its load event; return the session and problems seen."""
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable", session)
        self.events.clear()
        self.send("Page.navigate", session, url=url)
        deadline = time.monotonic() + 30
        while not any(e["method"] == "Page.loadEventFired" for e in self.events):
            self.receive(deadline - time.monotonic())
        problems = [
            e
            for e in self.events
            if e["method"] == "Runtime.exceptionThrown"
            or (
                e["method"] == "Runtime.consoleAPICalled"
                and e["params"]["type"] in ("error", "warning", "assert")
            )
            or (
                e["method"] == "Log.entryAdded"
                and e["params"]["entry"]["level"] in ("error", "warning")
            )
        ]
        return session, problems

    def evaluate(self, session: str, expression: str):
        r = self.send("Runtime.evaluate", session, expression=expression, returnByValue=True)
        return r["result"]["value"]

    def close(self) -> None:
        with contextlib.suppress(EOFError, TimeoutError, OSError):
            self.send("Browser.close")
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)  # closing by itself
        stop(self.proc)
        os.close(self.to_w)
        os.close(self.from_r)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


def deduped_archive(root: Path, hours: tuple[int, ...]) -> None:
    """The corpus afternoon as the daemon would leave it: kept frames on disk, every decision in the catalog."""
    with open(CORPUS / "manifest.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["path"].startswith("2026-03/2026-03-10/")]
    with Catalog.open(root) as cat:
        for r in rows:
            taken, monitor = store.parse_name(Path(r["path"]).name)
            if taken.hour not in hours:
                continue
            kept = r["ref_decision"] != "duplicate"
            if kept:
                dest = root / r["path"]
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(CORPUS / r["path"], dest)
            cat.record(
                Record(
                    taken,
                    monitor,
                    int(r["width"]),
                    int(r["height"]),
                    Kind(r["ref_decision"]),
                    score=float(r["ref_ssim_best"]) if r["ref_ssim_best"] else None,
                    match=r["ref_best_match"] or None,
                    path=r["path"] if kept else None,
                    bytes=(CORPUS / r["path"]).stat().st_size if kept else None,
                )
            )


def test_browser_reports_a_broken_page(tmp_path: Path, browser: Browser) -> None:
    """The check below can fail: a console error and a missing image are seen."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><img src="missing.png"><script>console.error("boom")</script>')
    session, problems = browser.load(page.as_uri())
    assert any("boom" in json.dumps(p) for p in problems)
    assert (
        browser.evaluate(
            session, "[...document.images].every(i => i.complete && i.naturalWidth > 0)"
        )
        is False
    )


@needs_corpus
def test_day_view_loads_from_disk_with_thumbnails(
    tmp_path: Path, browser: Browser, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "archive"
    deduped_archive(root, (13, 14))
    out = tmp_path / "pages"
    assert cli.main(["report", str(root), "--day", "2026-03-10", "--html", str(out)]) == 0
    page = out / "2026-03-10.html"
    assert [p.name for p in out.iterdir()] == [page.name]
    text = page.read_text()
    assert "http://" not in text and "https://" not in text  # nothing from the network

    session, problems = browser.load(page.as_uri())
    assert problems == []
    images = browser.evaluate(
        session,
        "[...document.images].map(i => [i.src.slice(0, 23), i.complete && i.naturalWidth > 0,"
        " i.closest('a') && i.closest('a').href])",
    )
    timeline = browser.evaluate(session, "document.querySelectorAll('.timeline img').length")
    picks = browser.evaluate(session, "document.querySelectorAll('figure img').length")
    assert timeline == 4  # 13:00 and 14:00 on both monitors
    assert picks >= 2
    assert all(src == "data:image/jpeg;base64," and ok for src, ok, _ in images), images
    for _, _, href in images:  # each thumbnail links to its frame, relative to the page
        assert href.startswith("file://") and Path(href[len("file://") :]).is_file()
    text_seen = browser.evaluate(session, "document.body.innerText")
    assert "Tuesday 10 March 2026" in text_seen and "monitor 2" in text_seen
    assert "skipped" in text_seen and "Highlights" in text_seen
