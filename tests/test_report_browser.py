"""The verify HTML report, opened in a real headless browser (Debian's chromium).

Builds report.html with the harness from two small fixture pairs (one IDENTICAL, one DIVERGED), loads
it in chromium with a probe script that measures the rendered layout (the summary table and the inline
SVG loss plot must have a size and drawn content) and sorts the per-tensor table by clicking a
header, and saves a screenshot (in $VARMIGRATE_SCREENSHOT_DIR when set, else in
the test's temporary folder). Install chromium with tests/browser/install-chromium.sh.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
<script>
window.addEventListener('load', () => {
  const box = (el) => { const r = el.getBoundingClientRect(); return {w: r.width, h: r.height}; };
  const table = document.querySelector('table');
  const svg = document.querySelector('svg');
  const marks = svg ? Array.from(svg.querySelectorAll('path, polyline, line, circle, rect')) : [];
  const drawn = marks.filter((m) => { const b = m.getBBox(); return b.width > 0 || b.height > 0; });
  const sortable = document.querySelector('table.sortable');
  let sorted = null;
  if (sortable) {  // click "max abs" twice: ascending, then descending by value
    const th = Array.from(sortable.querySelectorAll('th')).find((h) => h.textContent === 'max abs');
    const col = Array.from(th.parentNode.children).indexOf(th);
    const column = () => Array.from(sortable.tBodies[0].rows).map((r) => r.cells[col].dataset.v);
    th.click();
    const up = column();
    th.click();
    sorted = {up: up, down: column()};
  }
  const out = {
    sorted: sorted,
    table: table ? box(table) : null,
    rows: table ? table.querySelectorAll('tr').length : 0,
    svg: svg ? box(svg) : null,
    drawn: drawn.length,
    lines: svg ? Array.from(svg.querySelectorAll('path, polyline')).map((m) => m.getTotalLength()) : [],
  };
  const pre = document.createElement('pre');
  pre.id = 'varmigrate-probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("chromium is not installed (run tests/browser/install-chromium.sh)")


def _browser(chromium: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--window-size=1200,1400", "--virtual-time-budget=5000", *args],
        capture_output=True, text=True, timeout=120,
    )


@pytest.mark.torch
@pytest.mark.slow
def test_report_renders_table_and_plot(tmp_path: Path) -> None:
    chromium = _chromium()
    programs = tmp_path / "programs"
    for name in ("linear_model", "linear_model_wrong"):
        shutil.copytree(ROOT / "tests" / "fixtures" / "programs" / name, programs / name)
    report_dir = tmp_path / "report"
    harness = subprocess.run(
        [sys.executable, "-m", "varmigrate.harness", "--fixtures", str(programs), "--report", str(report_dir)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    html = report_dir / "report.html"
    assert html.exists(), harness.stdout + harness.stderr
    page = html.read_text(encoding="utf-8")
    assert "<table" in page and "<svg" in page

    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = _browser(chromium, "--dump-dom", probed.as_uri())
    match = re.search(r'<pre id="varmigrate-probe">(.*?)</pre>', dom.stdout, re.S)
    assert match, dom.stderr[-2000:]
    probe = json.loads(match.group(1).replace("&quot;", '"'))
    assert probe["table"]["w"] > 200 and probe["table"]["h"] > 20 and probe["rows"] >= 2
    assert probe["svg"]["w"] > 200 and probe["svg"]["h"] > 100
    assert probe["drawn"] >= 2 and max(probe["lines"]) > 100  # the loss curves are drawn
    # the per-tensor table of the diverged pair sorts by value when its header is clicked
    up = [float(v) for v in probe["sorted"]["up"]]
    down = [float(v) for v in probe["sorted"]["down"]]
    assert up == sorted(up) and down == sorted(up, reverse=True) and len(up) >= 5

    shots = Path(os.environ.get("VARMIGRATE_SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    png = shots / "verify-report.png"
    shot = _browser(chromium, f"--screenshot={png}", html.as_uri())
    assert png.exists(), shot.stderr[-2000:]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1200, 1400)
    assert len(data) > 20_000  # a blank page compresses to a few kB
    print(f"screenshot: {png}")
