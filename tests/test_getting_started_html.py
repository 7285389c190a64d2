"""The HTML scoreboard in a real browser: headless Chromium draws every riddle, and names and
messages with HTML in them are shown as text, never as markup.

Chromium comes from the system (`.ci/install-chromium` installs Debian's package where the
machine allows); without it this test is skipped and says so.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.core.riddles import RIDDLES
from solutions.submissions import make_submission, reference_answers

from .conftest import ROOT

pytestmark = pytest.mark.slow
HOSTILE_NAME = "<b>Ada<b> & <img src=x onerror=alert(1)>"
HOSTILE_ERROR = '<script>alert("pwned")</script><a href=x>click</a>'
WINDOW = (1280, 2200)
VISIBLE = """<script>
addEventListener("load", () => {
  const rows = [...document.querySelectorAll("tr[id^=row-]")];
  const seen = rows.filter(r => { const b = r.getBoundingClientRect(); return b.top >= 0 && b.bottom <= innerHeight; });
  const out = document.createElement("pre");
  out.id = "visible-rows";
  out.textContent = seen.map(r => r.id).join(" ");
  document.body.append(out);
});
</script>"""


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium on this machine (run .ci/install-chromium, which needs apt and root)")


def browse(page: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--no-first-run", f"--user-data-dir={tmp / 'profile'}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
               *args, page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def scoreboard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The page for a folder named with HTML: reference answers, one riddle raising HTML text."""
    tmp = tmp_path_factory.mktemp("html")
    folder = tmp / HOSTILE_NAME
    answers = reference_answers(ROOT / "source" / "riddles")
    answers["answer_min_network"] = f"def min_network():\n    raise ValueError({HOSTILE_ERROR!r})\n"
    make_submission(ROOT / "assignments" / "riddles", folder, answers)
    (folder / "02-minimum.ipynb").rename(folder / "02 <i>min<i>.ipynb")
    page = tmp / "scoreboard.html"
    proc = subprocess.run([sys.executable, "-m", "autograder.frontends.cli", "check", str(folder), "--html", str(page)],
                          capture_output=True, text=True, timeout=600, cwd=tmp)
    assert proc.returncode == 1, proc.stderr  # min_network raised: not all pass
    assert "Traceback" not in proc.stdout + proc.stderr
    return page


def test_the_page_shows_every_riddle_and_html_as_text(scoreboard: Path, tmp_path: Path) -> None:
    probe = tmp_path / "probe.html"
    probe.write_text(scoreboard.read_text().replace("</body>", VISIBLE + "</body>"))
    dom = browse(probe, tmp_path, "--dump-dom", "--virtual-time-budget=3000")
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    visible = re.search(r'<pre id="visible-rows">([^<]*)</pre>', html)
    assert visible, html[-2000:]
    assert sorted(visible.group(1).split()) == sorted(f"row-{rid}" for rid in RIDDLES)
    title = re.search(r'<span id="title">(.*?)</span>', html, re.S)
    assert title and title.group(1) == HOSTILE_NAME.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    body = html.split("<body>", 1)[1].split("<script>\naddEventListener", 1)[0]  # the page, not the probe
    assert "visible-rows" not in body and "</table>" in body
    assert not re.search(r"<(img|b|i|a|script)[\s>]", body)  # no element was made from a name or a message
    assert '&lt;script&gt;alert("pwned")&lt;/script&gt;&lt;a href=x&gt;click&lt;/a&gt;' in body
    assert "02 &lt;i&gt;min&lt;i&gt;.ipynb" in body

    shot = tmp_path / "scoreboard.png"
    done = browse(scoreboard, tmp_path, f"--screenshot={shot}")
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    from PIL import Image

    with Image.open(shot) as img:
        assert img.size == WINDOW
        colours = img.convert("L").getextrema()
    assert colours[0] < 100 < colours[1]  # text on a light page, not a blank or an error screen
