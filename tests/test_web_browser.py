"""The console in a real browser: Playwright drives Debian's Chromium against a real `juece web` process. A person signs
in, launches a case, sees a skip refused with its rule, records each mandatory stage through the forms, acknowledges
LEG-04 with a reason, imports comments, runs the audit, replays, opens the dossier and downloads the archive.
Screenshots go to tests/output/screenshots/ (git-ignored; CI keeps them) for a reviewer to look at."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from web_support import serving

JUECE = str(Path(sys.executable).with_name("juece"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = Path(__file__).parent / "output" / "screenshots"
ADMIN_PASSWORD = "Admin-2025-管理员口令"
PASSWORD = "Sanya-2025-河西片区"

pytestmark = pytest.mark.skipif(not CHROMIUM and not os.environ.get("JUECE_REQUIRE_CHROMIUM"),
                                reason="Chromium is not installed")


def juece(home: Path, *args: str, actor: str | None = None, stdin: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}
    cmd = [JUECE, "--home", str(home), *(["--as", actor] if actor else []), *args]
    done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, (cmd, done.stdout, done.stderr)
    return done.stdout


@pytest.fixture
def server(tmp_path: Path):
    """A simulated-clock workspace with an admin, a multi-role clerk account and an auditor; `juece web` serving it."""
    home = tmp_path / "ws"
    juece(home, "init", "--simulated-clock", "2025-08-25T09:00+08:00")
    juece(home, "user", "add", "管理员", "--role", "admin", "--password-stdin", actor="admin:root", stdin=ADMIN_PASSWORD + "\n")
    juece(home, "user", "add", "张伟", "--role", "legal-office", "--role", "clerk", "--role", "reviewer", "--role",
          "secretary", "--role", "archivist", "--password-stdin", actor="admin:管理员", stdin=PASSWORD + "\n")
    juece(home, "user", "add", "赵审计", "--role", "auditor", "--password-stdin", actor="admin:管理员", stdin=PASSWORD + "\n")
    with serving(home) as (url, _):
        yield home, url


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "JUECE_REQUIRE_CHROMIUM is set but Chromium is not installed"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run"])
        yield b
        b.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def record_stage(page, case_url: str, event: str) -> None:
    """Open the case page and submit the event's form (prefilled from the schema's example values)."""
    page.goto(case_url)
    form = page.locator(f"#form-{event}")
    if form.get_attribute("open") is None:
        form.locator("summary").click()
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


def test_a_clerk_runs_a_case_through_the_console_in_a_real_browser(server, browser, tmp_path: Path) -> None:
    home, url = server
    page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN", accept_downloads=True)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto(url + "/cases")
    assert page.url.startswith(url + "/login")
    shot(page, "01-sign-in")
    page.fill("input[name=name]", "张伟")
    page.fill("input[name=password]", "wrong-Password-1")
    page.click("button[type=submit]")
    assert "名称或口令不正确" in page.content()
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/cases")

    page.fill("#launch input[name=title]", "三亚市河西片区棚户区改造项目 <script>alert(1)</script>")
    page.select_option("#launch select[name=category]", "public-construction")
    page.fill("#launch input[name=organ]", "三亚市人民政府")
    page.fill("#launch input[name=lead_unit]", "三亚市住房和城乡建设局")
    page.fill("#launch input[name=flags]", "technical, risk-relevant")
    shot(page, "02-case-list-and-launch-form")
    page.click("#launch button[type=submit]")
    page.wait_for_url(f"{url}/cases/JC-2025-0001")
    case_url = page.url
    assert "<script>alert(1)</script>" in page.inner_text("h1")  # shown as typed, never run
    shot(page, "03-case-launched")

    juece(home, "clock", "set", "2025-11-12T10:00+08:00", actor="admin:管理员")

    # A skip: legality review while public participation is not recorded is refused with its rule.
    page.goto(case_url)
    page.locator("#form-any summary").click()
    page.select_option("#form-any select[name=event]", "legality-review-submitted")
    page.fill("#form-any textarea[name=payload_json]", json.dumps({
        "submitted_on": "2025-10-21", "materials": [{"kind": "draft", "title": "实施方案（送审稿）"}],
        "legal_basis": ["《国有土地上房屋征收与补偿条例》"]}, ensure_ascii=False))
    page.locator("#form-any button[type=submit]").click()
    page.wait_for_load_state()
    refusal = page.locator(".refusal").first.inner_text()
    assert "未记录 refused" in refusal and "PP-01" in refusal, refusal
    shot(page, "04-skip-refused-with-its-rule")

    record_stage(page, case_url, "consultation-opened")
    assert "已记录 recorded #3" in page.content()  # #2 is the refused attempt, kept in the history

    comments = tmp_path / "comments.jsonl"
    comments.write_text("".join(json.dumps({"submitted_at": f"2025-09-{10 + i}T10:00:00+08:00", "channel": "website",
                                             "author": f"居民{i}", "text": f"补偿标准偏低，建议提高 {i % 3}"},
                                            ensure_ascii=False) + "\n" for i in range(12)), encoding="utf-8")
    page.goto(case_url + "/comments")
    page.set_input_files("input[name=file]", str(comments))
    page.click("form.upload button[type=submit]")
    page.wait_for_selector("text=导入结果")
    assert "读取 12 行" in page.content()
    shot(page, "05-comments-imported")

    for event in ("participation-concluded", "expert-review-concluded", "risk-assessed", "legality-review-submitted",
                  "legality-opinion-issued", "legality-opinion-answered"):
        record_stage(page, case_url, event)
        assert "已记录 recorded" in page.content(), (event, page.locator("main").inner_text()[:1500])
    shot(page, "06-stages-recorded")

    record_stage(page, case_url, "meeting-held")  # on the 7th working day after submission: LEG-04 warns
    form = page.locator("#form-meeting-held")
    assert "LEG-04" in form.locator(".refusal").inner_text(timeout=5000), page.locator("main").inner_text()[:2000]
    form.locator(".refusal").scroll_into_view_if_needed()
    shot(page, "07-leg-04-warning")
    form.locator("textarea[name=ack_reason]").fill("市司法局于10月27日出具审查意见并书面确认审查已完成；项目须赶在台风季前开工")
    shot(page, "07-leg-04-acknowledged-with-a-reason")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "已记录 recorded" in page.content()
    for event in ("party-reported", "decision-published"):
        record_stage(page, case_url, event)
        assert "已记录 recorded" in page.content(), event
    assert "LEG-04" in page.locator("main").inner_text()  # listed with its reason among acknowledged warnings
    shot(page, "08-case-published")

    page.goto(url + "/audit")
    page.click("text=开始复核")
    page.wait_for_load_state()
    assert "全部完好" in page.content() or "完好 intact" in page.content()
    shot(page, "09-audit-verify")
    page.goto(case_url + "/history?as_of=2025-08-26")
    assert "决策启动" in page.content()
    shot(page, "10-replay-as-of")
    page.goto(case_url + "/dossier")
    assert "重大行政决策案卷" in page.content()
    shot(page, "11-dossier")
    page.emulate_media(media="print")
    shot(page, "12-dossier-print")
    page.emulate_media(media="screen")

    page.goto(case_url)
    with page.expect_download() as info:
        page.click("text=下载归档包")
    saved = tmp_path / "archive.zip"
    info.value.save_as(saved)
    with zipfile.ZipFile(saved) as z:
        assert "bag/bagit.txt" in z.namelist()
    # No CSP violation and no script error (a refusal's 409 or 401 status is logged as a failed load: that is the answer).
    assert not [e for e in errors if "Failed to load resource" not in e], errors
