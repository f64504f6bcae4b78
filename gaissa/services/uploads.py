"""The file flow: read uploaded measurement files with their tools, then turn the chosen runs into a draft.

Nothing is stored when any file has an error: the user gets every message and uploads again.
"""

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select

from gaissa.extensions import db
from gaissa.models import CalculationTool, EvaluationDraft, EvaluationSource, Metric
from gaissa.services import evaluations
from gaissa.services.importers import ImportedRun, ImportReport, import_file, mean_of_runs, tool_spec_from_model

logger = logging.getLogger(__name__)
MAX_FILES = 10


@dataclass(frozen=True)
class UploadedFile:
    name: str
    data: bytes
    tool_id: int | None


@dataclass
class UploadResult:
    reports: list[ImportReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    draft: EvaluationDraft | None = None

    @property
    def ok(self) -> bool:
        return self.draft is not None


def tools_for_phase(phase: str) -> list[CalculationTool]:
    """Tools that have at least one mapping for the phase, by name."""
    tools = db.session.scalars(select(CalculationTool).order_by(CalculationTool.name)).all()
    return [tool for tool in tools if any(mapping.phase == phase for mapping in tool.mappings)]


def read_uploads(phase: str, files: list[UploadedFile], inference_count: int | None,
                 model_name: str | None = None) -> UploadResult:
    """Read every file with its tool; when all are valid, store their runs in a draft for the run choice."""
    evaluations.check_phase(phase)
    result = UploadResult()
    if not files:
        result.errors.append("Choose at least one file to upload.")
        return result
    if len(files) > MAX_FILES:
        result.errors.append(f"Upload at most {MAX_FILES} files at once; got {len(files)}.")
        return result

    tools = {tool.id: tool for tool in db.session.scalars(select(CalculationTool))}
    for upload in files:
        tool = tools.get(upload.tool_id) if upload.tool_id is not None else None
        if tool is None:
            result.errors.append(f"{upload.name}: choose the tool that produced this file.")
            continue
        report = import_file(upload.data, upload.name, tool_spec_from_model(tool, phase), phase, inference_count)
        result.reports.append(report)
        if not report.ok or report.errors:
            count = len(report.errors)
            result.errors.append(f"{upload.name}: {count} problem{'s' if count != 1 else ''} found; nothing was imported.")
    if result.errors:
        logger.info("Rejected an upload of %d file(s) for %s: %s", len(files), phase, result.errors)
        return result

    result.draft = evaluations.create_draft(
        phase=phase, source=EvaluationSource.FILE, values={}, inference_count=inference_count,
        model_name=(model_name or "").strip() or _model_name_from(result.reports),
        provenance={"files": [_report_record(report) for report in result.reports],
                    "model_name_given": bool((model_name or "").strip())},
    )
    return result


def choose_runs(draft: EvaluationDraft, selections: dict[int, list[int]]) -> list[str]:
    """Fill the draft with the chosen run of each file (the mean when several are chosen); return errors."""
    files = (draft.provenance or {}).get("files", [])
    errors = []
    values: dict[str, float] = {}
    info: dict[str, str] = {}
    value_provenance: dict[str, Any] = {}
    notes: list[str] = []
    units = {metric.key: metric.unit for metric in db.session.scalars(select(Metric))}

    for index, record in enumerate(files):
        chosen = sorted(set(selections.get(index, [])))
        runs = [_run_from_record(run) for run in record["runs"]]
        if not chosen and len(runs) == 1:
            chosen = [0]
        if not chosen or any(i < 0 or i >= len(runs) for i in chosen):
            errors.append(f"{record['file_name']}: choose at least one run.")
            continue
        picked = [runs[i] for i in chosen]
        run = picked[0] if len(picked) == 1 else mean_of_runs(picked)
        if index == 0 and not draft.provenance.get("model_name_given"):
            draft.model_name = _model_name_from_runs(picked) or draft.model_name
        row = run.label if len(picked) == 1 else f"mean of {len(picked)} runs ({', '.join(r.label for r in picked)})"
        for key, number in run.values.items():
            if key in value_provenance:
                notes.append(f"{key}: the value from {record['file_name']} replaces the one from "
                             f"{value_provenance[key]['file']} (later files win).")
            values[key] = number
            value_provenance[key] = {
                "kind": "file", "tool": record["tool"], "tool_version": run.tool_version, "file": record["file_name"],
                "sha256": record["sha256"], "row": row, "lines": [r.line for r in picked], "unit": units.get(key),
            }
        for key, text in run.info.items():
            info.setdefault(key, text)
        notes.extend(f"{record['file_name']}: {note}" for note in run.notes)
    if errors:
        return errors

    if draft.phase == "training":
        derived = evaluations.derive_emissions(values, info)
        if derived is not None:
            value_provenance["co2_eq_emissions"] = derived
            notes.append(
                f"CO2 emissions derived from the energy × {derived['carbon_intensity_g_per_kwh']:g} g CO2eq/kWh, the carbon "
                f"intensity of {derived['country_name']} in {derived['carbon_intensity_year']} (Our World in Data)."
            )
    draft.values = values
    draft.info = info
    draft.value_provenance = value_provenance
    draft.notes = notes
    tools = sorted({record["tool"] for record in files})
    draft.provenance = {**draft.provenance, "tool": ", ".join(tools),
                        "chosen": {str(k): v for k, v in selections.items()}}
    return []


def _report_record(report: ImportReport) -> dict[str, Any]:
    return {
        "file_name": report.file_name,
        "sha256": report.sha256,
        "tool": report.tool,
        "runs": [asdict(run) for run in report.runs],
    }


def _run_from_record(record: dict[str, Any]) -> ImportedRun:
    return ImportedRun(**record)


def _model_name_from(reports: list[ImportReport]) -> str | None:
    return _model_name_from_runs([run for report in reports for run in report.runs])


def _model_name_from_runs(runs: list[ImportedRun]) -> str | None:
    """Return the project name of the first run labelled "project, run id", as a suggested model name."""
    for run in runs:
        if run.label and not run.label.startswith("line "):
            return run.label.split(",")[0]
    return None
