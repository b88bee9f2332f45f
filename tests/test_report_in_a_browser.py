"""The weekly report as a manager sees it: drawn by a real headless Chromium at 600 px, the width
mail clients give a message, and kept to what Gmail and Outlook do not strip."""

from __future__ import annotations

import email
import email.policy
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from tests.test_report import NOW, demo_config  # noqa: F401  (the fixture)
from triage.cli import main
from triage.report import charts

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
MAIL_WIDTH = 600
# each chart's data colours: a chart with data has at least a bar's worth of them
CHART_DATA = {
    "mail per day by class": tuple(charts.CLASS_COLOURS.values()),
    "backlog per day": (charts.WAITING, charts.INBOX_ZERO),
    "first responses against the target": (charts.WITHIN, charts.BEYOND, charts.UNANSWERED),
}
A_BAR = 150  # pixels: the smallest bar of a one-message day is several times this


def chromium(tmp_path: Path, *args: str) -> str:
    """Run headless Chromium with a fresh profile and no background networking; its stdout."""
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run `make test`, which installs Debian's chromium")
    profile = tmp_path / "chromium-profile"
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def report_html(config: Path, tmp_path: Path, week: str = "2026-W47") -> Path:
    out = tmp_path / f"report-{week}.html"
    assert main(["--config", str(config), "report", "--week", week, "--out", str(out), "--now", NOW]) == 0
    return out


def charts_with_data(screenshot: Path) -> set[str]:
    image = Image.open(screenshot).convert("RGB")
    pixels = {colour: n for n, colour in image.getcolors(image.width * image.height) or []}

    def count(colour: str) -> int:
        return pixels.get(tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5)), 0)

    return {name for name, colours in CHART_DATA.items() if sum(map(count, colours)) >= A_BAR}


def screenshot(html: Path, tmp_path: Path) -> Path:
    shot = tmp_path / f"{html.stem}.png"
    chromium(tmp_path, f"--window-size={MAIL_WIDTH},3200", f"--screenshot={shot}", html.as_uri())
    return shot


def test_every_chart_is_drawn_with_data_at_600_px(demo_config: Path, tmp_path: Path) -> None:  # noqa: F811
    shot = screenshot(report_html(demo_config, tmp_path), tmp_path)
    assert Image.open(shot).width == MAIL_WIDTH
    assert charts_with_data(shot) == set(CHART_DATA)


def test_the_screenshot_check_sees_charts_without_data(demo_config: Path, tmp_path: Path) -> None:  # noqa: F811
    # a week before the mailbox's history: no mail, and a backlog that is unknown, not zero
    shot = screenshot(report_html(demo_config, tmp_path, "2026-W40"), tmp_path)
    assert charts_with_data(shot) == set()


MEASURE = """<script>
const cells = [...document.querySelectorAll("td")].filter(td => !td.querySelector("table, img"));
const lines = td => {
  const range = document.createRange(); range.selectNodeContents(td);
  return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
};
const squeezed = cells.filter(td => td.innerText.trim() && lines(td) > 1 && td.offsetWidth < 200)
  .map(td => td.innerText.trim());
document.body.insertAdjacentHTML("beforeend", "<pre id=measured>" +
  JSON.stringify({width: document.documentElement.scrollWidth, squeezed}) + "</pre>");
</script>"""


def test_nothing_is_wider_than_600_px_and_no_table_column_is_squeezed(
    demo_config: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    page = report_html(demo_config, tmp_path)
    measured = tmp_path / "measured.html"  # the report plus a script that measures it (the report has none)
    measured.write_text(page.read_text().replace("</body>", MEASURE + "</body>"))
    dom = chromium(tmp_path, f"--window-size={MAIL_WIDTH},900", "--dump-dom", measured.as_uri())
    found = json.loads(re.search(r"<pre id=\"measured\">(.*?)</pre>", dom, re.S).group(1))  # type: ignore[union-attr]
    assert found["width"] <= MAIL_WIDTH
    assert found["squeezed"] == [], "cells narrower than 200 px that wrap onto several lines"


class EmailClientCheck(HTMLParser):
    """What Gmail and Outlook strip or refuse: scripts, <style> and external CSS, event
    handlers, forms and embeds, external images, CSS they ignore (position, flex, grid, url())."""

    REFUSED_TAGS = {"script", "style", "link", "iframe", "object", "embed", "form", "input", "video", "audio"}
    REFUSED_CSS = re.compile(r"position\s*:|display\s*:\s*(flex|grid)|url\(|@import|expression\(", re.I)

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.REFUSED_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"{tag} {name}=")
            if (
                name in ("src", "href", "background")
                and value
                and not value.startswith(("cid:", "data:image/"))
            ):
                self.problems.append(f"{tag} {name}={value[:40]}")
            if name == "style" and value and self.REFUSED_CSS.search(value):
                self.problems.append(f"{tag} style={value[:60]}")


def email_client_problems(html: str) -> list[str]:
    check = EmailClientCheck()
    check.feed(html)
    return check.problems


def test_the_report_html_keeps_to_what_gmail_and_outlook_render(demo_config: Path, tmp_path: Path) -> None:  # noqa: F811
    eml = tmp_path / "report.eml"
    assert (
        main(["--config", str(demo_config), "report", "--week", "2026-W47", "--eml", str(eml), "--now", NOW])
        == 0
    )
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    in_the_email = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    in_the_file = report_html(demo_config, tmp_path).read_text()
    assert email_client_problems(in_the_email) == []
    assert email_client_problems(in_the_file) == []
    assert email_client_problems('<p style="position:absolute" onclick="x()"><script></script>') == [
        "p style=position:absolute",
        "p onclick=",
        "<script>",
    ]
