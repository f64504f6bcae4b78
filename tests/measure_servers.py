"""HTTP servers on 127.0.0.1 (ephemeral ports) that the endpoint-measurement tests call.

Each server runs in a daemon thread and records what it received. The digits server serves a real
scikit-learn classifier trained on the 8×8 digits bundled with scikit-learn, so nothing is
downloaded. The others misbehave on purpose: slow, failing, huge, redirecting or returning invalid JSON.
"""

import json
import threading
import time
from contextlib import contextmanager
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@lru_cache(maxsize=1)
def digits_model():
    """Train a support-vector classifier on sklearn's bundled digits; return (model, test images, test labels)."""
    from sklearn.datasets import load_digits
    from sklearn.svm import SVC

    digits = load_digits()
    model = SVC(gamma=0.001)
    model.fit(digits.data[:1500], digits.target[:1500])
    return model, digits.data[1500:], digits.target[1500:]


class LoopbackServer:
    """A ThreadingHTTPServer on 127.0.0.1 with a handler class; use as a context manager."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], **settings: Any):
        tls = settings.pop("tls", None)  # an ssl.SSLContext makes it an HTTPS server
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.httpd.daemon_threads = True
        self.httpd.settings = settings  # type: ignore[attr-defined]
        self.httpd.received = []  # type: ignore[attr-defined]
        self.httpd.received_lock = threading.Lock()  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def received(self) -> list[dict[str, Any]]:
        return self.httpd.received  # type: ignore[attr-defined]

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def __enter__(self) -> "LoopbackServer":
        self.thread.start()
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler], **settings: Any):
    with LoopbackServer(handler, **settings) as server:
        yield server


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY each response waits for a delayed ACK.
    disable_nagle_algorithm = True

    def log_message(self, *_args: Any) -> None:  # keep test output quiet
        pass

    @property
    def settings(self) -> dict[str, Any]:
        return self.server.settings  # type: ignore[attr-defined]

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.record = {"method": self.command, "path": self.path, "headers": dict(self.headers.items()), "body": body}
        with self.server.received_lock:  # type: ignore[attr-defined]
            self.server.received.append(self.record)  # type: ignore[attr-defined]
        return body

    def send_json(self, document: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.send_bytes(json.dumps(document).encode(), status, "application/json", headers)

    def send_bytes(self, data: bytes, status: int = 200, content_type: str = "application/json",
                   headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.read_body()
        self.respond()

    def do_POST(self) -> None:
        self.respond(self.read_body())

    do_PUT = do_POST

    def respond(self, body: bytes = b"") -> None:
        raise NotImplementedError


def _pixels(document: Any) -> list[float]:
    """Read 64 pixel values from the shapes the digits server accepts."""
    if isinstance(document, dict) and "input_text" in document:
        return [float(part) for part in document["input_text"].split(",")]
    if isinstance(document, dict) and isinstance(document.get("inputs"), list):
        first = document["inputs"][0]
        return [float(value) for value in (first["data"] if isinstance(first, dict) else document["inputs"])]
    raise ValueError("no pixels")


class DigitsHandler(_Handler):
    """Predict the digit of an 8×8 image sent as plain JSON text, a JSON array, or a KServe v2 request."""

    def respond(self, body: bytes = b"") -> None:
        model, _images, _labels = digits_model()
        try:
            pixels = _pixels(json.loads(body))
        except (ValueError, KeyError, IndexError, TypeError):
            self.send_json({"error": "send 64 pixel values"}, status=400)
            return
        label = int(model.predict([pixels])[0])
        self.record["prediction"] = label
        if self.path.startswith("/v2/"):
            self.send_json({"model_name": "digits", "outputs": [
                {"name": "label", "shape": [1], "datatype": "INT64", "data": [label]}]})
        else:
            self.send_json({"predictions": [label]})


class EnergyReportingHandler(_Handler):
    """Respond with a fixed energy per request, in the JSON body (joules) and in a header (watt-hours)."""

    def respond(self, body: bytes = b"") -> None:
        joules = self.settings.get("joules", 0.25)
        document = {"output": "ok", "usage": {"energy": {"joules": joules}}}
        headers = {"X-Energy-Wh": f"{joules / 3600:.12g}"}
        if self.settings.get("missing_every") and len(self.server.received) % self.settings["missing_every"] == 0:  # type: ignore[attr-defined]
            document = {"output": "ok"}
            headers = {}
        self.send_json(document, headers=headers)


class SlowHandler(_Handler):
    """Wait `delay_s` before responding."""

    def respond(self, body: bytes = b"") -> None:
        time.sleep(self.settings.get("delay_s", 2.0))
        try:
            self.send_json({"output": "late"})
        except OSError:
            pass  # the client gave up


class ErrorHandler(_Handler):
    """Respond with 500 to every request, or to every `every`-th one when `every` is given."""

    def respond(self, body: bytes = b"") -> None:
        every = self.settings.get("every")
        count = len(self.server.received)  # type: ignore[attr-defined]
        if every is None or count % every == 0:
            self.send_json({"error": "model crashed"}, status=500)
        else:
            self.send_json({"output": "ok"})


class HugeHandler(_Handler):
    """Send `size` bytes, with a Content-Length header or chunked without one."""

    def respond(self, body: bytes = b"") -> None:
        size = self.settings.get("size", 50 * 1024 * 1024)
        block = b"x" * (1024 * 1024)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if self.settings.get("chunked"):
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(size))
        self.end_headers()
        sent = 0
        try:
            while sent < size:
                part = block[: min(len(block), size - sent)]
                if self.settings.get("chunked"):
                    self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                else:
                    self.wfile.write(part)
                sent += len(part)
            if self.settings.get("chunked"):
                self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True  # the client stopped reading at its size cap


class RedirectHandler(_Handler):
    """Redirect every request to `location` with `status`."""

    def respond(self, body: bytes = b"") -> None:
        self.send_bytes(b"", self.settings.get("status", 302), "text/plain", {"Location": self.settings["location"]})


class InvalidJsonHandler(_Handler):
    """Declare JSON but send something that is not."""

    def respond(self, body: bytes = b"") -> None:
        self.send_bytes(b'{"predictions": [1, 2', 200, "application/json")


class EchoHandler(_Handler):
    """Respond with {"ok": true}, so that tests can read what it received."""

    def respond(self, body: bytes = b"") -> None:
        self.send_json({"ok": True})
