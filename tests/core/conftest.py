from __future__ import annotations

import http.server
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files[path] = bytes``; ``server.truncate[path] = n`` sends only n bytes then hangs up;
    ``server.slow = seconds`` sends bodies in 20 pieces with that pause between them."""

    def do_GET(self):  # noqa: N802 - http.server's naming
        path = self.path.split("?", 1)[0]
        self.server.hits.append(path)
        body = self.server.files.get(path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        cut = self.server.truncate.get(path)
        data = body if cut is None else body[:cut]
        step = max(1, len(data) // 20) if self.server.slow else len(data) or 1
        for start in range(0, len(data), step):
            self.wfile.write(data[start:start + step])
            self.wfile.flush()
            if self.server.slow:
                time.sleep(self.server.slow)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    """An HTTP server on 127.0.0.1 serving in-memory files; yields (server, base_url)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.files, server.truncate, server.hits, server.slow = {}, {}, [], 0.0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
