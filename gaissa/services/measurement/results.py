"""Turn a run's samples into results: latency, throughput, errors, energy and CO2 per inference.

build_result() is pure apart from the carbon-intensity lookup it is given. It raises
MeasurementFailed for a run that must not be kept: no successful request, or more failed requests
than the limit allows. save_draft() stores a kept result as an evaluation draft for review.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from gaissa.models import EvaluationDraft
from gaissa.models.base import utcnow
from gaissa.services import evaluations
from gaissa.services.connectors.http import redact_url
from gaissa.services.measurement.runner import MeasurementFailed, RunOutcome, as_clause
from gaissa.services.measurement.spec import MeasurementLimits, MeasurementSpec
from gaissa.services.measurement.statistics import LatencyStats, SizeStats, busy_time, count_errors

JOULES_PER_KWH = 3.6e6
# Values put into the evaluation draft are measurements, so more digits would only show noise; the
# job's result and the raw samples keep full precision.
DRAFT_SIGNIFICANT_DIGITS = 6
ESTIMATE_FORMULA = "rated power × time with at least one request in flight ÷ successful requests"


class IntensityLike(Protocol):
    g_per_kwh: float
    year: int
    code: str
    name: str
    is_world_fallback: bool
    is_stale: bool


CarbonLookup = Callable[[str], IntensityLike | None]


@dataclass
class MeasurementResult:
    spec: MeasurementSpec
    outcome: RunOutcome
    latency: LatencyStats
    sizes: SizeStats
    succeeded: int
    failed: int
    errors: list[tuple[str, int]]
    throughput_rps: float
    busy_time_s: float
    energy_j: float
    energy_provenance: dict[str, Any]
    carbon: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def measured(self) -> int:
        return self.succeeded + self.failed

    def summary(self) -> dict[str, Any]:
        """Return the results as JSON for the job's result and the draft's measurement."""
        spec = self.spec
        return {
            "url": redact_url(spec.url),
            "method": spec.method,
            "address": self.outcome.address,
            "redirects": self.outcome.redirects,
            "warmup": spec.warmup,
            "requests": self.measured,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "concurrency": spec.concurrency,
            "timeout_s": spec.timeout_s,
            "inputs": len(spec.inputs),
            "latency_ms": {
                "mean": self.latency.mean_ms, "p50": self.latency.p50_ms, "p95": self.latency.p95_ms,
                "p99": self.latency.p99_ms, "min": self.latency.min_ms, "max": self.latency.max_ms,
            },
            "throughput_rps": self.throughput_rps,
            "wall_time_s": self.outcome.wall_time_s,
            "busy_time_s": self.busy_time_s,
            "rate_wait_s": self.outcome.rate_wait_s,
            "errors": [{"message": message, "count": count} for message, count in self.errors],
            "response_bytes": {
                "mean": self.sizes.mean_bytes, "min": self.sizes.min_bytes, "max": self.sizes.max_bytes,
                "total": self.sizes.total_bytes,
            },
            "energy": {"joules_per_inference": self.energy_j, **self.energy_provenance},
            "co2": self.carbon,
            "notes": self.notes,
        }


def build_result(spec: MeasurementSpec, outcome: RunOutcome, limits: MeasurementLimits,
                 carbon_lookup: CarbonLookup | None = None) -> MeasurementResult:
    """Compute the results of a run; raise MeasurementFailed when the run must not be kept."""
    samples = outcome.samples
    ok = [sample for sample in samples if sample.ok]
    errors = count_errors(sample.error for sample in samples if sample.error)
    _check_failures(len(samples), len(ok), errors, limits)

    latency = LatencyStats.of(sample.latency_ms for sample in ok)
    busy = busy_time((sample.started_s, sample.ended_s) for sample in samples)
    wall = outcome.wall_time_s
    energy_j, provenance = _energy(spec, ok, busy)
    notes = _notes(spec, outcome)
    return MeasurementResult(
        spec=spec, outcome=outcome, latency=latency, sizes=SizeStats.of(sample.bytes for sample in ok),
        succeeded=len(ok), failed=len(samples) - len(ok), errors=errors,
        throughput_rps=len(ok) / wall if wall > 0 else 0.0, busy_time_s=busy,
        energy_j=energy_j, energy_provenance=provenance, carbon=_carbon(energy_j, spec.country, carbon_lookup),
        notes=notes,
    )


def _check_failures(measured: int, succeeded: int, errors: list[tuple[str, int]], limits: MeasurementLimits) -> None:
    if measured == 0:
        raise MeasurementFailed("No measured request was sent.")
    failed = measured - succeeded
    if failed == 0:
        return
    message, count = errors[0]
    message = as_clause(message)
    if succeeded == 0:
        raise MeasurementFailed(f"All {measured} measured requests failed. Most common error ({count} of {measured}): "
                                f"{message}.")
    if failed / measured > limits.max_error_fraction:
        raise MeasurementFailed(
            f"{failed} of {measured} measured requests failed ({failed / measured:.0%}). Most common error "
            f"({count} of {measured}): {message}. Results with more than {limits.max_error_fraction:.0%} failed requests "
            "are not kept: fix the endpoint or raise the timeout, then measure again."
        )


def _energy(spec: MeasurementSpec, ok: list, busy_s: float) -> tuple[float, dict[str, Any]]:
    energy = spec.energy
    if energy.method == "reported":
        values = [sample.energy_j for sample in ok]
        return sum(values) / len(values), {
            "kind": "endpoint", "method": "reported", "location": energy.location, "path": energy.path,
            "unit": energy.unit, "statistic": "mean", "samples": len(values),
            "min_j": min(values), "max_j": max(values),
        }

    power_w = energy.power_w or 0.0
    return power_w * busy_s / len(ok), {
        "kind": "endpoint", "method": "estimated", "hardware": energy.describe_hardware(), "power_w": power_w,
        "power_source": energy.power_source, "devices": energy.devices, "device_power_w": energy.device_watts,
        "formula": ESTIMATE_FORMULA, "busy_time_s": busy_s, "successful_requests": len(ok),
    }


def _carbon(energy_j: float, country: str | None, lookup: CarbonLookup | None) -> dict[str, Any]:
    if not country:
        return {"unavailable": "Choose the deployment country to get CO2 per inference."}
    intensity = lookup(country) if lookup is not None else None
    if intensity is None:
        return {"unavailable": f"No carbon-intensity data is installed, so CO2 for {country} cannot be computed."}
    return {
        "g_per_inference": energy_j / JOULES_PER_KWH * intensity.g_per_kwh,
        "g_per_kwh": intensity.g_per_kwh, "year": intensity.year, "country": intensity.code,
        "country_name": intensity.name, "is_world_fallback": intensity.is_world_fallback,
        "is_stale": intensity.is_stale, "requested_country": country,
    }


def _notes(spec: MeasurementSpec, outcome: RunOutcome) -> list[str]:
    notes = ["Latency is measured from this site, so it includes the network round trip to the endpoint."]
    if spec.energy.method == "estimated":
        notes.append("Energy is an estimate: it assumes the hardware draws its full rated power whenever a request "
                     "is in flight, and leaves out the host's other parts (CPU, memory, cooling).")
    else:
        notes.append(f"Energy is the mean of the values the endpoint reported ({spec.energy.describe_location()}).")
    if spec.method == "GET":
        notes.append("GET requests carry no body, so each input was sent in the URL and the body template was not "
                     "used.")
    if outcome.rate_wait_s > 0:
        notes.append(f"Requests waited {outcome.rate_wait_s:.1f} s in total for this site's per-address rate limit, "
                     "so the throughput may be lower than the endpoint can serve.")
    return notes


def round_significant(value: float, digits: int = DRAFT_SIGNIFICANT_DIGITS) -> float:
    """Round to `digits` significant digits: 0.614100538345 → 0.614101."""
    return float(f"{value:.{digits}g}")


def save_draft(result: MeasurementResult, job_id: str | None = None) -> EvaluationDraft:
    """Store the result as an inference draft with its provenance and raw samples; the caller commits."""
    spec = result.spec
    info: dict[str, str] = {}
    if spec.country:
        info["country"] = spec.country
    hardware = spec.energy.describe_hardware()
    if hardware:
        info["hardware_used"] = hardware
    origin = "estimated from rated power" if spec.energy.method == "estimated" else "reported by the endpoint"
    info["source"] = f"GAISSA Tools endpoint measurement (energy {origin})"

    summary = result.summary()
    provenance = {
        "kind": "endpoint", "url": summary["url"], "method": spec.method, "preset": spec.preset,
        "body_template": spec.body_template, "inputs": len(spec.inputs), "warmup": spec.warmup,
        "requests": result.measured, "succeeded": result.succeeded, "concurrency": spec.concurrency,
        "timeout_s": spec.timeout_s, "address": result.outcome.address, "measured_at": utcnow().isoformat(),
        "job_id": job_id, "co2_per_inference": result.carbon,
    }
    value_provenance = {
        "energy_per_inference": result.energy_provenance,
        "latency": {"kind": "endpoint", "method": "measured", "statistic": "mean", "samples": result.succeeded,
                    "p50_ms": result.latency.p50_ms, "p95_ms": result.latency.p95_ms, "p99_ms": result.latency.p99_ms},
    }
    measurement = {
        "samples": [sample.to_json() for sample in result.outcome.samples],
        "warmup_samples": [sample.to_json() for sample in result.outcome.warmup_samples],
        "summary": summary,
    }
    return evaluations.create_draft(
        phase="inference", source="endpoint",
        values={"energy_per_inference": round_significant(result.energy_j),
                "latency": round_significant(result.latency.mean_ms)},
        info=info, provenance=provenance, value_provenance=value_provenance, measurement=measurement,
        inference_count=result.succeeded, notes=result.notes,
    )
