"""A published decision verifies against its record; a defaced copy (the Sanya plan was found with casino spam in
place of 关于) is caught, from a file, from a real local HTTP server, and through httpx.MockTransport."""

from __future__ import annotations

import hashlib
import http.server
import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from flows.usecases.documents import attach
from flows.usecases.publication import fetch, verify_copy
from policies.errors import BadInput, RuleRefusal
from support import LEGAL, MANDATORY_PATH

TEXT = "三亚市人民政府关于河西片区棚户区改造的决定\n一、改造范围\n二、补偿标准\n".encode()
DEFACED = TEXT.replace("关于".encode(), "金牌娱乐,金牌娱乐平台".encode())


@pytest.fixture
def published(case, tmp_path):
    case.walk(MANDATORY_PATH)
    case.record("party-reported")
    text = tmp_path / "决定.txt"
    text.write_bytes(TEXT)
    attach(case.ws, LEGAL, case.case_id, text, title="决定全文")
    case.record("decision-published", text_sha256=hashlib.sha256(TEXT).hexdigest())
    return case


def test_the_published_text_matches_its_record(published):
    assert verify_copy(published.ws, published.case_id, TEXT, "copy").matches


def test_a_defaced_copy_differs_and_shows_the_first_difference(published):
    v = verify_copy(published.ws, published.case_id, DEFACED, "copy")
    assert not v.matches
    assert "金牌娱乐" in v.difference


def test_a_case_without_a_published_decision_has_nothing_to_verify(case):
    with pytest.raises(RuleRefusal) as exc:
        verify_copy(case.ws, case.case_id, TEXT, "copy")
    assert exc.value.code == "PUB-01"


class _Site(http.server.BaseHTTPRequestHandler):
    pages = {"/decision.txt": TEXT, "/defaced.txt": DEFACED}

    def do_GET(self) -> None:  # noqa: N802
        body = self.pages.get(self.path)
        self.send_response(200 if body else 404)
        self.end_headers()
        self.wfile.write(body or b"not found")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def site():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_command_checks_web_copies_on_a_real_local_server(published, site):
    juece = Path(__import__("sys").executable).with_name("juece")
    base = [str(juece), "--home", str(published.ws.home), "publication", "verify", published.case_id]
    assert subprocess.run(base + ["--url", f"{site}/decision.txt"], capture_output=True).returncode == 0
    bad = subprocess.run(base + ["--url", f"{site}/defaced.txt"], capture_output=True, text=True)
    assert bad.returncode == 4 and "金牌娱乐" in bad.stdout
    missing = subprocess.run(base + ["--url", f"{site}/gone.txt"], capture_output=True, text=True)
    assert missing.returncode == 2 and "404" in missing.stderr and "Traceback" not in missing.stderr


def test_fetch_reads_through_any_httpx_transport():
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=DEFACED))
    assert fetch("https://www.sanya.gov.cn/x.txt", transport=transport) == DEFACED
    failing = httpx.MockTransport(lambda request: httpx.Response(503))
    with pytest.raises(BadInput):
        fetch("https://www.sanya.gov.cn/x.txt", transport=failing)


def test_posting_to_a_portal_distinguishes_transient_failures_from_refusals():
    from flows.usecases.publication import PortalRefused, TransientPortalError, post_to_portal

    ok = httpx.MockTransport(lambda r: httpx.Response(201, json={"url": "https://www.sanya.gov.cn/zfwj/1.txt"}))
    assert post_to_portal("https://portal.test/post", "JC-2025-0001", "决定", TEXT, "ab" * 32, transport=ok).endswith("1.txt")
    with pytest.raises(TransientPortalError):
        post_to_portal("https://portal.test/post", "JC", "t", TEXT, "ab" * 32, transport=httpx.MockTransport(lambda r: httpx.Response(503)))
    with pytest.raises(PortalRefused):
        post_to_portal("https://portal.test/post", "JC", "t", TEXT, "ab" * 32, transport=httpx.MockTransport(lambda r: httpx.Response(403)))
    with pytest.raises(PortalRefused):  # a 200 without the address it published at
        post_to_portal("https://portal.test/post", "JC", "t", TEXT, "ab" * 32, transport=httpx.MockTransport(lambda r: httpx.Response(200, text="ok")))
