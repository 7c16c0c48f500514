"""`juece publication verify --url` streams the download and stops one byte past its cap (64 MiB): an endless body,
or one larger than the cap, is bad input (exit 2) in a sentence, never an unbounded read. A real HTTP server (the
standard library's, in a thread) serves the bodies; the real `juece` executable fetches them."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator

import pytest

from support import new_workspace

JUECE = str(Path(sys.executable).with_name("juece"))
CAP = 64 * 1024 * 1024
CHUNK = b"\xe5\x85\xb3\xe4\xba\x8e" * 10922  # 关于…, 65,532 bytes


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    sent: dict[str, int]


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        sent: dict[str, int] = getattr(self.server, "sent")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        if self.path == "/small":
            self.send_header("Content-Length", str(len(CHUNK)))
            self.end_headers()
            self.wfile.write(CHUNK)
            return
        if self.path == "/declared":  # a Content-Length over the cap, the bytes to match
            total = CAP + 10 * len(CHUNK)
            self.send_header("Content-Length", str(total))
        self.end_headers()
        n = 0
        try:
            while self.path == "/endless" or n < CAP + 10 * len(CHUNK):
                self.wfile.write(CHUNK)
                n += len(CHUNK)
                sent[self.path] = n
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading and closed the connection


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.sent = {}
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def verify(home: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_") and "proxy" not in k.lower()}
    r = subprocess.run([JUECE, "--home", str(home), "publication", "verify", "JC-2025-0001", "--url", url, "--json"],
                       capture_output=True, text=True, timeout=240, env=env)
    assert "Traceback" not in r.stdout + r.stderr, r.stdout + r.stderr
    return r


@pytest.mark.parametrize("path", ["/endless", "/declared"])
def test_a_body_over_the_cap_stops_the_download_and_is_bad_input(tmp_path: Path, server: _Server, path: str) -> None:
    home = new_workspace(tmp_path / "ws").home
    url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    r = verify(home, url)
    assert r.returncode == 2, r.stdout + r.stderr
    err = json.loads(r.stdout)["error"]
    assert err["field"] == "--url" and "more than 67,108,864 bytes" in err["message"] and url in err["message"], err
    # the client hung up soon after the cap: what the server got out is the cap plus what the sockets' buffers hold
    assert CAP < server.sent[path] < CAP + 32 * 1024 * 1024, server.sent


def test_a_body_under_the_cap_is_read_and_compared(tmp_path: Path, server: _Server) -> None:
    """The control: a small body passes the download and reaches the case (none here: exit 2 naming the case)."""
    home = new_workspace(tmp_path / "ws").home
    r = verify(home, f"http://127.0.0.1:{server.server_address[1]}/small")
    assert r.returncode == 2, r.stdout + r.stderr
    err = json.loads(r.stdout)["error"]
    assert "JC-2025-0001" in err["message"] and "bytes" not in err["message"], err
