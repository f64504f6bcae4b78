"""Measurement settings: body templates, header lines, JSON paths, validation and statistics."""

import json
import math

import numpy
import pytest

from gaissa.services.measurement.runner import extract_json_path
from gaissa.services.measurement.spec import (
    PRESETS,
    EnergySource,
    MeasurementInputError,
    MeasurementLimits,
    MeasurementSpec,
    build_request,
    parse_header_lines,
    parse_inputs,
    render_body,
    validate,
)
from gaissa.services.measurement.statistics import LatencyStats, busy_time, percentile

ESTIMATED_T4 = EnergySource(method="estimated", hardware_key="nvidia-t4")


def spec(**changes):
    settings = {"url": "https://models.example.org/predict", "inputs": ("hello",), "energy": ESTIMATED_T4}
    settings.update(changes)
    return MeasurementSpec(**settings)


def errors_of(candidate, limits=MeasurementLimits(), countries=None):
    with pytest.raises(MeasurementInputError) as raised:
        validate(candidate, limits, countries)
    return raised.value.errors


def test_render_body_escapes_text_in_strings():
    body = render_body('{"inputs": "{{input}}"}', 'He said "hi"\nthen left \\ ok')

    assert json.loads(body) == {"inputs": 'He said "hi"\nthen left \\ ok'}


def test_render_body_inserts_json_values_outside_strings():
    body = render_body('{"data": {{input}}, "label": "x {{input}}"}', "[0.5, 1.25]")

    assert json.loads(body) == {"data": [0.5, 1.25], "label": "x [0.5, 1.25]"}


def test_render_body_respects_escaped_quotes():
    body = render_body('{"a": "quote \\" {{input}}", "b": {{input}}}', "7")

    assert json.loads(body) == {"a": 'quote " 7', "b": 7}


@pytest.mark.parametrize("key", sorted(PRESETS))
def test_presets_render_valid_json(key):
    text = "[5.1, 3.5, 1.4, 0.2]" if key == "kserve_v2" else 'A "quoted" input'

    document = json.loads(render_body(PRESETS[key].template, text))

    assert document


def test_build_request_sets_json_content_type():
    url, body, headers = build_request(spec(), {"Authorization": "Bearer t"}, 0)

    assert url == "https://models.example.org/predict"
    assert json.loads(body) == {"input_text": "hello"}
    assert headers["Content-Type"] == "application/json"
    assert headers["Authorization"] == "Bearer t"


def test_build_request_user_content_type_wins():
    _url, _body, headers = build_request(spec(), {"content-type": "application/x-ndjson"}, 0)

    assert [name for name in headers if name.lower() == "content-type"] == ["content-type"]


def test_build_request_get_puts_input_in_url():
    url, body, _headers = build_request(
        spec(method="GET", body_template="", url="https://m.example.org/q?text={{input}}", inputs=("a b&c",)), {}, 0)

    assert url == "https://m.example.org/q?text=a%20b%26c"
    assert body is None


def test_parse_inputs_skips_blank_lines():
    assert parse_inputs("first\n\n  second  \r\n") == ("first", "second")


def test_parse_header_lines():
    assert parse_header_lines(["Authorization: Bearer abc:def", "", "X-Api-Key:k"]) == {
        "Authorization": "Bearer abc:def", "X-Api-Key": "k"}


@pytest.mark.parametrize(("lines", "message"), [
    (["no colon here"], "Line 1 is not a header"),
    ([": value"], "Line 1 is not a header"),
    (["Host: evil.example"], "Host header is set by the client"),
    (["X-Long: " + "a" * 9000], "X-Long header is 9,000 characters long"),
])
def test_parse_header_lines_rejects(lines, message):
    with pytest.raises(MeasurementInputError) as raised:
        parse_header_lines(lines)

    assert message in raised.value.errors["headers"]


@pytest.mark.parametrize(("path", "expected"), [
    ("usage.energy.joules", 0.5),
    ("$.usage.energy.joules", 0.5),
    ("choices[0].energy_j", 2),
    ("choices.1.energy_j", 3),
    ("$['usage']", None),
])
def test_extract_json_path(path, expected):
    document = {"usage": {"energy": {"joules": 0.5}}, "choices": [{"energy_j": 2}, {"energy_j": 3}]}

    found, value = extract_json_path(document, path)

    assert (value if found else None) == expected


def test_validate_accepts_and_tidies():
    checked = validate(spec(method="post", country="esp"), MeasurementLimits(), ["ESP", "FRA"])

    assert checked.method == "POST"
    assert checked.country == "ESP"


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"url": "ftp://example.org/"}, "url", "Only http and https"),
    ({"url": "https://{{input}}.example.org/"}, "url", "only appear in the URL's path or query"),
    ({"inputs": ()}, "inputs", "at least one example input"),
    ({"method": "DELETE"}, "method", "one of POST, PUT, GET"),
    ({"warmup": -1}, "warmup", "0 or more"),
    ({"requests": 0}, "requests", "at least 1"),
    ({"requests": 999, "warmup": 2}, "requests", "at most 1000"),
    ({"concurrency": 17}, "concurrency", "from 1 to 16"),
    ({"timeout_s": 0.0}, "timeout", "more than 0"),
    ({"timeout_s": math.nan}, "timeout", "more than 0"),
    ({"body_template": '{"text": "hello"}'}, "body_template", "no {{input}} placeholder"),
    ({"body_template": '{"data": {{input}}}', "inputs": ("[1, 2]", "not json")}, "inputs",
     "Input 2 ('not json') is not a JSON value, but the body template puts {{input}} outside quotes"),
    ({"body_template": '{"data": {{input}}', "inputs": ("[1, 2]",)}, "body_template",
     "The body template is not valid JSON (Expecting ',' delimiter at line 1, column 19), whatever the input."),
    ({"method": "GET", "body_template": ""}, "url", "put {{input}} in the URL"),
    ({"country": "Spain"}, "country", "ISO 3166 alpha-3"),
    ({"energy": EnergySource(method="guessed")}, "energy_method", "Choose whether"),
    ({"energy": EnergySource(method="estimated")}, "power_watts", "Pick the serving hardware"),
    ({"energy": EnergySource(method="estimated", watts=-5.0)}, "power_watts", "more than 0"),
    ({"energy": EnergySource(method="estimated", hardware_key="tpu-v9")}, "hardware", "Unknown hardware"),
    ({"energy": EnergySource(method="estimated", watts=300.0, devices=0)}, "devices", "from 1 to 1024"),
    ({"energy": EnergySource(method="reported", location="json")}, "energy_path", "JSON path"),
    ({"energy": EnergySource(method="reported", location="body", path="x")}, "energy_location", "JSON path or a"),
    ({"energy": EnergySource(method="reported", location="json", path="e", unit="cal")}, "energy_unit", "J, mJ"),
])
def test_validate_rejects(changes, field, message):
    errors = errors_of(spec(**changes))

    assert message in errors[field]


def test_kserve_preset_with_text_blames_the_inputs():
    errors = errors_of(spec(preset="kserve_v2", body_template=PRESETS["kserve_v2"].template, inputs=("hello world",)))

    assert list(errors) == ["inputs"]
    assert "Input 1 ('hello world') is not a JSON value" in errors["inputs"]
    assert "Give each input as a JSON array or number" in errors["inputs"]


def test_get_ignores_the_body_template():
    checked = validate(spec(method="get", url="https://models.example.org/predict?text={{input}}"), MeasurementLimits())

    assert checked.method == "GET"
    assert checked.body_template == ""


def test_validate_country_must_have_data():
    errors = errors_of(spec(country="XYZ"), countries=["ESP"])

    assert "No carbon-intensity data for country 'XYZ'" in errors["country"]


def test_validate_limits_come_from_settings():
    limits = MeasurementLimits.from_config({"MEASURE_MAX_REQUESTS": 10, "MEASURE_MAX_CONCURRENCY": 2})

    errors = errors_of(spec(requests=9, warmup=2, concurrency=3), limits)

    assert "at most 10" in errors["requests"]
    assert "from 1 to 2" in errors["concurrency"]


def test_energy_source_describes_hardware():
    energy = EnergySource(method="estimated", hardware_key="nvidia-l4", devices=2)

    assert energy.power_w == 144
    assert energy.describe_hardware() == "2 × NVIDIA L4 (72 W TDP each)"
    assert "datasheet" in energy.power_source


def test_energy_source_typed_power():
    energy = EnergySource(method="estimated", watts=15.0, hardware_name="Jetson Orin Nano")

    assert energy.power_w == 15.0
    assert energy.describe_hardware() == "Jetson Orin Nano (15 W)"
    assert energy.power_source == "typed by the user"


def test_spec_round_trips_through_params():
    original = spec(energy=EnergySource(method="reported", location="header", path="X-Energy", unit="Wh"), country="FRA")

    assert MeasurementSpec.from_params(json.loads(json.dumps(original.to_params()))) == original


@pytest.mark.parametrize("fraction", [0.0, 0.5, 0.95, 0.99, 1.0])
def test_percentile_matches_numpy(fraction):
    values = sorted([12.0, 3.5, 7.25, 100.0, 42.0, 8.0, 9.5])

    assert percentile(values, fraction) == pytest.approx(numpy.percentile(values, fraction * 100))


def test_latency_stats():
    stats = LatencyStats.of([10.0, 20.0, 30.0, 40.0])

    assert stats.mean_ms == 25.0
    assert stats.p50_ms == 25.0
    assert stats.p95_ms == pytest.approx(38.5)
    assert stats.min_ms == 10.0
    assert stats.max_ms == 40.0


def test_busy_time_merges_overlaps():
    assert busy_time([(0.0, 1.0), (0.5, 2.0), (3.0, 4.0), (3.5, 3.6)]) == pytest.approx(3.0)
    assert busy_time([]) == 0.0
