"""Send the measurement's requests and record one sample per request.

Warm-up requests run one after the other and are not measured. If the very first request fails,
the run stops at once with that request's error, so a wrong URL or body costs one request. The
measured requests then run with the chosen concurrency. Between results the runner reports
progress and checks whether the user cancelled. A cancellation or a refused address stops the
requests that have not started, and requests in flight end within their timeout.
"""

import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any

from gaissa.services.connectors import http
from gaissa.services.measurement.spec import ENERGY_UNITS, EnergySource, MeasurementLimits, MeasurementSpec, build_request

logger = logging.getLogger(__name__)
PROGRESS_INTERVAL_S = 0.5
_PATH_TOKEN = re.compile(r"\[(\d+)\]|([^.\[\]]+)")

ProgressCallback = Callable[[int, int, str], None]


class MeasurementFailed(Exception):
    """A measurement that produced no usable result; str(error) is a message for users."""


def as_clause(message: str) -> str:
    """Strip the closing full stop of an error message that a sentence quotes before its own full stop."""
    return message.rstrip().rstrip(".")


@dataclass
class Sample:
    """One request: when it started, how long it took, what came back."""

    index: int
    input_index: int
    started_s: float  # seconds after the first measured request started (0 for warm-ups)
    ended_s: float
    latency_ms: float | None  # time to the last byte of the response; None when no response arrived
    status: int | None
    bytes: int
    energy_j: float | None  # energy reported by the endpoint, in joules
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_s"] = round(self.started_s, 6)
        data["ended_s"] = round(self.ended_s, 6)
        data["latency_ms"] = round(self.latency_ms, 3) if self.latency_ms is not None else None
        return data


@dataclass
class RunOutcome:
    """The samples of a finished run, before statistics."""

    samples: list[Sample]
    warmup_samples: list[Sample]
    wall_time_s: float  # from the first measured request's start to the last one's end
    rate_wait_s: float  # time requests waited for the per-address rate limit
    address: str | None  # the IP address the requests went to
    final_url: str | None
    redirects: list[str] = field(default_factory=list)


def run_measurement(spec: MeasurementSpec, headers: Mapping[str, str], client: http.SafeHttpClient, *,
                    limits: MeasurementLimits, on_progress: ProgressCallback | None = None,
                    check_cancelled: Callable[[], None] | None = None,
                    clock: Callable[[], float] = time.perf_counter) -> RunOutcome:
    """Send every request of `spec` through `client` and return the samples; raise MeasurementFailed.

    `check_cancelled` is called between results and may raise to stop the run; the exception is
    re-raised once the requests in flight have ended.
    """
    run = _Run(spec, headers, client, limits, clock)
    total = spec.total_requests
    report = on_progress or (lambda done, count, message: None)
    cancel_check = check_cancelled or (lambda: None)
    started = clock()

    report(0, total, "Sending the first request…")
    first = run.send(0, measured=spec.warmup == 0)
    run.raise_if_fatal()
    if not first.ok:
        raise MeasurementFailed(f"The first request failed: {as_clause(str(first.error))}. "
                                "Check the URL, method, body template and headers, then measure again.")
    for index in range(1, spec.warmup):
        cancel_check()
        run.check_duration(started)
        run.send(index, measured=False)
        report(index + 1, total, f"Warm-up request {index + 1} of {spec.warmup}")
        run.raise_if_fatal()

    cancel_check()
    report(spec.warmup if spec.warmup else 1, total, "Measuring…")
    first_measured = 1 if spec.warmup == 0 else spec.warmup
    run.run_concurrently(range(first_measured, total), report, cancel_check, started)
    run.raise_if_fatal()
    report(total, total, "Computing the results…")
    return run.outcome()


class _Run:
    """State shared by the threads of one run."""

    def __init__(self, spec: MeasurementSpec, headers: Mapping[str, str], client: http.SafeHttpClient,
                 limits: MeasurementLimits, clock: Callable[[], float]):
        self.spec = spec
        self.client = client
        self.limits = limits
        self.clock = clock
        self.requests = [build_request(spec, headers, index) for index in range(len(spec.inputs))]
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.fatal: http.OutboundError | None = None
        self.samples: list[Sample] = []
        self.warmups: list[Sample] = []
        self.phase_start: float | None = None
        self.phase_end: float | None = None
        self.rate_wait_s = 0.0
        self.last_response: http.HttpResponse | None = None

    def send(self, index: int, measured: bool) -> Sample:
        """Send request number `index` and record its sample."""
        input_index = index % len(self.spec.inputs)
        url, body, headers = self.requests[input_index]
        started = self.clock()
        with self.lock:
            if measured and self.phase_start is None:
                self.phase_start = started
        try:
            response = self.client.request(self.spec.method, url, body=body, headers=headers, timeout_s=self.spec.timeout_s)
        except (http.AddressRefused, http.InvalidURL, http.RateLimited, http.ResolutionFailed) as exc:
            # These errors do not depend on the endpoint, so the next request would fail the same way.
            with self.lock:
                self.fatal = self.fatal or exc
            self.stop.set()
            moment = self._relative(self.clock())
            return self._record(Sample(index, input_index, moment, moment, None, None, 0, None, str(exc)), measured)
        except http.OutboundError as exc:
            ended = self.clock()
            sample = Sample(index, input_index, self._relative(started), self._relative(ended), None, None, 0, None,
                            str(exc))
            return self._record(sample, measured, ended)
        ended = self.clock()

        started += response.rate_wait_s  # the request left when its rate-limit slot came
        error, energy = inspect_response(response, self.spec.energy)
        sample = Sample(index, input_index, self._relative(started), self._relative(ended), (ended - started) * 1000.0,
                        response.status, len(response.body), energy, error)
        with self.lock:
            self.rate_wait_s += response.rate_wait_s
            self.last_response = response
        return self._record(sample, measured, ended)

    def run_concurrently(self, indices: range, report: ProgressCallback, cancel_check: Callable[[], None],
                         run_started: float) -> None:
        total = self.spec.total_requests
        executor = ThreadPoolExecutor(max_workers=self.spec.concurrency, thread_name_prefix="measure")
        pending: set[Future] = set()
        try:
            pending = {executor.submit(self._send_unless_stopped, index) for index in indices}
            last_report = self.clock()
            while pending:
                done, pending = wait(pending, timeout=PROGRESS_INTERVAL_S, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()  # re-raise an unexpected error of a request thread
                if self.fatal is not None:
                    break
                self.check_duration(run_started)
                now = self.clock()
                if now - last_report >= PROGRESS_INTERVAL_S:
                    report(total - len(pending), total, f"Measured {len(self.samples)} of {self.spec.requests} requests")
                    cancel_check()
                    last_report = now
        except BaseException:
            self.stop.set()
            raise
        finally:
            if self.fatal is not None:
                self.stop.set()
            executor.shutdown(wait=True, cancel_futures=True)

    def check_duration(self, run_started: float) -> None:
        if self.clock() - run_started > self.limits.max_duration_s:
            self.stop.set()
            raise MeasurementFailed(
                f"The measurement took longer than {self.limits.max_duration_s:g} s and was stopped. "
                "Send fewer requests, raise the concurrency, or lower the timeout.")

    def raise_if_fatal(self) -> None:
        if self.fatal is not None:
            raise MeasurementFailed(str(self.fatal))

    def outcome(self) -> RunOutcome:
        samples = sorted(self.samples, key=lambda sample: sample.index)
        wall = (self.phase_end or 0.0) - (self.phase_start or 0.0)
        response = self.last_response
        return RunOutcome(samples, sorted(self.warmups, key=lambda sample: sample.index), max(wall, 0.0),
                          self.rate_wait_s, response.address if response else None,
                          response.url if response else None, response.redirects if response else [])

    def _send_unless_stopped(self, index: int) -> Sample | None:
        if self.stop.is_set():
            return None
        return self.send(index, measured=True)

    def _relative(self, moment: float) -> float:
        return moment - self.phase_start if self.phase_start is not None else 0.0

    def _record(self, sample: Sample, measured: bool, ended: float | None = None) -> Sample:
        with self.lock:
            if measured:
                self.samples.append(sample)
                if ended is not None:
                    self.phase_end = max(self.phase_end or ended, ended)
            else:
                self.warmups.append(sample)
        return sample


def inspect_response(response: http.HttpResponse, energy: EnergySource) -> tuple[str | None, float | None]:
    """Return (error, reported energy in J) of one response; error is None for a usable response."""
    if not 200 <= response.status < 300:
        return f"HTTP {response.status} {response.reason}".strip(), None

    document: Any = None
    wants_json = energy.method == "reported" and energy.location == "json"
    if wants_json or _is_json(response.content_type):
        try:
            document = json.loads(response.body)
        except UnicodeDecodeError:
            return "the response is not UTF-8 text, so it is not valid JSON", None
        except json.JSONDecodeError as exc:
            return f"the response is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})", None

    if energy.method != "reported":
        return None, None
    if energy.location == "header":
        raw = response.headers.get((energy.path or "").strip().lower())
    else:
        found, raw = extract_json_path(document, energy.path or "")
        if not found:
            raw = None
    if raw is None:
        return f"the response has no {energy.describe_location()}", None
    number = _as_number(raw)
    if number is None or not math.isfinite(number) or number <= 0:
        return f"the reported energy {raw!r} is not a positive number of {energy.unit}", None
    return None, number * ENERGY_UNITS[energy.unit]


def extract_json_path(document: Any, path: str) -> tuple[bool, Any]:
    """Follow a dotted path such as "usage.energy_j", "choices[0].energy" or "$.data.0.joules"."""
    text = path.strip()
    if text.startswith("$"):
        text = text[1:].lstrip(".")
    current = document
    for index_token, key_token in _PATH_TOKEN.findall(text):
        if isinstance(current, list):
            token = index_token or key_token
            if not token.isdigit() or int(token) >= len(current):
                return False, None
            current = current[int(token)]
        elif isinstance(current, dict) and not index_token and key_token in current:
            current = current[key_token]
        else:
            return False, None
    return True, current


def _as_number(raw: Any) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        return float(raw)
    if isinstance(raw, str):
        try:
            return float(raw.strip())
        except ValueError:
            return None
    return None


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")
