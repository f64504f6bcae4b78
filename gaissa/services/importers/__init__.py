"""File importers for GAISSALabel's "from files" flow: CodeCarbon, generic CSV/XLSX, carbontracker, eco2ai.

Pure functions, no Flask and no database: `import_file(data, file_name, tool, phase)` returns an
ImportReport with the runs found, one message per unusable row and the whole-file errors.
`combine_runs` turns the runs a user selects into one, as their mean or their sum.
"""

from gaissa.services.importers.base import (
    ColumnMapping,
    FileImportError,
    ImportedRun,
    ImportReport,
    RowError,
    ToolSpec,
)
from gaissa.services.importers.combine import (
    COMBINATIONS,
    RunCombinationError,
    combine_runs,
    mean_of_runs,
    sum_of_runs,
)
from gaissa.services.importers.dispatch import (
    PARSERS,
    import_file,
    needs_inference_count,
    tool_spec_from_model,
)

__all__ = [
    "COMBINATIONS",
    "ColumnMapping",
    "FileImportError",
    "ImportReport",
    "ImportedRun",
    "PARSERS",
    "RowError",
    "RunCombinationError",
    "ToolSpec",
    "combine_runs",
    "import_file",
    "mean_of_runs",
    "needs_inference_count",
    "sum_of_runs",
    "tool_spec_from_model",
]
