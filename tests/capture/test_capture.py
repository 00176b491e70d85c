"""Capture from a real X display: every physical monitor, raw pixels, monitors that come and go."""

from __future__ import annotations

import subprocess
from datetime import datetime

import pytest
from helpers.xscreen import show, text_screen

from screenrecord import capture
from screenrecord.errors import CaptureError

T = datetime(2026, 3, 10, 10, 0, 0, 123456)


def test_every_monitor_separately_pixel_exact(multihead_display, tmp_path):
    env = {"DISPLAY": multihead_display}
    a, b = text_screen(1, (640, 480)), text_screen(2, (800, 600))
    show(multihead_display, tmp_path, a, b)
    assert capture.monitors(env) == [
        capture.Monitor(1, 0, 0, 640, 480),
        capture.Monitor(2, 640, 0, 800, 600),
    ]
    shots, failures = capture.grab(env, T)
    assert failures == []
    assert [s.frame.monitor for s in shots] == [1, 2]
    assert [s.frame.name for s in shots] == [
        "2026-03-10_10.00.00.123456_1.png",
        "2026-03-10_10.00.00.123456_2.png",
    ]
    assert shots[0].frame.image.shape == (480, 640, 3)  # RGB pixels, no PNG round trip
    assert shots[0].frame.image.tobytes() == a.convert("RGB").tobytes()
    assert shots[1].frame.image.tobytes() == b.convert("RGB").tobytes()
    only2, _ = capture.grab(env, T, wanted=[2], ext="webp")
    assert [(s.monitor.number, s.frame.name[-7:]) for s in only2] == [(2, "_2.webp")]


def test_monitor_list_is_read_again_each_grab(multihead_display):
    env = {"DISPLAY": multihead_display}
    xrandr = ["xrandr", "-d", multihead_display]
    subprocess.run([*xrandr, "--output", "DUMMY1", "--off"], check=True)
    shots, _ = capture.grab(env, T)
    assert [s.monitor.number for s in shots] == [1]
    subprocess.run(
        [*xrandr, "--output", "DUMMY1", "--mode", "800x600_mh", "--right-of", "DUMMY0"], check=True
    )
    shots, _ = capture.grab(env, T)
    assert [(s.monitor.number, s.frame.size) for s in shots] == [(1, (640, 480)), (2, (800, 600))]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "DISPLAY is not set"),
        ({"WAYLAND_DISPLAY": "wayland-1"}, "Wayland session (wayland-1) of an unknown desktop"),
    ],
)
def test_session_checks(env, message):
    with pytest.raises(CaptureError) as e:
        capture.check_session(env, platform="linux")
    assert message in str(e.value)
    capture.check_session({"DISPLAY": ":0"}, platform="linux")
    capture.check_session({}, platform="win32")


def test_a_display_that_cannot_be_opened():
    with pytest.raises(CaptureError, match="cannot open display ':1999'"):
        capture.grab({"DISPLAY": ":1999"}, T)
    with pytest.raises(CaptureError, match="in this Wayland session"):
        capture.monitors({"DISPLAY": ":1999", "WAYLAND_DISPLAY": "wayland-0"}, setting="mss")


def test_black_frames_mean_no_permission_only_on_macos(xvfb_display, tmp_path):
    from PIL import Image

    show(xvfb_display, tmp_path, Image.new("RGB", (1280, 800)))
    shots, _ = capture.grab({"DISPLAY": xvfb_display}, T)
    assert not shots[0].frame.image.any()
    assert capture.looks_unpermitted(shots, platform="darwin")
    assert not capture.looks_unpermitted(shots, platform="linux")
    show(xvfb_display, tmp_path, text_screen(1, (1280, 800)))
    shots, _ = capture.grab({"DISPLAY": xvfb_display}, T)
    assert not capture.looks_unpermitted(shots, platform="darwin")
