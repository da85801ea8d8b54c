"""The console in headless Chromium: sign in, every page rendered from the seeded data at
phone and desktop widths (screenshots in artifacts/console/), live updates without reload.

One browser session serves the whole module; tests run in file order and share it.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from protocol.api import ALARMS_PATH
from tests.console.conftest import Console
from tests.console.seed import DAY, PASSWORD, RESIDENT_ID_NUMBER, RESIDENT_PHONE

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "console"
SIZES = {"phone": (390, 844), "desktop": (1366, 900)}
WAIT_S = 20

if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    pytest.skip(
        f"needs Debian's chromium at {CHROMIUM} and {CHROMEDRIVER}", allow_module_level=True
    )

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def driver(console: Console, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """One headless Chromium for the module (closed before the cloud stops); Selenium
    Manager never downloads anything."""
    os.environ["SE_OFFLINE"] = "true"
    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
        "--window-size=1366,900",
    ):
        opts.add_argument(arg)
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield drv
    finally:
        drv.quit()


def _until(drv: WebDriver, check: Callable[[WebDriver], object], what: str) -> object:
    return WebDriverWait(drv, WAIT_S).until(check, message=f"waiting for {what}")


# Reads run as one script in the page, so a live update re-rendering the view between
# finding an element and reading it cannot make the read fail.
def _count(drv: WebDriver, selector: str) -> int:
    script = "return document.querySelectorAll(arguments[0]).length;"
    return int(drv.execute_script(script, selector))


def _text(drv: WebDriver, selector: str) -> str:
    script = (
        "return Array.from(document.querySelectorAll(arguments[0]),"
        " (e) => e.innerText ?? e.textContent).join(' ');"
    )
    return str(drv.execute_script(script, selector))


def _attrs(drv: WebDriver, selector: str, name: str) -> list[str]:
    script = (
        "return Array.from(document.querySelectorAll(arguments[0]),"
        " (e) => e.getAttribute(arguments[1]));"
    )
    return [str(v) for v in drv.execute_script(script, selector, name)]


def _shoot(drv: WebDriver, page: str, ready: Callable[[WebDriver], object]) -> None:
    """Full-page screenshots at phone and desktop widths, once ``ready`` holds at each."""
    for label, (w, h) in SIZES.items():
        drv.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": label == "phone"},
        )
        _until(drv, ready, f"{page} at {w}x{h}")
        size = drv.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        inner, scroll, client = drv.execute_script(
            "const e = document.documentElement;"
            "return [window.innerWidth, e.scrollWidth, e.clientWidth];"
        )
        assert inner == w, f"{page}: viewport is {inner}px, not {w}px"
        assert scroll <= client, f"{page} at {w}px scrolls sideways ({scroll} > {client})"
        shot = drv.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {
                    "x": 0,
                    "y": 0,
                    "width": w,
                    "height": min(size["height"], 6000),
                    "scale": 1,
                },
            },
        )
        (ARTIFACTS / f"{page}-{label}-{w}x{h}.png").write_bytes(base64.b64decode(shot["data"]))
    drv.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def _sign_in(drv: WebDriver, base: str, user: str, path: str = "/console/live") -> None:
    drv.get(base + path)
    _until(drv, lambda d: _count(d, "#login"), "the sign-in form")
    drv.find_element(By.ID, "username").send_keys(user)
    drv.find_element(By.ID, "password").send_keys(PASSWORD)
    drv.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()


def _alarm_class(drv: WebDriver, alarm_id: str) -> str:
    found = _attrs(drv, f'#alarms li[data-id="{alarm_id}"]', "class")
    return found[0] if found else ""


def test_sign_in_and_live_view(driver: WebDriver, console: Console) -> None:
    _sign_in(driver, console.base_url, "supervisor")
    _until(driver, lambda d: _alarm_class(d, "a-sos"), "the live list")
    assert driver.current_url.endswith("/console/live")
    assert "late" in _alarm_class(driver, "a-sos")  # 45 minutes: past the target
    assert "warn" in _alarm_class(driver, "a-idle")  # 20 minutes: past half of it
    assert "ok" in _alarm_class(driver, "a-fall")  # 5 minutes
    assert f"T{DAY}-0002" in _text(driver, "#tasks")
    assert "supervisor" in _text(driver, "#who")

    def ready(d: WebDriver) -> bool:
        return _count(d, "#alarms li.item") >= 5 and _count(d, "#tasks li.item") == 2

    _shoot(driver, "live", ready)


def test_task_page_shows_timeline_and_audit(driver: WebDriver, console: Console) -> None:
    driver.get(f"{console.base_url}/console/tasks/T{DAY}-0001")

    def ready(d: WebDriver) -> bool:
        return _count(d, "#audit tbody tr") == 2 and bool(_count(d, "#timeline li"))

    _until(driver, ready, "the task page")
    assert "verified" in _text(driver, "#chain")
    timeline = _text(driver, "#timeline")
    assert "Alarm raised: fall (critical)" in timeline and "Offered" in timeline
    assert "Wang home" in _text(driver, "#task-summary")
    _shoot(driver, "task", ready)


def test_map_draws_homes_workers_and_candidates(driver: WebDriver, console: Console) -> None:
    driver.get(f"{console.base_url}/console/map?alarm=a-fall")

    def ready(d: WebDriver) -> bool:
        return _count(d, "#map line.cand") == 2 and _count(d, "#candidates tbody tr") == 2

    _until(driver, ready, "the map")
    assert _count(driver, "#map circle.home") == 3
    assert _count(driver, "#map circle.home.alarm") == 3
    assert _count(driver, "#map rect.worker") == 4
    assert _count(driver, "#map rect.worker.off") == 1
    assert _count(driver, '#map circle.home.selected[data-household="h1"]')
    assert _text(driver, "#candidates").index("Li Near") < _text(driver, "#candidates").index(
        "Zhao Mid"
    )
    # Points are projected inside the drawing, not piled up in a corner.
    xs = {float(x) for x in _attrs(driver, "#map circle.home", "cx")}
    width = float(_attrs(driver, "#map", "viewBox")[0].split()[2])
    assert len(xs) == 3 and all(0 < x < width for x in xs)
    _shoot(driver, "map", ready)


def test_resident_page_charts_devices_history(driver: WebDriver, console: Console) -> None:
    driver.get(f"{console.base_url}/console/residents/{console.city.resident_id}?range=24h")

    def ready(d: WebDriver) -> bool:
        paths = _count(d, '[data-chart="heart_rate"] path.series')
        return (
            bool(paths)
            and bool(_count(d, "#devices tbody tr"))
            and bool(_count(d, '[data-chart="activity"] rect.bar'))
        )

    _until(driver, ready, "the resident page")
    points = _attrs(driver, '[data-chart="heart_rate"] path.series', "data-points")
    assert int(points[0]) >= 24  # 6 hours in 15-minute buckets
    assert _count(driver, '[data-chart="spo2"] path.series')
    devices = _text(driver, "#devices")
    assert "wrist-1" in devices and "15 %" in devices and "offline" in devices
    assert f"T{DAY}-0001" in _text(driver, "#alarm-history")
    assert RESIDENT_PHONE in _text(driver, "#resident-facts")  # supervisors see it
    _shoot(driver, "resident", ready)
    Select(driver.find_element(By.ID, "range")).select_by_value("6h")

    def finer(d: WebDriver) -> bool:
        points = _attrs(d, '[data-chart="heart_rate"] path.series', "data-points")
        return bool(points) and int(points[0]) >= 70

    _until(driver, finer, "the 6-hour range in 5-minute buckets")
    assert driver.current_url.endswith("?range=6h")


def test_reports_page(driver: WebDriver, console: Console) -> None:
    driver.get(f"{console.base_url}/console/reports")

    def ready(d: WebDriver) -> bool:
        return bool(_count(d, "#histogram rect.bar")) and bool(_count(d, "#by-model tbody tr"))

    _until(driver, ready, "the reports page")
    assert _text(driver, "#share") == "55.6 %"
    counts = [int(n) for n in _attrs(driver, "#histogram rect.bar", "data-count")]
    assert sum(counts) == 8
    assert _count(driver, "#histogram rect.bar.late")  # bars past the 30-minute target
    assert "wrist_fall" in _text(driver, "#by-detector") and "50.0 %" in _text(
        driver, "#by-detector"
    )
    assert "acme-radar-r2" in _text(driver, "#by-model")
    assert "gw-h2" in _text(driver, "#offline") and "wrist-3" in _text(driver, "#low-battery")
    assert _count(driver, "button[data-csv]") == 3
    _shoot(driver, "reports", ready)


def test_live_view_updates_without_reload(driver: WebDriver, console: Console) -> None:
    driver.get(f"{console.base_url}/console/live")
    _until(driver, lambda d: _alarm_class(d, "a-sos"), "the live list")
    _until(
        driver,
        lambda d: _count(d, "#conn.up"),
        "SSE",
    )
    driver.execute_script("window.__notReloaded = true;")
    alarm = {
        "alarm_id": "a-browser-1",
        "gateway_id": "gw-h1",
        "home_id": "h1",
        "kind": "sos",
        "severity": "critical",
        "raised_at": (console.city.now + timedelta(minutes=1)).isoformat(),
        "detector": "sos_button",
    }
    with console.client(None) as http:
        headers = {"Authorization": f"Bearer {console.city.credentials['h1']}"}
        ack = http.post(ALARMS_PATH, json={"alarms": [alarm]}, headers=headers)
        assert ack.json()["accepted"] == ["a-browser-1"], ack.text
    _until(driver, lambda d: _alarm_class(d, "a-browser-1"), "the new alarm")
    assert driver.execute_script("return window.__notReloaded === true;")


def test_dispatcher_masked_view_revoked_token_and_worker_refusal(
    driver: WebDriver, console: Console
) -> None:
    driver.find_element(By.ID, "logout").click()
    _sign_in(
        driver, console.base_url, "dispatcher", f"/console/residents/{console.city.resident_id}"
    )
    _until(driver, lambda d: _count(d, "#resident-facts"), "the resident page")
    facts = _text(driver, "#resident-facts")
    assert RESIDENT_PHONE in facts  # a dispatcher calls the resident; the ID number is masked
    assert RESIDENT_ID_NUMBER not in facts and RESIDENT_ID_NUMBER[-4:] in facts
    # A token revoked on the server sends the console back to the sign-in page.
    revoked = driver.execute_script(
        "return fetch('/api/v1/auth/logout', {method: 'POST', headers: "
        "{Authorization: 'Bearer ' + sessionStorage.getItem('carewatch.token')}})"
        ".then((r) => r.status);"
    )
    assert revoked == 204
    driver.get(f"{console.base_url}/console/reports")
    _until(driver, lambda d: _count(d, "#login"), "the sign-in form after the token was revoked")
    assert "next=%2Fconsole%2Freports" in driver.current_url
    _sign_in(driver, console.base_url, "worker")
    _until(driver, lambda d: _count(d, "#denied"), "the refusal")
    assert "worker" in _text(driver, "#denied")
    assert _count(driver, "#nav[hidden]") == 1


def test_screenshots_were_saved() -> None:
    pages = ("live", "task", "map", "resident", "reports")
    for page in pages:
        for label, (w, h) in SIZES.items():
            path = ARTIFACTS / f"{page}-{label}-{w}x{h}.png"
            assert path.stat().st_size > 5000, path
