"""`screenrecord browse`: a static site of the archive, opened from disk with no server.

An index calendar of the days with captures (all of them for `browse`, the period's for
`report --html`), and one page per day that plays the day's kept
frames like a movie (see render.py for what a page holds, generate.py for how the site is kept up
to date, day.js for the page's controls).
"""

from __future__ import annotations

from screenrecord.review.site.generate import Archive, Site, browse, build, default_out, of_report

__all__ = ["Archive", "Site", "browse", "build", "default_out", "of_report"]
