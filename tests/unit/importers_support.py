"""Helpers shared by the importer tests: case files and ToolSpecs built from the default catalogue."""

from pathlib import Path

from gaissa.services import catalogue_defaults
from gaissa.services.importers import ColumnMapping, ToolSpec

DATA = Path(__file__).resolve().parent.parent / "data"
CASES = DATA / "cases"
CODECARBON = DATA / "codecarbon"

METRIC_UNITS = {metric.key: metric.unit for metric in catalogue_defaults.METRICS}

# An eco2ai file in the current layout: one run started with start(), then a training whose three
# epochs share the tracker's id, as Tracker.new_epoch writes them.
ECO2AI_RUN = "6f1c2a9e-4b7d-4e0a-9c3f-1d2e3f4a5b6c"
ECO2AI_EPOCHS = (
    "id,project_name,experiment_description,epoch,start_time,duration(s),power_consumption(kWh),CO2_emissions(kg),"
    "CPU_name,GPU_name,OS,region/country,cost\n"
    "0a0b0c0d-1111-4222-8333-444455556666,mnist,warm-up,N/A,2024-12-01 09:50:00,30.0,0.0005,0.0002,"
    '"Generic CPU/1 device(s), TDP:65",NVIDIA A100 1 device(s),Linux,Germany,0\n'
    f'{ECO2AI_RUN},mnist,cnn,"epoch: 1, loss: 0.61, ",2024-12-01 10:00:00,60.5,0.0021,0.00084,'
    '"Generic CPU/1 device(s), TDP:65",NVIDIA A100 1 device(s),Linux,Germany,0\n'
    f'{ECO2AI_RUN},mnist,cnn,"epoch: 2, loss: 0.32, ",2024-12-01 10:01:00,59.5,0.0019,0.00076,'
    '"Generic CPU/1 device(s), TDP:65",NVIDIA A100 1 device(s),Linux,Germany,0\n'
    f'{ECO2AI_RUN},mnist,cnn,"epoch: 3, loss: 0.21, ",2024-12-01 10:02:00,61.0,0.0020,0.0008,'
    '"Generic CPU/1 device(s), TDP:65",NVIDIA A100 1 device(s),Linux,Germany,0\n'
).encode()


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
            per_inference=mapping.per_inference,
        )
        for mapping in tool.mappings
        if mapping.phase == phase
    )
    return ToolSpec(tool.name, tool.file_format, mappings)


def case_bytes(name: str) -> bytes:
    return (CASES / name).read_bytes()
