"""Helpers shared by the importer tests: case files and ToolSpecs built from the default catalogue."""

from pathlib import Path

from gaissa.services import catalogue_defaults
from gaissa.services.importers import ColumnMapping, ToolSpec

DATA = Path(__file__).resolve().parent.parent / "data"
CASES = DATA / "cases"
CODECARBON = DATA / "codecarbon"

METRIC_UNITS = {metric.key: metric.unit for metric in catalogue_defaults.METRICS}


def default_spec(tool_name: str, phase: str) -> ToolSpec:
    """Return the ToolSpec of a seeded tool for one phase, as the upload page builds it from the database."""
    tool = next(tool for tool in catalogue_defaults.TOOLS if tool.name == tool_name)
    mappings = tuple(
        ColumnMapping(
            column=mapping.column,
            target="metric" if mapping.metric else "info",
            key=mapping.metric or mapping.field,
            column_unit=mapping.column_unit,
            metric_unit=METRIC_UNITS.get(mapping.metric) if mapping.metric else None,
        )
        for mapping in tool.mappings
        if mapping.phase == phase
    )
    return ToolSpec(tool.name, tool.file_format, mappings)


def case_bytes(name: str) -> bytes:
    return (CASES / name).read_bytes()
