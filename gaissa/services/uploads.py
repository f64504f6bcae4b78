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
from gaissa.services.importers import (
    COMBINATIONS,
    ImportedRun,
    ImportReport,
    RunCombinationError,
    combine_runs,
    import_file,
    needs_inference_count,
    tool_spec_from_model,
)
from gaissa.services.importers.base import join_words
from gaissa.services.importers.combine import MEAN, SUM

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


def tools_needing_inference_count(phase: str, tools: list[CalculationTool]) -> set[int]:
    """Return the ids of the tools whose files, for the phase, contain run totals to divide by the number of inferences."""
    return {tool.id for tool in tools if needs_inference_count(tool_spec_from_model(tool, phase), phase)}


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


def suggested_choice(runs: list[dict[str, Any]]) -> tuple[list[int], str]:
    """Return the run indexes to preselect in a file and the combination for them.

    Rows that share the last row's run id are parts of one run (eco2ai writes one row per epoch
    with the tracker's id), so all of them are preselected to be summed. Otherwise the last run is
    preselected alone, with the mean as the combination.
    """
    if not runs:
        return [], MEAN
    last_id = runs[-1].get("run_id")
    if last_id:
        same_run = [index for index, run in enumerate(runs) if run.get("run_id") == last_id]
        if len(same_run) > 1:
            return same_run, SUM
    return [len(runs) - 1], MEAN


def offers_sum(runs: list[dict[str, Any]]) -> bool:
    """Tell whether summing rows of the file can give anything: some row has a run total."""
    return len(runs) > 1 and any(run.get("run_total_keys") for run in runs)


def choose_runs(draft: EvaluationDraft, selections: dict[int, list[int]],
                combinations: dict[int, str] | None = None) -> list[str]:
    """Fill the draft with the chosen run of each file, or with the mean or sum of several; return errors.

    `combinations` maps a file index to "mean" or "sum" and only matters where several runs are
    chosen. A file left out of it gets the mean.
    """
    files = (draft.provenance or {}).get("files", [])
    combinations = combinations or {}
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
        combination = combinations.get(index, MEAN)
        if combination not in COMBINATIONS:
            errors.append(f"{record['file_name']}: invalid combination {combination!r}. Choose mean or sum.")
            continue
        picked = [runs[i] for i in chosen]
        try:
            run = picked[0] if len(picked) == 1 else combine_runs(picked, combination)
        except RunCombinationError as exc:
            errors.append(f"{record['file_name']}: {exc}")
            continue
        if index == 0 and not draft.provenance.get("model_name_given"):
            draft.model_name = _model_name_from_runs(picked) or draft.model_name
        row = run.label if len(picked) == 1 else f"{run.label} ({', '.join(r.label for r in picked)})"
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
        if len(picked) > 1 and combination == SUM and draft.phase == "inference" and run.run_total_keys:
            notes.append(_inference_sum_note(record["file_name"], run, len(picked), draft.inference_count))
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
                        "chosen": {str(k): v for k, v in selections.items()},
                        "combined": {str(k): v for k, v in combinations.items()}}
    return []


def _inference_sum_note(file_name: str, run: ImportedRun, row_count: int, inference_count: int | None) -> str:
    """Warn that summed per-inference values are right only if the number of inferences covers every summed row."""
    keys = run.run_total_keys
    divisor = f"{inference_count:,} inferences" if inference_count else "number of inferences"
    return (f"{file_name}: the summed {join_words(keys)} {'is' if len(keys) == 1 else 'are'} the rows' totals divided "
            f"by the {divisor} entered on upload. That number must count the inferences of all {row_count} rows.")


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
