"""What to measure: the endpoint, the request shape, the inputs, the counts and where energy comes from.

Pure: no Flask, no database, no network. The web form and the CLI both build a MeasurementSpec and
check it with validate(), which raises MeasurementInputError with one message per form field.
"""

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any
from urllib.parse import quote

from gaissa.services import hardware_power
from gaissa.services.connectors import http

PLACEHOLDER = "{{input}}"
METHODS = ("POST", "PUT", "GET")
ENERGY_METHODS = ("estimated", "reported")
REPORTED_LOCATIONS = ("json", "header")
# Joules per unit of a reported energy value.
ENERGY_UNITS = {"J": 1.0, "mJ": 1e-3, "kJ": 1e3, "mWh": 3.6, "Wh": 3600.0, "kWh": 3.6e6}
MAX_HEADERS = 30
MAX_HEADER_VALUE_LENGTH = 8192
MAX_TEMPLATE_LENGTH = 20_000
MAX_DEVICES = 1024
MAX_WATTS = 100_000.0


@dataclass(frozen=True)
class Preset:
    name: str
    template: str
    help: str


PRESETS = {
    "json_text": Preset(
        "Plain JSON text input", '{"input_text": "{{input}}"}',
        "A JSON object with the text under input_text, the shape GAISSALabel used to send.",
    ),
    "hf_inference": Preset(
        "Hugging Face Inference API", '{"inputs": "{{input}}"}',
        "The Hugging Face Inference API and Inference Endpoints shape for text tasks.",
    ),
    "openai_chat": Preset(
        "OpenAI-compatible chat completion",
        '{\n  "model": "MODEL-NAME",\n  "messages": [{"role": "user", "content": "{{input}}"}],\n  "max_tokens": 64\n}',
        "POST to …/v1/chat/completions (vLLM, TGI, Ollama and others serve it). Replace MODEL-NAME.",
    ),
    "kserve_v2": Preset(
        "KServe v2 inference protocol",
        '{\n  "inputs": [\n    {"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": {{input}}}\n  ]\n}',
        "POST to …/v2/models/<name>/infer. Set name, shape and datatype to your model's input "
        "and give each input as a JSON array, e.g. [5.1, 3.5, 1.4, 0.2].",
    ),
}
DEFAULT_PRESET = "json_text"


class MeasurementInputError(ValueError):
    """Invalid measurement settings; `errors` maps a form field name to a message for users."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))


@dataclass(frozen=True)
class MeasurementLimits:
    """Caps that keep one measurement from overloading the endpoint or this site."""

    max_requests: int = 1000  # warm-up requests included
    max_concurrency: int = 16
    max_timeout_s: float = 120.0
    max_inputs: int = 100
    max_input_length: int = 20_000
    max_duration_s: float = 900.0
    max_active: int = 4  # measurements queued or running at once on this site
    # Measurements one client address may start per clock hour, since anonymous visitors may start them too.
    max_starts_per_hour: int = 10
    # A run in which more than this fraction of the measured requests failed is not kept.
    max_error_fraction: float = 0.1

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "MeasurementLimits":
        """Read MEASURE_* settings, keeping the defaults for settings that are not given."""
        names = {"max_requests": "MEASURE_MAX_REQUESTS", "max_concurrency": "MEASURE_MAX_CONCURRENCY",
                 "max_timeout_s": "MEASURE_MAX_TIMEOUT_S", "max_duration_s": "MEASURE_MAX_DURATION_S",
                 "max_active": "MEASURE_MAX_ACTIVE", "max_starts_per_hour": "MEASURE_STARTS_PER_HOUR"}
        return cls(**{key: config[name] for key, name in names.items() if config.get(name) not in (None, "")})


@dataclass(frozen=True)
class EnergySource:
    """How the energy of one inference is obtained: reported by the endpoint, or estimated from power."""

    method: str = "estimated"
    # Reported: where the value is ("json" path or response "header"), and its unit.
    location: str | None = None
    path: str | None = None
    unit: str = "J"
    # Estimated: a hardware table key, or typed watts (with an optional name) per device.
    hardware_key: str | None = None
    watts: float | None = None
    hardware_name: str | None = None
    devices: int = 1

    @property
    def hardware(self) -> hardware_power.HardwarePower | None:
        return hardware_power.find(self.hardware_key)

    @property
    def device_watts(self) -> float | None:
        listed = self.hardware
        return listed.watts if listed is not None else self.watts

    @property
    def power_w(self) -> float | None:
        watts = self.device_watts
        return watts * self.devices if watts is not None else None

    @property
    def power_source(self) -> str | None:
        listed = self.hardware
        if listed is not None:
            return listed.source
        return "typed by the user" if self.watts is not None else None

    def describe_hardware(self) -> str | None:
        """Return e.g. "2 × NVIDIA L4 (72 W TDP each)", or None when energy is reported."""
        if self.method != "estimated" or self.device_watts is None:
            return None
        listed = self.hardware
        name = listed.name if listed is not None else (self.hardware_name or "Hardware")
        rating = f"{listed.watts:g} W {listed.rating}" if listed is not None else f"{self.watts:g} W"
        return f"{self.devices} × {name} ({rating} each)" if self.devices > 1 else f"{name} ({rating})"

    def describe_location(self) -> str:
        if self.location == "header":
            return f"response header {self.path}"
        return f"JSON value at {self.path}"


@dataclass(frozen=True)
class MeasurementSpec:
    url: str
    inputs: tuple[str, ...]
    method: str = "POST"
    body_template: str = PRESETS[DEFAULT_PRESET].template
    warmup: int = 2
    requests: int = 20
    concurrency: int = 1
    timeout_s: float = 30.0
    energy: EnergySource = field(default_factory=EnergySource)
    country: str | None = None
    preset: str | None = None

    @property
    def total_requests(self) -> int:
        return self.warmup + self.requests

    def to_params(self) -> dict[str, Any]:
        """Return the settings as JSON for the job's parameters (request headers are never part of them)."""
        params = asdict(self)
        params["inputs"] = list(self.inputs)
        return params

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "MeasurementSpec":
        energy = EnergySource(**params.get("energy", {}))
        fields = {name: params[name] for name in cls.__dataclass_fields__ if name in params and name != "energy"}
        fields["inputs"] = tuple(fields.get("inputs", ()))
        return cls(energy=energy, **fields)

    def with_url(self, url: str) -> "MeasurementSpec":
        return replace(self, url=url)


# --- Request bodies ----------------------------------------------------------------------------

def render_body(template: str, text: str) -> str:
    """Put the input into the body template.

    A placeholder inside a JSON string ("{{input}}") receives the text escaped for JSON; a
    placeholder elsewhere receives the text as it is, so an input such as [0.5, 1.2] becomes a
    JSON array.
    """
    escaped = json.dumps(text, ensure_ascii=False)[1:-1]
    pieces: list[str] = []
    in_string = False
    after_backslash = False
    position = 0
    while position < len(template):
        if template.startswith(PLACEHOLDER, position):
            pieces.append(escaped if in_string else text)
            position += len(PLACEHOLDER)
            continue
        character = template[position]
        if in_string:
            if after_backslash:
                after_backslash = False
            elif character == "\\":
                after_backslash = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        pieces.append(character)
        position += 1
    return "".join(pieces)


def render_url(url: str, text: str) -> str:
    """Put the percent-encoded input into the URL's path or query."""
    return url.replace(PLACEHOLDER, quote(text, safe=""))


def content_type_of(body: str) -> str:
    """Return application/json for a body that is valid JSON, else text/plain."""
    try:
        json.loads(body)
    except ValueError:
        return "text/plain; charset=utf-8"
    return "application/json"


def build_request(spec: MeasurementSpec, headers: Mapping[str, str], input_index: int) -> tuple[str, bytes | None, dict[str, str]]:
    """Return the URL, body and headers of the request for one example input."""
    text = spec.inputs[input_index]
    url = render_url(spec.url, text)
    if spec.method == "GET" or not spec.body_template:
        return url, None, dict(headers)
    body = render_body(spec.body_template, text)
    defaults = {"Content-Type": content_type_of(body), "Accept": "application/json, */*;q=0.5"}
    given = {name.lower() for name in headers}
    request_headers = {name: value for name, value in defaults.items() if name.lower() not in given}
    request_headers.update(headers)
    return url, body.encode("utf-8"), request_headers


# --- Parsing user text -------------------------------------------------------------------------

def parse_inputs(text: str) -> tuple[str, ...]:
    """Split example inputs typed one per line; blank lines are skipped."""
    return tuple(line.strip() for line in (text or "").splitlines() if line.strip())


def parse_header_lines(lines: Iterable[str]) -> dict[str, str]:
    """Read "Name: value" lines into a dict; raise MeasurementInputError naming the bad line."""
    headers: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise MeasurementInputError({"headers": f"Line {number} is not a header: write it as 'Name: value'."})
        headers[name.strip()] = value.strip()
    if len(headers) > MAX_HEADERS:
        raise MeasurementInputError({"headers": f"{len(headers)} headers given; the maximum is {MAX_HEADERS}."})
    for name, value in headers.items():
        if len(value) > MAX_HEADER_VALUE_LENGTH:
            raise MeasurementInputError({"headers": f"The {name} header is {len(value):,} characters long; "
                                                    f"the maximum is {MAX_HEADER_VALUE_LENGTH:,}."})
    try:
        return http.validate_headers(headers)
    except http.InvalidURL as exc:
        raise MeasurementInputError({"headers": str(exc)}) from None


# --- Validation --------------------------------------------------------------------------------

def validate(spec: MeasurementSpec, limits: MeasurementLimits, countries: Iterable[str] | None = None) -> MeasurementSpec:
    """Check the settings against the limits; return the spec tidied, or raise MeasurementInputError.

    `countries` lists the accepted country codes; None accepts any ISO 3166 alpha-3 code.
    """
    errors: dict[str, str] = {}
    method = (spec.method or "").upper()
    if method not in METHODS:
        errors["method"] = f"The method must be one of {', '.join(METHODS)}; got {spec.method!r}."

    errors.update(_check_url(spec.url))
    errors.update(_check_inputs(spec.inputs, limits))
    errors.update(_check_counts(spec, limits))
    if "inputs" not in errors and "url" not in errors and method in METHODS:
        errors.update(_check_template(spec, method))
    errors.update(_check_energy(spec.energy))

    country = (spec.country or "").strip().upper() or None
    if country is not None:
        known = {code.upper() for code in countries} if countries is not None else None
        if known is not None and country not in known:
            errors["country"] = f"No carbon-intensity data for country {country!r}; pick a country from the list."
        elif known is None and not re.fullmatch(r"[A-Z]{3}", country):
            errors["country"] = f"Give the country as an ISO 3166 alpha-3 code such as ESP; got {spec.country!r}."

    if errors:
        raise MeasurementInputError(errors)
    body_template = "" if method == "GET" else spec.body_template
    return replace(spec, method=method, country=country, url=spec.url.strip(), body_template=body_template)


def _check_url(url: str) -> dict[str, str]:
    text = (url or "").strip()
    scheme_end = text.find("://")
    authority = re.split(r"[/?#]", text[scheme_end + 3:], maxsplit=1)[0] if scheme_end >= 0 else text
    if PLACEHOLDER in authority:
        return {"url": f"{PLACEHOLDER} may only appear in the URL's path or query, not in its host."}
    try:
        http.parse_url(render_url(text, "x"))
    except http.InvalidURL as exc:
        return {"url": str(exc)}
    return {}


def _check_inputs(inputs: tuple[str, ...], limits: MeasurementLimits) -> dict[str, str]:
    if not inputs:
        return {"inputs": "Enter at least one example input, one per line."}
    if len(inputs) > limits.max_inputs:
        return {"inputs": f"{len(inputs)} inputs given; the maximum is {limits.max_inputs}."}
    for number, text in enumerate(inputs, start=1):
        if len(text) > limits.max_input_length:
            return {"inputs": f"Input {number} is {len(text):,} characters long; the maximum is {limits.max_input_length:,}."}
    return {}


def _check_counts(spec: MeasurementSpec, limits: MeasurementLimits) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not isinstance(spec.warmup, int) or spec.warmup < 0:
        errors["warmup"] = f"Warm-up requests must be a whole number of 0 or more; got {spec.warmup!r}."
    if not isinstance(spec.requests, int) or spec.requests < 1:
        errors["requests"] = f"The number of requests must be a whole number of at least 1; got {spec.requests!r}."
    elif isinstance(spec.warmup, int) and spec.warmup >= 0 and spec.total_requests > limits.max_requests:
        errors["requests"] = (f"{spec.warmup} warm-up and {spec.requests} measured requests make {spec.total_requests}; "
                              f"a measurement may send at most {limits.max_requests}.")
    if not isinstance(spec.concurrency, int) or not 1 <= spec.concurrency <= limits.max_concurrency:
        errors["concurrency"] = f"Concurrency must be from 1 to {limits.max_concurrency}; got {spec.concurrency!r}."
    timeout = spec.timeout_s
    if not isinstance(timeout, (int, float)) or not math.isfinite(timeout) or not 0 < timeout <= limits.max_timeout_s:
        errors["timeout"] = f"The timeout must be more than 0 and at most {limits.max_timeout_s:g} s; got {timeout!r}."
    return errors


def _check_template(spec: MeasurementSpec, method: str) -> dict[str, str]:
    template = spec.body_template or ""
    in_url = PLACEHOLDER in spec.url
    if method == "GET":
        # A GET request has no body, so the template (often still the preset's) is ignored rather than refused.
        if not in_url:
            return {"url": f"With GET, put {PLACEHOLDER} in the URL's query, e.g. ?text={PLACEHOLDER}."}
        return {}
    if len(template) > MAX_TEMPLATE_LENGTH:
        return {"body_template": f"The body template is {len(template):,} characters long; the maximum is {MAX_TEMPLATE_LENGTH:,}."}
    if not template.strip():
        return {"body_template": f"Enter a body template with {PLACEHOLDER} where the input goes, or pick a preset."}
    if PLACEHOLDER not in template and not in_url:
        return {"body_template": f"The body template has no {PLACEHOLDER} placeholder, so the example inputs would not be sent."}
    if template.lstrip()[:1] in ("{", "["):
        return _check_json_bodies(template, spec.inputs)
    return {}


# A JSON value as long as the placeholder and needing no escape in a string, so that an error's line and
# column in the rendered body are its line and column in the template.
_PROBE_VALUE = "[0,0,0,0]"


def _check_json_bodies(template: str, inputs: tuple[str, ...]) -> dict[str, str]:
    """Check that every input makes a valid JSON body, and blame the template or the inputs.

    A template that is invalid even with a plain JSON value in each placeholder is wrong itself. When
    it is valid that way, the input is at fault: it lands outside quotes but is not a JSON value.
    """
    try:
        json.loads(render_body(template, _PROBE_VALUE))
    except json.JSONDecodeError as exc:
        return {"body_template": (
            f"The body template is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}), whatever the "
            f"input. Check its brackets, commas and quotes."
        )}
    for number, text in enumerate(inputs, start=1):
        try:
            json.loads(render_body(template, text))
        except json.JSONDecodeError:
            shown = text if len(text) <= 40 else f"{text[:40]}…"
            return {"inputs": (
                f"Input {number} ({shown!r}) is not a JSON value, but the body template puts {PLACEHOLDER} outside "
                f"quotes, where the input must be JSON such as [5.1, 3.5, 1.4, 0.2]. Give each input as a JSON "
                f"array or number, or put {PLACEHOLDER} in quotes in the template to send text."
            )}
    return {}


def _check_energy(energy: EnergySource) -> dict[str, str]:
    if energy.method not in ENERGY_METHODS:
        return {"energy_method": "Choose whether the endpoint reports its energy or the site estimates it."}
    if energy.method == "reported":
        errors: dict[str, str] = {}
        if energy.location not in REPORTED_LOCATIONS:
            errors["energy_location"] = "Choose where the endpoint reports its energy: a JSON path or a response header."
        if not (energy.path or "").strip():
            errors["energy_path"] = ("Enter the JSON path (e.g. usage.energy_j) or the header name (e.g. X-Energy-Joules) "
                                     "that carries the energy of each request.")
        if energy.unit not in ENERGY_UNITS:
            errors["energy_unit"] = f"The energy unit must be one of {', '.join(ENERGY_UNITS)}; got {energy.unit!r}."
        return errors

    errors = {}
    if energy.hardware_key and energy.hardware is None:
        errors["hardware"] = f"Unknown hardware {energy.hardware_key!r}; pick one from the list or type its power in watts."
    elif energy.hardware is None:
        watts = energy.watts
        if watts is None:
            errors["power_watts"] = "Pick the serving hardware from the list, or type its rated power in watts."
        elif not math.isfinite(watts) or not 0 < watts <= MAX_WATTS:
            errors["power_watts"] = f"The power must be more than 0 and at most {MAX_WATTS:,.0f} W; got {watts!r}."
    if not isinstance(energy.devices, int) or not 1 <= energy.devices <= MAX_DEVICES:
        errors["devices"] = f"The number of devices must be from 1 to {MAX_DEVICES}; got {energy.devices!r}."
    return errors
