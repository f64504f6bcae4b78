"""Rate runs without storing them: what `gaissa rate` prints, and the labels it can write as PDF."""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from gaissa.extensions import db
from gaissa.models import CalculationTool
from gaissa.services import evaluations, schemes
from gaissa.services.importers import ImportReport, import_file, tool_spec_from_model
from gaissa.services.rating import rate


# Name of the run made of --value arguments.
TYPED_VALUES = "typed values"


class RunInputError(ValueError):
    """Input that cannot be rated; the message lists every problem."""


@dataclass
class RatedRun:
    name: str
    values: dict[str, float]
    info: dict[str, str]
    overall_grade: str | None
    graded_count: int
    metric_count: int
    grades: dict[str, str | None]
    units: dict[str, str]
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "overall_grade": self.overall_grade,
            "graded_metrics": self.graded_count,
            "scheme_metrics": self.metric_count,
            "metrics": {
                key: {"value": value, "unit": self.units.get(key), "grade": self.grades.get(key)}
                for key, value in self.values.items()
            },
        }


def read_file_runs(phase: str, data: bytes, file_name: str, tool_name: str,
                   inference_count: int | None) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    """Read a measurement file with the named calculation tool; raise RunInputError listing every problem."""
    tool = db.session.scalar(select(CalculationTool).where(CalculationTool.name == tool_name))
    if tool is None:
        names = ", ".join(db.session.scalars(select(CalculationTool.name).order_by(CalculationTool.name)))
        raise RunInputError(f"Unknown calculation tool {tool_name!r}; known tools: {names}.")
    report: ImportReport = import_file(data, file_name, tool_spec_from_model(tool, phase), phase, inference_count)
    if report.errors or not report.runs:
        messages = [error.message for error in report.errors] or ["no usable run found"]
        raise RunInputError(f"{file_name}: " + "; ".join(messages))
    return [(run.label, dict(run.values), dict(run.info)) for run in report.runs]


def parse_assignments(assignments: tuple[str, ...]) -> dict[str, str]:
    """Read KEY=VALUE pairs ("energy=1.2 MWh"); raise RunInputError for a pair without '='."""
    values = {}
    for item in assignments:
        key, separator, text = item.partition("=")
        if not separator or not key.strip():
            raise RunInputError(f"Invalid --value {item!r}; write KEY=VALUE, e.g. --value 'energy=1.2 kWh'.")
        values[key.strip()] = text.strip()
    return values


def rate_run(phase: str, name: str, raw_values: dict[str, Any], info: dict[str, str] | None = None) -> RatedRun:
    """Validate and rate one run under the current scheme; raise RunInputError naming each bad value."""
    values, errors = evaluations.parse_values(phase, raw_values)
    prefix = "" if name == TYPED_VALUES else f"{name}: "
    if errors:
        raise RunInputError(prefix + " ".join(errors.values()))
    info = dict(info or {})
    notes = []
    if phase == "training":
        derived = evaluations.derive_emissions(values, info)
        if derived is not None:
            notes.append(f"co2_eq_emissions derived from energy × {derived['carbon_intensity_g_per_kwh']:g} g/kWh "
                         f"({derived['country_name']}, {derived['carbon_intensity_year']})")
    if not values:
        raise RunInputError(f"{prefix}no metric value to rate.")
    scheme = schemes.current_scheme(phase)
    rules = schemes.rules_for(scheme)
    result = rate(rules, values)
    return RatedRun(
        name=name, values=values, info=info, overall_grade=result.overall_letter, graded_count=result.graded_count,
        metric_count=result.rated_metric_count, grades={key: grade.letter for key, grade in result.metrics.items()},
        units={rule.key: rule.unit for rule in rules}, notes=notes,
    )
