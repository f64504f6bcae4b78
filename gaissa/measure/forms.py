"""The endpoint-measurement form, read by hand: its fields depend on how energy is obtained.

Reading turns text into numbers and collects one message per field; the measurement service then
checks the settings as a whole (limits, templates, addresses).
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gaissa.services import measurement
from gaissa.services.measurement import DEFAULT_PRESET, PRESETS, EnergySource, MeasurementSpec

CUSTOM_PRESET = "custom"
DEFAULTS = {
    "url": "", "method": "POST", "preset": DEFAULT_PRESET, "body_template": PRESETS[DEFAULT_PRESET].template,
    "headers": "", "inputs": "", "warmup": "2", "requests": "20", "concurrency": "1", "timeout": "30",
    "energy_method": "estimated", "energy_location": "json", "energy_path": "", "energy_unit": "J",
    "hardware": "", "power_watts": "", "hardware_name": "", "devices": "1", "country": "",
}


@dataclass
class MeasurementForm:
    """The form as typed (`raw`), its messages per field, and what it reads as."""

    raw: dict[str, str] = field(default_factory=lambda: dict(DEFAULTS))
    errors: dict[str, str] = field(default_factory=dict)
    spec: MeasurementSpec | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def apply_preset(self) -> None:
        """Replace the body template with the chosen preset's, keeping everything else."""
        preset = PRESETS.get(self.raw.get("preset", ""))
        if preset is not None:
            self.raw["body_template"] = preset.template
        self.errors.pop("body_template", None)


def blank_form() -> MeasurementForm:
    return MeasurementForm()


def form_from_params(params: Mapping[str, Any]) -> MeasurementForm:
    """Fill the form from a previous job's parameters (request headers are never among them)."""
    spec = MeasurementSpec.from_params(params)
    energy = spec.energy
    raw = dict(DEFAULTS)
    raw.update({
        "url": spec.url, "method": spec.method, "preset": spec.preset or CUSTOM_PRESET,
        "body_template": spec.body_template, "inputs": "\n".join(spec.inputs), "warmup": str(spec.warmup),
        "requests": str(spec.requests), "concurrency": str(spec.concurrency), "timeout": f"{spec.timeout_s:g}",
        "energy_method": energy.method, "energy_location": energy.location or "json", "energy_path": energy.path or "",
        "energy_unit": energy.unit, "hardware": energy.hardware_key or "",
        "power_watts": f"{energy.watts:g}" if energy.watts is not None else "", "hardware_name": energy.hardware_name or "",
        "devices": str(energy.devices), "country": spec.country or "",
    })
    return MeasurementForm(raw=raw)


def read_measurement_form(form: Mapping[str, str]) -> MeasurementForm:
    """Read the submitted form; numbers that do not parse and malformed headers get a message at their field."""
    raw = {name: (form.get(name) if form.get(name) is not None else default) for name, default in DEFAULTS.items()}
    result = MeasurementForm(raw=raw)
    errors = result.errors

    try:
        result.headers = measurement.parse_header_lines(raw["headers"].splitlines())
    except measurement.MeasurementInputError as exc:
        errors.update(exc.errors)

    method = raw["energy_method"]
    energy = EnergySource(
        method=method,
        location=raw["energy_location"] if method == "reported" else None,
        path=raw["energy_path"].strip() or None if method == "reported" else None,
        unit=raw["energy_unit"] if method == "reported" else "J",
        hardware_key=raw["hardware"].strip() or None if method == "estimated" else None,
        watts=_number(raw, "power_watts", "The power", errors, required=False) if method == "estimated" else None,
        hardware_name=raw["hardware_name"].strip()[:200] or None if method == "estimated" else None,
        devices=_whole(raw, "devices", "The number of devices", errors) if method == "estimated" else 1,
    )
    result.spec = MeasurementSpec(
        url=raw["url"].strip(), inputs=measurement.parse_inputs(raw["inputs"]), method=raw["method"].upper(),
        body_template=raw["body_template"].replace("\r\n", "\n"),
        warmup=_whole(raw, "warmup", "Warm-up requests", errors),
        requests=_whole(raw, "requests", "The number of requests", errors),
        concurrency=_whole(raw, "concurrency", "Concurrency", errors),
        timeout_s=_number(raw, "timeout", "The timeout", errors) or 0.0,
        energy=energy, country=raw["country"].strip().upper() or None,
        preset=raw["preset"] if raw["preset"] in PRESETS else None,
    )
    return result


def _whole(raw: dict[str, str], name: str, label: str, errors: dict[str, str]) -> int:
    text = raw[name].strip()
    if text.isdigit():
        return int(text)
    errors[name] = f"{label} must be a whole number; got {text[:40]!r}." if text else f"{label} is missing."
    return 0


def _number(raw: dict[str, str], name: str, label: str, errors: dict[str, str], required: bool = True) -> float | None:
    text = raw[name].strip().replace(",", ".")
    if not text:
        if required:
            errors[name] = f"{label} is missing."
        return None
    try:
        value = float(text)
    except ValueError:
        errors[name] = f"{label} must be a number; got {raw[name].strip()[:40]!r}."
        return None
    if not math.isfinite(value):
        errors[name] = f"{label} must be a finite number; got {raw[name].strip()[:40]!r}."
        return None
    return value
