"""Exclusion rules and the activity settings: what matches, what is painted, what is stored,
and the config lines that say what is wrong."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from helpers.xscreen import screenrecord

from screenrecord import config
from screenrecord.capture.activity import privacy
from screenrecord.errors import ConfigError
from screenrecord.models import Activity, Frame, Window

T = datetime(2026, 3, 10, 9, 0)


def rules(apps: tuple[str, ...] = (), titles: tuple[str, ...] = ()) -> privacy.Rules:
    data = {"privacy": {"exclude_apps": list(apps), "exclude_titles": list(titles)}}
    p = config.parse(data, None).privacy
    return privacy.Rules.of(p.exclude_apps, p.exclude_titles)


def test_apps_match_app_or_executable_case_insensitively_titles_by_search() -> None:
    r = rules(("KeePassXC", "1Password"), ("private browsing", r"^incognito\b"))
    assert r.match("keepassxc", None, "db.kdbx") == 'exclude_apps "KeePassXC"'
    assert r.match("Org.keepassxc", "KeePassXC.exe", None) == 'exclude_apps "KeePassXC"'
    assert r.match("1password", "1password", "Vault") == 'exclude_apps "1Password"'
    assert r.match("Firefox", "firefox", "Mozilla Firefox Private Browsing") == (
        'exclude_titles "private browsing"'
    )
    assert r.match("chromium", None, "Incognito tab") == 'exclude_titles "^incognito\\b"'
    assert r.match("chromium", None, "not incognito") is None
    assert r.match("KeePass", "keepass2", "x") is None  # whole names, not parts
    assert r.match(None, None, None) is None


def test_judge_keeps_no_title_of_an_excluded_window_and_none_without_titles() -> None:
    r = rules(titles=("secret",))
    seen = Activity("Editor", "vim", "secret plan", 1, 2.0, False)
    kept = privacy.judge(seen, r, record_titles=True)
    assert (kept.app, kept.executable, kept.title, kept.excluded) == (
        None,
        None,
        None,
        'exclude_titles "secret"',
    )
    assert (kept.idle_s, kept.locked, kept.monitor) == (2.0, False, 1)
    plain = Activity("Editor", "vim", "shopping list", 1, 2.0, False)
    assert privacy.judge(plain, r, record_titles=True) == plain
    assert privacy.judge(plain, r, record_titles=False).title is None
    assert privacy.judge(plain, r, record_titles=False).app == "Editor"
    two_lines = Activity("Editor", "vim", "line one\nline\ttwo")
    assert privacy.judge(two_lines, r, record_titles=True).title == "line one line two"


def frame(w: int, h: int) -> Frame:
    return Frame(1, np.full((h, w, 3), 200, np.uint8), T, "f.png")


def test_mask_paints_excluded_windows_in_monitor_coordinates_and_to_scale() -> None:
    r = rules(("Vault",))
    windows = (
        Window("Vault", None, "v", 1300, 100, 200, 100),  # on the second monitor (x from 1280)
        Window("Editor", None, "e", 1350, 150, 100, 100, focused=True),  # above it: hides a part
    )
    seen = Activity(windows=windows, lists_windows=True)
    # The second monitor at +1280+0, 640x400 units, grabbed at twice that (a Retina frame).
    out, gone = privacy.mask(frame(1280, 800), 1280, 0, 640, 400, seen, r)
    a = np.asarray(out.image)
    grey = np.all(a == privacy.FILL, axis=-1)
    assert not gone
    assert grey.sum() == 400 * 200 - 200 * 100
    assert grey[200:300, 40:440].all() and grey[300:400, 40:140].all()
    assert grey[300:400, 340:440].all() and not grey[300:400, 140:340].any()
    # A monitor the window does not reach is left alone, the same array.
    f = frame(1280, 800)
    assert privacy.mask(f, 0, 0, 1280, 800, seen, r) == (f, False)
    # A window over the whole monitor leaves nothing: the monitor is excluded.
    full = Activity(windows=(Window("vault", None, None, -5, -5, 700, 500),), lists_windows=True)
    assert privacy.mask(frame(640, 400), 0, 0, 640, 400, full, r)[1] is True


def test_only_opaque_windows_above_an_excluded_one_hide_it() -> None:
    r = rules(("Vault",))
    vault = Window("Vault", None, "v", 100, 100, 200, 100)
    full = Window("Slides", None, "s", 0, 0, 640, 400)

    def grey(*windows: Window) -> int:
        seen = Activity(windows=windows, lists_windows=True)
        out, _ = privacy.mask(frame(640, 400), 0, 0, 640, 400, seen, r)
        return int(np.all(np.asarray(out.image) == privacy.FILL, axis=-1).sum())

    assert grey(vault, full) == 0  # behind a full-screen window: nothing shows, nothing painted
    assert grey(full, vault) == 200 * 100  # in front of it
    assert grey(vault, dataclasses.replace(full, opaque=False)) == 200 * 100  # it shows through
    # A second excluded window above the first is painted whole; the first where it shows.
    above = Window("vault", None, "w", 200, 150, 200, 100)
    assert grey(vault, above) == 2 * 200 * 100 - 100 * 50  # their union
    # An excluded window over the whole monitor, above another: nothing of the monitor is left.
    seen = Activity(windows=(full, dataclasses.replace(full, app="Vault")), lists_windows=True)
    assert privacy.mask(frame(640, 400), 0, 0, 640, 400, seen, r)[1] is True


def test_only_the_focused_window_known_means_the_tick_is_skipped() -> None:
    r = rules(("Vault",))
    seen = privacy.judge(Activity("Vault", "vault.exe", "x", lists_windows=False), r, True)
    assert privacy.skip_whole_tick(seen)
    listed = privacy.judge(Activity("Vault", "vault.exe", "x", lists_windows=True), r, True)
    assert not privacy.skip_whole_tick(listed)


def test_defaults_and_the_commented_suggestions(tmp_path: Path) -> None:
    cfg = config.Config()
    assert cfg.activity == config.ActivityConfig(True, timedelta(minutes=5), False, True)
    assert cfg.privacy == config.PrivacyConfig((), ())
    text = config.DEFAULT_TOML
    for line in [
        "record_titles = true",
        'idle_after = "5m"',
        "skip_when_idle = false",
        "skip_when_locked = true",
        "exclude_apps = []",
        "exclude_titles = []",
    ]:
        assert f"\n{line}\n" in text
    assert '# exclude_apps = ["KeePassXC", "KeePass", "1Password", "Bitwarden"' in text
    assert '# exclude_titles = ["private browsing", "incognito", "inprivate"]' in text
    # The suggestions, uncommented, are valid settings.
    suggested = (
        "\n".join(
            line.removeprefix("# ") if line.startswith(("# exclude", "#    ")) else line
            for line in text.splitlines()
        )
        .replace("exclude_apps = []\n", "")
        .replace("exclude_titles = []\n", "")
    )
    (tmp_path / "c.toml").write_text(suggested)
    p = config.load(tmp_path / "c.toml").privacy
    assert "KeePassXC" in p.exclude_apps and "incognito" in p.exclude_titles


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '[privacy]\nexclude_titles = ["ok", "([a-z"]\n',
            "privacy.exclude_titles: '([a-z' is not a regular expression (unterminated "
            "character set at position 1); fix it or remove it",
        ),
        (
            '[privacy]\nexclude_apps = "KeePassXC"\n',
            "privacy.exclude_apps: must be a list of names, e.g. [\"KeePassXC\"], got 'KeePassXC'",
        ),
        ("[activity]\nrecord_titles = 1\n", "activity.record_titles: must be true or false, got 1"),
        ('[activity]\nidle_after = "soon"\n', "activity.idle_after: 'soon' is not a duration"),
        ('[activity]\nidle_after = "off"\n', 'activity.idle_after: must be a duration like "5m"'),
        ("[activity]\nskip_when_lock = true\n", "activity.skip_when_lock: unknown setting (did"),
    ],
)
def test_bad_settings_give_one_line_naming_the_key(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as e:
        config.load(path)
    assert str(e.value).startswith(f"{path}: {message}")
    r = screenrecord("config", "check", str(path))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and r.stderr.startswith(f"screenrecord: {path}: {message}")


def test_config_check_counts_the_exclusions(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[privacy]\nexclude_apps = ["a", "b"]\nexclude_titles = ["x"]\n')
    r = screenrecord("config", "check", str(path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.rstrip().endswith("excluding 2 apps and 1 title pattern)")
