"""report.html in headless Chromium (Debian's; `make ensure-chromium` installs it): the page
loads with no network, every plot is laid out with drawn marks, and the screenshot shows them."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from matplotlib import image
from screen_helpers import AS_OF, BULK

from trd_cds.screen.command import screen

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")
PLOT_BLUE = (0x3B, 0x6E, 0xA5)


def _chromium(*args: str) -> subprocess.CompletedProcess[bytes]:
    assert Path(CHROMIUM).exists(), "chromium is missing: make ensure-chromium"
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, timeout=120, check=True)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("screen") / "out"
    screen(BULK, out, AS_OF, processes=1, show_progress=False)
    return out / "report.html"


def test_the_page_needs_nothing_from_the_network(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<link" not in page and "@import" not in page and "url(http" not in page


def test_every_plot_renders_in_chromium(report: Path, tmp_path: Path) -> None:
    dom = _chromium("--virtual-time-budget=5000", "--dump-dom", report.as_uri()).stdout.decode()
    plots = dom.count('<figure class="plot"')
    assert plots == 4
    assert f'data-plots-rendered="{plots}"' in dom

    shot = tmp_path / "report.png"
    _chromium("--window-size=1200,2600", "--hide-scrollbars", f"--screenshot={shot}",
              report.as_uri())
    pixels = image.imread(shot)[:, :, :3]
    blue = ((abs(pixels[:, :, 0] * 255 - PLOT_BLUE[0]) < 6)
            & (abs(pixels[:, :, 1] * 255 - PLOT_BLUE[1]) < 6)
            & (abs(pixels[:, :, 2] * 255 - PLOT_BLUE[2]) < 6))
    # The bars of the plots, in their colour: thousands of pixels, not a stray line.
    assert int(blue.sum()) > 5_000
    rows_with_bars = {int(r) // 300 for r in blue.nonzero()[0]}
    assert len(rows_with_bars) >= 2  # the plots wrap onto two rows of the page
