"""Only the visible part of an excluded window is painted: on a real X server with openbox and
xterm windows, the frames a Recorder keeps are checked pixel by pixel against the screen."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import numpy as np
from helpers.desktop import Windows, focus, openbox
from helpers.xscreen import SIZE, recorder
from PIL import Image
from Xlib import X, display

from screenrecord import capture
from screenrecord.capture.activity import open_reader, privacy
from screenrecord.models import Kind, Window

T = datetime(2026, 3, 10, 9, 0)
VAULT = "#ff00ff"
VAULT_RGB = (255, 0, 255)
EXCLUDE = {"privacy__exclude_apps": '["Vault"]'}


def screen(d: str) -> np.ndarray:
    """The screen as it is now, nothing painted."""
    [shot], _ = capture.grab({"DISPLAY": d}, datetime.now())
    return np.asarray(shot.frame.image)[..., :3].copy()


def stored(path: str) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def windows(d: str) -> dict[str | None, Window]:
    reader = open_reader({"DISPLAY": d}, "linux")
    try:
        return {w.app: w for w in reader.read().windows}
    finally:
        reader.close()


def area(w: Window) -> tuple[slice, slice]:
    return slice(max(0, w.top), w.top + w.height), slice(max(0, w.left), w.left + w.width)


def test_an_excluded_window_behind_a_full_screen_one_is_not_painted(xvfb_display, tmp_path):
    d = xvfb_display
    with openbox(d), Windows(d) as w:
        slides = w.xterm("slides", "Slides", "80x24+0+0", "#2040a0", "-fullscreen")
        rec = recorder(tmp_path, d, **EXCLUDE)
        try:
            [first] = rec.tick(T)
            w.xterm("passwords", "Vault", "100x40+100+100", VAULT)
            focus(d, slides)  # the full-screen window comes back over it
            listed = windows(d)
            plain = screen(d)
            [back] = rec.tick(T + timedelta(minutes=3))
        finally:
            rec.close()
    # The vault is there, below the full-screen window, and nothing of it shows.
    assert list(listed) == ["Vault", "Slides"], listed
    slides_window = listed["Slides"]
    assert (slides_window.width, slides_window.height) == SIZE
    assert not np.all(plain == VAULT_RGB, axis=-1).any()
    # The screen is the one kept before, unpainted: recognised, not stored as new.
    assert first.decision is Kind.NEW and first.path is not None
    assert np.array_equal(stored(str(tmp_path / "archive" / first.path)), plain)
    assert back.decision is Kind.DUPLICATE and back.score == 1.0, back
    assert back.activity is not None and back.activity.excluded is None


def test_a_partly_covered_excluded_window_is_painted_only_where_it_shows(xvfb_display, tmp_path):
    d = xvfb_display
    with openbox(d), Windows(d) as w:
        w.xterm("passwords", "Vault", "60x20+100+100", VAULT)
        focus(d, w.xterm("notes", "Notes", "60x20+300+200", "#20a040"))
        listed = windows(d)
        plain = screen(d)
        rec = recorder(tmp_path, d, **EXCLUDE)
        try:
            [kept] = rec.tick(T)
        finally:
            rec.close()
    vault, notes = listed["Vault"], listed["Notes"]
    assert list(listed) == ["Vault", "Notes"]
    # The two overlap, and the notes window hides part of the vault.
    hidden = np.zeros(plain.shape[:2], bool)
    hidden[area(vault)] = True
    shows = hidden.copy()
    shows[area(notes)] = False
    assert 0 < shows.sum() < hidden.sum()
    expected = plain.copy()
    expected[shows] = privacy.FILL
    assert kept.path is not None
    got = stored(str(tmp_path / "archive" / kept.path))
    # Painted where the vault shows, the notes window untouched where it lies over the vault.
    assert np.array_equal(got, expected)
    assert not np.all(got == VAULT_RGB, axis=-1).any()
    assert np.array_equal(got[area(notes)], plain[area(notes)])


@contextmanager
def override_redirect(d: str, width: int, height: int) -> Iterator[None]:
    """A mapped override-redirect window over the whole screen, black: how X screen lockers
    (i3lock, xscreensaver, slock) cover it, unseen by the window manager."""
    conn = display.Display(d)
    try:
        s = conn.screen()
        win = s.root.create_window(
            0,
            0,
            width,
            height,
            0,
            s.root_depth,
            background_pixel=s.black_pixel,
            override_redirect=True,
        )
        win.map()
        conn.sync()
        while win.get_attributes().map_state != X.IsViewable:
            conn.sync()
        yield
    finally:
        conn.close()


def test_a_screen_lockers_window_hides_an_excluded_one(xvfb_display, tmp_path):
    d = xvfb_display
    with openbox(d), Windows(d) as w:
        w.xterm("passwords", "Vault", "60x20+100+100", VAULT)
        with override_redirect(d, *SIZE):
            listed = windows(d)
            plain = screen(d)
            rec = recorder(tmp_path, d, **EXCLUDE)
            try:
                [kept] = rec.tick(T)
            finally:
                rec.close()
    # Listed above the vault, unnamed: it only covers.
    assert list(listed) == ["Vault", None] and listed[None].opaque
    assert not plain.any()  # black
    assert kept.path is not None
    assert np.array_equal(stored(str(tmp_path / "archive" / kept.path)), plain)
