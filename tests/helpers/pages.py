"""Pages in real headless Chromium, driven by Playwright: the system's Chromium, no download.

`Watched` records what a page did that a test may want to forbid: console errors and warnings,
uncaught exceptions, and every request it made (a request the page's CSP blocks is seen too).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, ConsoleMessage, Page, Request, sync_playwright

from helpers.system import claim, unavailable

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # without these Chromium calls home at start, which a closed network refuses loudly
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def executable() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        unavailable("chromium missing: install the Debian package chromium")
    return found


@contextmanager
def chromium() -> Iterator[Browser]:
    """The system Chromium, headless, for the length of the block."""
    claim("browser", "Chromium")
    path = executable()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watched:
    page: Page
    problems: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def outside(self, *folders: Path) -> list[str]:
        """Requests for anything but files under `folders`."""
        allowed = [f.absolute().as_uri() + "/" for f in folders]
        return [u for u in self.requests if not any(u.startswith(a) for a in allowed)]


def watch(page: Page) -> Watched:
    w = Watched(page)

    def console(m: ConsoleMessage) -> None:
        if m.type in ("error", "warning", "assert"):
            w.problems.append(f"console {m.type}: {m.text}")

    def request(r: Request) -> None:
        w.requests.append(r.url)

    page.on("console", console)
    page.on("pageerror", lambda e: w.problems.append(f"exception: {e}"))
    page.on("request", request)
    return w
