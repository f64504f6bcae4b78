"""Measurements against real servers on 127.0.0.1: a scikit-learn digits classifier, an endpoint that
reports its energy, and endpoints that misbehave."""

import json
from dataclasses import dataclass

import pytest

from gaissa.services.connectors.http import AddressRateLimiter, Allowlist, OutboundPolicy, SafeHttpClient
from gaissa.services.measurement.results import build_result, round_significant
from gaissa.services.measurement.runner import MeasurementFailed, RunOutcome, Sample, run_measurement
from gaissa.services.measurement.spec import EnergySource, MeasurementLimits, MeasurementSpec, validate
from tests.measure_servers import (
    DigitsHandler,
    EnergyReportingHandler,
    ErrorHandler,
    HugeHandler,
    InvalidJsonHandler,
    RedirectHandler,
    SlowHandler,
    digits_model,
    serving,
)

LIMITS = MeasurementLimits()
T4 = EnergySource(method="estimated", hardware_key="nvidia-t4")
KSERVE_DIGITS = '{"inputs": [{"name": "pixels", "shape": [1, 64], "datatype": "FP32", "data": {{input}}}]}'


@dataclass
class Intensity:
    g_per_kwh: float
    year: int
    code: str
    name: str
    is_world_fallback: bool = False
    is_stale: bool = False


def measure(spec, headers=None, max_response_bytes=10 * 1024 * 1024, carbon_lookup=None, **options):
    spec = validate(spec, LIMITS)
    policy = OutboundPolicy(allowlist=Allowlist.parse(["127.0.0.1"]), purpose="measurements",
                            max_response_bytes=max_response_bytes)
    with SafeHttpClient(policy, rate_limiter=AddressRateLimiter(), max_connections=spec.concurrency) as client:
        outcome = run_measurement(spec, headers or {}, client, limits=LIMITS, **options)
    return build_result(spec, outcome, LIMITS, carbon_lookup)


def pixel_inputs(count, as_json=False):
    _model, images, labels = digits_model()
    if as_json:
        texts = [json.dumps([float(value) for value in image]) for image in images[:count]]
    else:
        texts = [",".join(f"{value:g}" for value in image) for image in images[:count]]
    return tuple(texts), [int(label) for label in labels[:count]]


def test_digits_plain_json_text():
    inputs, labels = pixel_inputs(5)
    with serving(DigitsHandler) as server:
        result = measure(MeasurementSpec(url=server.url("/predict"), inputs=inputs, warmup=2, requests=20,
                                         concurrency=2, energy=T4))

    assert result.succeeded == 20
    assert result.failed == 0
    assert len(server.received) == 22
    assert len(result.outcome.warmup_samples) == 2
    assert result.latency.min_ms <= result.latency.p50_ms <= result.latency.p95_ms <= result.latency.p99_ms
    assert result.latency.p99_ms <= result.latency.max_ms
    assert result.throughput_rps > 0
    assert result.sizes.mean_bytes == len(b'{"predictions": [0]}')
    # The model classifies each image: the served predictions match the true labels on most of them.
    predictions = {request["body"]: request["prediction"] for request in server.received}
    correct = sum(predictions[json.dumps({"input_text": text}).encode()] == label for text, label in zip(inputs, labels))
    assert correct >= 4


def test_digits_kserve_v2():
    inputs, _labels = pixel_inputs(3, as_json=True)
    with serving(DigitsHandler) as server:
        result = measure(MeasurementSpec(url=server.url("/v2/models/digits/infer"), inputs=inputs,
                                         body_template=KSERVE_DIGITS, warmup=1, requests=6, energy=T4))

    assert result.succeeded == 6
    sent = json.loads(server.received[0]["body"])
    assert sent["inputs"][0]["data"] == json.loads(inputs[0])


def test_estimated_energy_is_power_times_busy_time():
    inputs, _labels = pixel_inputs(2)
    energy = EnergySource(method="estimated", hardware_key="nvidia-l4", devices=2)
    with serving(DigitsHandler) as server:
        result = measure(MeasurementSpec(url=server.url(), inputs=inputs, warmup=1, requests=10, energy=energy))

    busy = result.busy_time_s
    assert result.energy_j == pytest.approx(144 * busy / 10)
    # One request at a time: the time in flight is the sum of the latencies.
    assert busy == pytest.approx(sum(sample.latency_ms for sample in result.outcome.samples) / 1000, rel=1e-6)
    assert result.energy_provenance["method"] == "estimated"
    assert result.energy_provenance["power_w"] == 144
    assert result.energy_provenance["hardware"] == "2 × NVIDIA L4 (72 W TDP each)"


def test_reported_energy_from_json_path():
    with serving(EnergyReportingHandler, joules=0.25) as server:
        result = measure(MeasurementSpec(
            url=server.url(), inputs=("a", "b"), warmup=0, requests=8,
            energy=EnergySource(method="reported", location="json", path="usage.energy.joules", unit="J")))

    assert result.energy_j == pytest.approx(0.25)
    assert [sample.energy_j for sample in result.outcome.samples] == [pytest.approx(0.25)] * 8
    assert result.energy_provenance == {
        "kind": "endpoint", "method": "reported", "location": "json", "path": "usage.energy.joules", "unit": "J",
        "statistic": "mean", "samples": 8, "min_j": pytest.approx(0.25), "max_j": pytest.approx(0.25)}


def test_reported_energy_from_header_in_watt_hours():
    with serving(EnergyReportingHandler, joules=1.8) as server:
        result = measure(MeasurementSpec(
            url=server.url(), inputs=("a",), warmup=1, requests=5,
            energy=EnergySource(method="reported", location="header", path="X-Energy-Wh", unit="Wh")))

    assert result.energy_j == pytest.approx(1.8)


def test_missing_reported_energy_fails_run():
    with serving(EnergyReportingHandler, missing_every=2) as server:
        with pytest.raises(MeasurementFailed) as raised:
            measure(MeasurementSpec(
                url=server.url(), inputs=("a",), warmup=1, requests=10,
                energy=EnergySource(method="reported", location="json", path="usage.energy.joules")))

    assert "the response has no JSON value at usage.energy.joules" in str(raised.value)


def test_carbon_per_inference():
    def lookup(code):
        return Intensity(g_per_kwh=120.0, year=2024, code=code, name="Spain")

    with serving(EnergyReportingHandler, joules=36.0) as server:
        result = measure(MeasurementSpec(
            url=server.url(), inputs=("a",), warmup=0, requests=3, country="ESP",
            energy=EnergySource(method="reported", location="json", path="usage.energy.joules")),
            carbon_lookup=lookup)

    # 36 J = 1e-5 kWh; × 120 g/kWh = 1.2e-3 g.
    assert result.carbon["g_per_inference"] == pytest.approx(1.2e-3)
    assert result.carbon["year"] == 2024
    assert result.carbon["country_name"] == "Spain"


def test_carbon_without_country():
    with serving(EnergyReportingHandler) as server:
        result = measure(MeasurementSpec(url=server.url(), inputs=("a",), warmup=0, requests=2, energy=T4))

    assert result.carbon == {"unavailable": "Choose the deployment country to get CO2 per inference."}


def test_slow_endpoint_times_out():
    with serving(SlowHandler, delay_s=1.5) as server:
        with pytest.raises(MeasurementFailed) as raised:
            measure(MeasurementSpec(url=server.url(), inputs=("a",), warmup=2, requests=5, timeout_s=0.2, energy=T4))

    assert str(raised.value).startswith("The first request failed: 127.0.0.1:")
    assert "did not respond within 0.2 s. Check the URL, method, body template and headers" in str(raised.value)
    assert ".." not in str(raised.value)
    assert len(server.received) == 1


def test_failure_summary_ends_each_sentence_once():
    timed_out = "127.0.0.1:9 did not respond within 1 s."
    samples = [Sample(index, 0, 0.0, 1.0, None, None, 0, None, timed_out) for index in range(3)]
    outcome = RunOutcome(samples, [], 1.0, 0.0, "127.0.0.1", None)
    spec = MeasurementSpec(url="http://127.0.0.1:9/", inputs=("a",), energy=T4)

    with pytest.raises(MeasurementFailed) as raised:
        build_result(spec, outcome, LIMITS)

    assert str(raised.value) == ("All 3 measured requests failed. Most common error (3 of 3): 127.0.0.1:9 did not "
                                 "respond within 1 s.")


def test_draft_values_keep_six_significant_digits():
    assert round_significant(0.614100538345) == 0.614101
    assert round_significant(8.77286483349) == 8.77286
    assert round_significant(1.23456789e-9) == 1.23457e-9
    assert round_significant(123456789.0) == 123457000.0


def test_failing_endpoint_stops_after_first_request():
    with serving(ErrorHandler) as server:
        with pytest.raises(MeasurementFailed) as raised:
            measure(MeasurementSpec(url=server.url(), inputs=("a",), warmup=3, requests=50, energy=T4))

    assert str(raised.value) == ("The first request failed: HTTP 500 Internal Server Error. "
                                 "Check the URL, method, body template and headers, then measure again.")
    assert len(server.received) == 1


def test_flaky_endpoint_over_error_limit():
    with serving(ErrorHandler, every=3) as server:
        with pytest.raises(MeasurementFailed) as raised:
            measure(MeasurementSpec(url=server.url(), inputs=("a",), warmup=1, requests=30, energy=T4))

    message = str(raised.value)
    assert message.startswith("10 of 30 measured requests failed (33%).")
    assert "HTTP 500 Internal Server Error" in message


def test_flaky_endpoint_within_error_limit():
    with serving(ErrorHandler, every=20) as server:
        result = measure(MeasurementSpec(url=server.url(), inputs=("a",), warmup=1, requests=39, energy=T4))

    assert result.failed == 2
    assert result.succeeded == 37
    assert result.errors == [("HTTP 500 Internal Server Error", 2)]
    assert result.latency.mean_ms > 0


def test_huge_response_is_refused():
    with serving(HugeHandler, size=50 * 1024 * 1024) as server:
        with pytest.raises(MeasurementFailed) as raised:
            measure(MeasurementSpec(url=server.url(), inputs=("a",), warmup=1, requests=3, energy=T4))

    assert "is 52,428,800 bytes; the limit is 10,485,760 bytes" in str(raised.value)


def test_redirect_to_private_address_is_refused():
    with serving(RedirectHandler, location="http://192.168.1.1/admin") as server:
        with pytest.raises(MeasurementFailed) as raised:
            measure(MeasurementSpec(url=server.url(), inputs=("a",), warmup=0, requests=3, energy=T4))

    assert str(raised.value) == ("The endpoint redirected to http://192.168.1.1/admin: 192.168.1.1 is a private "
                                 "address; measurements may only reach public hosts.")


def test_invalid_json_is_an_error():
    with serving(InvalidJsonHandler) as server:
        with pytest.raises(MeasurementFailed) as raised:
            measure(MeasurementSpec(url=server.url(), inputs=("a",), warmup=1, requests=3, energy=T4))

    assert "the response is not valid JSON (Expecting ',' delimiter at line 1, column 22)" in str(raised.value)


class Cancelled(Exception):
    pass


def test_cancellation_stops_requests():
    checks = []

    def cancel_on_second_check():
        checks.append(1)
        if len(checks) >= 2:
            raise Cancelled()

    with serving(SlowHandler, delay_s=0.15) as server:
        with pytest.raises(Cancelled):
            measure(MeasurementSpec(url=server.url(), inputs=("a",), warmup=1, requests=200, concurrency=2, energy=T4),
                    check_cancelled=cancel_on_second_check)

    assert len(server.received) < 30


def test_progress_is_reported():
    reports = []
    with serving(DigitsHandler) as server:
        measure(MeasurementSpec(url=server.url(), inputs=pixel_inputs(1)[0], warmup=2, requests=5, energy=T4),
                on_progress=lambda done, total, message: reports.append((done, total)))

    assert reports[0] == (0, 7)
    assert reports[-1] == (7, 7)
    assert all(total == 7 for _done, total in reports)
