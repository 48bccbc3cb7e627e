"""A breached-passwords range API on loopback (Have I Been Pwned's format), for
the tests of webapp/breached_passwords.py: it lists the passwords it is given
as breached, pads every answer with zero-count lines, and records what it was
asked. It can also answer 503 or hold its answer until released (a timeout)."""

from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from webapp.breached_passwords import range_query

from .servers import free_port, serve_in_thread, shut_down


class RangeAPI:
    """`breached`: {password: times seen}. `padding`: passwords whose suffix is
    sent with a count of 0, as a padding line that happens to match."""

    def __init__(self, breached: dict[str, int], padding: tuple[str, ...] = ()):
        self.entries: dict[str, dict[str, int]] = {}
        for password, count in [*breached.items(), *((p, 0) for p in padding)]:
            prefix, suffix = range_query(password)
            self.entries.setdefault(prefix, {})[suffix] = count
        self.mode = "ok"  # or "503", "hold"
        self.release = threading.Event()
        self.requests: list[dict] = []
        self.port = free_port()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/range/"

    def answer(self, prefix: str) -> str:
        lines = [f"{suffix}:{count}" for suffix, count in self.entries.get(prefix, {}).items()]
        # Padding as the real API sends it: made-up suffixes with a count of 0.
        lines += [f"{index:035X}:0" for index in range(1, 40)]
        return "\r\n".join(lines)

    def start(self) -> RangeAPI:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                api.requests.append({"path": self.path, "headers": dict(self.headers.items())})
                if api.mode == "hold":
                    # Bounded: the test releases it once the app has given up.
                    api.release.wait(10)
                if api.mode == "503":
                    body = b"Service Unavailable"
                    self.send_response(503)
                else:
                    body = api.answer(self.path.rsplit("/", 1)[-1]).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(OSError):  # the app stopped waiting (a timeout)
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = serve_in_thread(self.port, Handler)
        return self

    def stop(self) -> None:
        self.release.set()
        shut_down(self.server)
        self.server = None
