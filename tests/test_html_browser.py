"""The HTML report opened in headless Chromium (Debian's `chromium`; .ci/run installs it):
it loads with no console errors and no network requests, the screenshot is not blank, a
hostile tag name shows as text and not as an element, and the overview filter works.
Skipped only outside CI when Chromium or Playwright is missing."""

from __future__ import annotations

import io
import os
import shutil

import numpy as np
import pytest

from logsleuth.report.html import to_html
from logsleuth.scan import analyze_paths

from conftest import REPO

HOSTILE = "<img src=x onerror=alert(1)>"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# .ci/run sets LOGSLEUTH_CI=1 (a CI service sets CI=true): there a missing browser fails, never skips
IN_CI = os.environ.get("CI") == "true" or os.environ.get("LOGSLEUTH_CI") == "1"


def _need_browser():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        if IN_CI:
            pytest.fail("playwright is not installed (pip install '.[test]')")
        pytest.skip("playwright not installed")
    if not CHROMIUM:
        if IN_CI:
            pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("chromium not installed")


def test_html_report_in_headless_chromium(tmp_path):
    _need_browser()
    from playwright.sync_api import sync_playwright

    from writers import write_tensorboard

    logs = tmp_path / "logs"
    shutil.copytree(os.path.join(REPO, "sample_logs"), logs / "samples")
    st = np.arange(80, dtype=float)
    write_tensorboard(str(logs / f"run {HOSTILE}"), {f"loss/{HOSTILE}": (st, 2 * np.exp(-st / 20) + 0.1),
                                                     "val/acc": (st[::10], np.linspace(0.1, 0.9, 8))})
    page_path = tmp_path / "report.html"
    res = analyze_paths([str(logs)])
    page_path.write_text(to_html(res), encoding="utf-8")

    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
        page.goto(page_path.as_uri(), wait_until="load")
        shot = page.screenshot(full_page=False)
        assert page.locator("img[src='x']").count() == 0
        assert HOSTILE in page.inner_text("body")
        rows = page.locator("#overview tbody tr")
        total = rows.count()
        page.fill("#filter", "keras")
        visible = sum(1 for i in range(total) if rows.nth(i).is_visible())
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.goto(page_path.as_uri(), wait_until="load")
        wide = phone.evaluate("document.documentElement.scrollWidth")
        browser.close()
    assert errors == []
    assert requests == []
    assert total == 8 and visible == 1
    assert wide <= 400, f"page is {wide}px wide on a 390px phone"
    import matplotlib.image as mpimg

    img = mpimg.imread(io.BytesIO(shot), format="png")
    assert img.std() > 0.05, "screenshot is blank"


# Per word of the cause and symptom lists, the run headings, warnings and notes: a word laid out
# on two lines has two client rectangles (a break inside it); the page width, and every plot's
# width (inline SVG).
_LAYOUT_JS = """
() => {
  const broken = [];
  for (const el of document.querySelectorAll('.causes li, #overview td, h2, ul.small li, p.small')) {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode())) {
      const re = /\\S+/g; let m;
      while ((m = re.exec(node.textContent))) {
        const r = document.createRange();
        r.setStart(node, m.index); r.setEnd(node, m.index + m[0].length);
        const rects = Array.from(r.getClientRects()).filter(x => x.width > 0);
        const tops = new Set(rects.map(x => Math.round(x.top)));
        if (tops.size > 1) broken.push(m[0]);
      }
    }
  }
  const imgs = Array.from(document.querySelectorAll('.plot img, .plot svg')).map(i => i.getBoundingClientRect().width);
  return {width: document.documentElement.scrollWidth, broken, imgs};
}
"""

ARTIFACTS = os.environ.get("LOGSLEUTH_TEST_ARTIFACTS", os.path.join(REPO, "test-artifacts"))


@pytest.mark.parametrize("viewport", [1280, 390])
def test_report_layout_at_desktop_and_phone_width(tmp_path, viewport):
    """No horizontal overflow, no word broken inside itself in the cause and symptom lists, plot
    images at least 360 px wide on the phone; the screenshot is kept in test-artifacts/."""
    _need_browser()
    from playwright.sync_api import sync_playwright

    from conftest import REAL_LOGS
    from writers import write_tensorboard

    logs = tmp_path / "logs"
    shutil.copytree(os.path.join(REPO, "sample_logs"), logs / "samples")
    st = np.arange(2000, dtype=float)
    long_name = "sweeps/bert-base-uncased_lr_3e-05_warmup_0.06_weight_decay_0.01_seed_1234567890_numerical_instability"
    write_tensorboard(str(logs / long_name), {"train/loss": (st, np.exp(st / 300)), "val/loss": (st[::100], np.exp(st[::100] / 250))})
    # an MLflow-like run id and a long path in a reader's warning (issue 28.4): wrap after separators only
    deep = logs / "mlruns" / "417298534851939285" / "8f1c2e7a9b3d4c5e6f7a8b9c0d1e2f3a" / "artifacts_history"
    deep.mkdir(parents=True)
    (deep / "training_history_without_step_column.csv").write_text(
        "loss,val_loss\n" + "".join(f"{1 / (i + 1):.4f},{1.2 / (i + 1):.4f}\n" for i in range(30)))
    paths = [str(logs)]
    r37 = os.path.join(REAL_LOGS, "tensorboard", "r37")
    if os.path.isdir(r37):
        paths.append(r37)
    res = analyze_paths(paths)
    page_path = tmp_path / "report.html"
    page_path.write_text(to_html(res), encoding="utf-8")
    os.makedirs(ARTIFACTS, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": viewport, "height": 900})
        page.goto(page_path.as_uri(), wait_until="load")
        got = page.evaluate(_LAYOUT_JS)
        page.screenshot(path=os.path.join(ARTIFACTS, f"report_{viewport}px.png"), full_page=True)
        browser.close()
    assert got["width"] <= viewport, f"page is {got['width']} px wide at {viewport} px"
    assert got["broken"] == [], f"words broken inside: {got['broken'][:10]}"
    assert got["imgs"], "no plot on the page"
    if viewport == 390:
        assert min(got["imgs"]) >= 360, f"plot images {min(got['imgs']):.0f} px wide on a phone"
