"""The browser journeys: Debian's Chromium driven by Playwright against a live portal.

Every page a journey stops at is photographed into var/screenshots/<journey>/<language>-<width>/
and checked as a person would: nothing wider than the window, no English sentence left in an
Italian or French page, and (portal pages) no serious or critical axe-core violation.
"""

import json
import re
from datetime import timedelta
from importlib import import_module
from pathlib import Path

import polib
import pytest
import time_machine
from django.utils import timezone

from tests.conftest import require_service

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "var" / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
VIEWPORTS = {"1280": {"width": 1280, "height": 800}, "390": {"width": 390, "height": 844}}
LOCALES = {"en": "en-GB", "it": "it-IT", "fr": "fr-FR"}
BLOCKING_IMPACTS = {"serious", "critical"}


@pytest.fixture(scope="session")
def axe_source() -> str:
    require_service(AXE.exists(), f"axe-core at {AXE.relative_to(ROOT)} (make install runs npm ci)")
    return AXE.read_text()


@pytest.fixture
def service_hours(transactional_db):
    """The terms' service hours, and the clock moved into them if the service is closed now.

    The calendar is the one a fresh database has (Mon-Fri 08:30-12:30 and 14:00-18:00 in Rome,
    Italian holidays), written again here because a transactional test's flush empties the
    tables a data migration filled: the journeys run on it, not on a gate told to answer "open".
    The clock moves to half an hour after the next opening and keeps ticking.
    """
    from schedule.gate import ServiceState, service_status
    from schedule.models import Closure, Maintenance, Notice, ServiceHours
    from schedule.selectors import service_next_opening
    from schedule.services import calendar_cache_invalidate, service_hours_save

    initial = import_module("schedule.migrations.0002_initial_service_hours").INITIAL_HOURS
    for model in (Notice, Closure, Maintenance, ServiceHours):
        model.objects.all().delete()
    for weekday, opens, closes in initial:
        service_hours_save(hours=ServiceHours(weekday=weekday, opens_at=opens, closes_at=closes))
    calendar_cache_invalidate()

    now = timezone.now()
    if all(
        service_status(at=now + timedelta(minutes=m)).state == ServiceState.OPEN for m in (0, 30)
    ):
        yield now
    else:
        opening = service_next_opening(at=now + timedelta(minutes=30))
        with time_machine.travel(opening + timedelta(minutes=30), tick=True):
            yield timezone.now()
    calendar_cache_invalidate()


def _english_fragments() -> dict[str, set[str]]:
    """Per language, the English sentences of the catalogue whose translation differs."""
    placeholder = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\{.*?\}\}|\{\w*\}|<[^>]+>")
    found: dict[str, set[str]] = {}
    for language in ("it", "fr"):
        fragments = set()
        catalogue = polib.pofile(str(ROOT / "locale" / language / "LC_MESSAGES" / "django.po"))
        for entry in catalogue.translated_entries():
            if entry.msgstr == entry.msgid:
                continue
            for part in placeholder.split(entry.msgid):
                part = " ".join(part.split()).strip(" .,:;·—-()«»\"'")
                if len(part) >= 12 and len(part.split()) >= 2:
                    fragments.add(part)
        found[language] = fragments
    return found


ENGLISH = _english_fragments()

OVERFLOW = """
() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 1 && getComputedStyle(el).position !== "fixed") {
      let inside = false;
      for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
        const style = getComputedStyle(up);
        if (["auto", "scroll", "hidden"].includes(style.overflowX)) { inside = true; break; }
      }
      if (!inside) wide.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
        (el.className && typeof el.className === "string" ? "." + el.className.split(" ")[0] : ""));
    }
  }
  return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 5)};
}
"""

AXE_RUN = """
async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ")),
  }));
}
"""


class Journey:
    """One person's walk through the portal, in one language, at one window width."""

    def __init__(self, *, browser, base_url, name, language, width, axe_source):
        self.base_url = base_url
        self.language = language
        self.width = width
        self.folder = SHOTS / name / f"{language}-{width}"
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.axe_source = axe_source
        self.step = 0
        self.report: dict[str, list] = {}
        # bypass_csp: axe-core is injected as an inline script, which the portal's CSP forbids.
        self.context = browser.new_context(
            viewport=VIEWPORTS[width], locale=LOCALES[language], bypass_csp=True
        )
        self.context.add_cookies([{"name": "django_language", "value": language, "url": base_url}])
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.page.on("dialog", self._accept)

    def _accept(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.accept()

    def visit(self, path: str) -> None:
        self.page.goto(self.base_url + path)

    def url(self, path: str = "") -> str:
        return self.base_url + path

    def text(self) -> str:
        return self.page.locator("body").inner_text()

    def look(self, name: str, *, axe: bool | None = None) -> None:
        """Photograph the page and check it as a person would; fail on what they would see."""
        self.page.wait_for_load_state("load")
        self.step += 1
        self.page.screenshot(path=self.folder / f"{self.step:02d}-{name}.png", full_page=True)
        problems = []
        overflow = self.page.evaluate(OVERFLOW)
        if overflow["scroll"] > overflow["width"] + 1 or overflow["wide"]:
            problems.append(f"wider than the window: {overflow}")
        if self.language in ENGLISH:
            body = " ".join(self.text().split())
            left = sorted(f for f in ENGLISH[self.language] if f in body)
            if left:
                problems.append(f"English left in a {self.language} page: {left[:5]}")
        is_portal = "/admin/" not in self.page.url
        if axe if axe is not None else is_portal:
            self.page.add_script_tag(content=self.axe_source)
            violations = self.page.evaluate(AXE_RUN)
            self.report[name] = violations
            blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
            if blocking:
                problems.append(f"axe-core: {blocking}")
        assert not problems, f"{self.page.url} ({self.language}, {self.width} px): {problems}"

    def close(self) -> None:
        (self.folder / "axe.json").write_text(json.dumps(self.report, indent=2))
        self.context.close()


@pytest.fixture
def journey(chromium, live_server, axe_source, request):
    """Start journeys; each one is closed (and its axe report written) at the end of the test."""
    started: list[Journey] = []

    def start(name: str, *, language: str, width: str) -> Journey:
        walk = Journey(
            browser=chromium,
            base_url=live_server.url,
            name=name,
            language=language,
            width=width,
            axe_source=axe_source,
        )
        started.append(walk)
        return walk

    yield start
    for walk in started:
        walk.close()
