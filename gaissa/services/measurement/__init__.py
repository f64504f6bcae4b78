"""Endpoint measurement: send example requests to a deployed model and derive its inference metrics.

The site measures latency and throughput itself. Energy per inference is either reported by the
endpoint (a JSON value or response header per request) or estimated from the time requests were
in flight × the serving hardware's rated power. CO2 per inference is the energy × the deployment
country's carbon intensity. Results become an evaluation draft that the user reviews and saves.

Modules: spec (settings and their checks), runner (the requests), statistics, results (energy,
CO2, the draft) and background (the job handler registered as "endpoint_measurement").
"""

from gaissa.services.measurement.background import (
    JOB_KIND,
    MeasurementRateLimited,
    MeasurementRefused,
    cancel_measurement,
    check_endpoint,
    country_choices,
    describe_failure,
    get_measurement_job,
    input_errors,
    job_draft,
    run_measurement_job,
    samples_csv,
    start_measurement,
)
from gaissa.services.measurement.results import MeasurementResult, build_result, save_draft
from gaissa.services.measurement.runner import MeasurementFailed, RunOutcome, Sample, run_measurement
from gaissa.services.measurement.spec import (
    DEFAULT_PRESET,
    ENERGY_UNITS,
    METHODS,
    PRESETS,
    EnergySource,
    MeasurementInputError,
    MeasurementLimits,
    MeasurementSpec,
    parse_header_lines,
    parse_inputs,
    validate,
)

__all__ = [
    "DEFAULT_PRESET", "ENERGY_UNITS", "JOB_KIND", "METHODS", "PRESETS", "EnergySource", "MeasurementFailed",
    "MeasurementInputError", "MeasurementLimits", "MeasurementRateLimited", "MeasurementRefused", "MeasurementResult",
    "MeasurementSpec", "RunOutcome", "Sample", "build_result", "cancel_measurement", "check_endpoint", "country_choices",
    "describe_failure", "get_measurement_job", "input_errors", "job_draft", "parse_header_lines", "parse_inputs", "run_measurement",
    "run_measurement_job", "samples_csv", "save_draft", "start_measurement", "validate",
]
