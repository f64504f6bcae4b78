"""Generic CSV and XLSX files read through a tool's column mappings."""

import io
import zipfile

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from gaissa.services.importers import ColumnMapping, ToolSpec, import_file, needs_inference_count, tabular
from gaissa.services.importers.base import NO_ENERGY_ADVICE
from gaissa.services.importers.dispatch import run_total_columns
from tests.unit.importers_support import default_spec

PROBE = default_spec("GAISSALabel model probe", "inference")

ENERGY_TOOL = ToolSpec(
    "Lab meter",
    "tabular",
    (
        ColumnMapping("energy_total", "metric", "energy", "kWh", "kWh"),
        ColumnMapping("co2", "metric", "co2_eq_emissions", "kg", "g"),
        ColumnMapping("wall_time", "metric", "duration", "s", "h"),
        ColumnMapping("site", "info", "country", None, None),
    ),
)


def xlsx_bytes(rows: list[list], extra_sheet: bool = False) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    if extra_sheet:
        workbook.create_sheet("other").append(["energy_total"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_probe_csv_converts_units():
    data = b"parameters,file_size_bytes,flops\n124439808,497759232,2.2e10\n"
    report = import_file(data, "probe.csv", PROBE, "inference")

    assert report.ok
    run = report.runs[0]
    assert run.label == "line 2"
    assert run.values == {"parameters": 124439808.0, "file_size": 497.759232, "flops": 22.0}
    assert run.energy_kwh is None
    assert run.notes == []


def test_probe_needs_no_inference_count():
    data = b"parameters,file_size_bytes,flops\n1000,2000000,1e9\n"
    report = import_file(data, "probe.csv", PROBE, "inference", None)

    assert report.ok
    assert report.runs[0].values["flops"] == 1.0


def test_semicolon_and_decimal_comma():
    data = "parameters;file_size_bytes;flops\n1000;2500000;3,5e9\n".encode()
    report = import_file(data, "probe.csv", PROBE, "inference")

    assert report.ok, report.errors
    assert report.runs[0].values == {"parameters": 1000.0, "file_size": 2.5, "flops": 3.5}


def test_bom_and_windows_1252():
    data = "\ufeffenergy_total,co2,wall_time,site\n2.5,0.5,3600,Espa\u00f1a\n".encode("utf-8")
    report = import_file(data, "meter.csv", ENERGY_TOOL, "training")
    assert report.runs[0].values["energy"] == 2.5
    assert report.runs[0].info == {"country": "Espa\u00f1a"}

    data = "energy_total,co2,wall_time,site\n2.5,0.5,3600,Espa\u00f1a\n".encode("cp1252")
    report = import_file(data, "meter.csv", ENERGY_TOOL, "training")
    assert report.runs[0].info == {"country": "Espa\u00f1a"}


def test_each_row_is_a_run_with_totals():
    data = b"energy_total,co2,wall_time,site\n2.5,0.5,7200,ESP\n1.0,0.2,3600,fra\n"
    report = import_file(data, "meter.csv", ENERGY_TOOL, "training")

    assert [run.line for run in report.runs] == [2, 3]
    first, second = report.runs
    assert first.values == {"energy": 2.5, "co2_eq_emissions": 500.0, "duration": 2.0}
    assert first.energy_kwh == 2.5
    assert first.emissions_kg == 0.5
    assert first.duration_s == 7200.0
    assert first.country_code == "ESP"
    assert second.country_code == "FRA"


def test_values_with_their_own_unit():
    data = b"energy_total,co2,wall_time\n2500 Wh,500 g,2 h\n"
    report = import_file(data, "meter.csv", ENERGY_TOOL, "training")

    run = report.runs[0]
    assert run.values == {"energy": 2.5, "co2_eq_emissions": 500.0, "duration": 2.0}
    assert run.duration_s == 7200.0


def test_generic_inference_divides_totals():
    tool = ToolSpec("Meter", "tabular", (
        ColumnMapping("joules", "metric", "energy_per_inference", "J", "J"),
        ColumnMapping("seconds", "metric", "latency", "s", "ms"),
        ColumnMapping("params", "metric", "parameters", "count", "count"),
    ))
    data = b"joules,seconds,params\n1000,20,5000\n"
    report = import_file(data, "meter.csv", tool, "inference", 100)

    run = report.runs[0]
    assert run.values == {"energy_per_inference": 10.0, "latency": 200.0, "parameters": 5000.0}
    assert run.energy_kwh == pytest.approx(1000 / 3.6e6)
    assert run.duration_s == 20.0
    assert "joules and seconds are divided by 100 inferences." in run.notes


PER_REQUEST_TOOL = ToolSpec("Load tester", "tabular", (
    ColumnMapping("energy_kwh", "metric", "energy_per_inference", "kWh", "J"),
    ColumnMapping("latency_ms", "metric", "latency", "ms", "ms", per_inference=True),
))


def test_per_inference_column_not_divided():
    data = b"energy_kwh,latency_ms\n0.5,12.5\n0.25,14\n"
    report = import_file(data, "load.csv", PER_REQUEST_TOOL, "inference", 1000)

    assert report.ok
    run = report.runs[0]
    assert run.values["energy_per_inference"] == pytest.approx(0.5 * 3.6e6 / 1000, rel=1e-12)
    assert run.values["latency"] == 12.5
    assert report.runs[1].values["latency"] == 14.0
    assert run.energy_kwh == 0.5
    # A per-inference latency is no run total, so it must not become the run's duration.
    assert run.duration_s is None
    assert run.run_total_keys == ["energy_per_inference"]
    assert "energy_kwh is divided by 1,000 inferences." in run.notes
    assert "latency_ms is already per inference, so it is not divided." in run.notes


def test_per_inference_column_not_a_run_total():
    assert run_total_columns(PER_REQUEST_TOOL, "inference") == ["energy_kwh"]
    assert needs_inference_count(PER_REQUEST_TOOL, "inference")


def test_all_per_inference_needs_no_count():
    tool = ToolSpec("Request meter", "tabular", (
        ColumnMapping("energy_per_request_j", "metric", "energy_per_inference", "J", "J", per_inference=True),
        ColumnMapping("latency_ms", "metric", "latency", "ms", "ms", per_inference=True),
    ))
    report = import_file(b"energy_per_request_j,latency_ms\n3.2,40\n", "requests.csv", tool, "inference", None)

    assert not needs_inference_count(tool, "inference")
    assert report.ok
    run = report.runs[0]
    assert run.values == {"energy_per_inference": 3.2, "latency": 40.0}
    assert run.run_total_keys == []
    assert run.energy_kwh is None
    assert run.notes == ["energy_per_request_j and latency_ms are already per inference, so they are not divided."]


def test_per_inference_ignored_for_training():
    tool = ToolSpec("Meter", "tabular", (ColumnMapping("joules", "metric", "energy", "J", "kWh", per_inference=True),))
    report = import_file(b"joules\n3600000\n", "meter.csv", tool, "training")

    run = report.runs[0]
    assert run.values == {"energy": 1.0}
    assert run.energy_kwh == 1.0
    assert run.run_total_keys == ["energy"]
    assert run.notes == []


def test_row_errors_have_own_messages():
    data = (
        b"energy_total,co2,wall_time\n"
        b"-1.5,0.5,10\n"
        b"nan,0.5,10\n"
        b"0,0.5,51.4\n"
        b"abc,0.5,10\n"
        b",,\n"
        b"2,,\n"
        b"3,0,0\n"
    )
    report = import_file(data, "meter.csv", ENERGY_TOOL, "training")

    assert [error.message for error in report.errors] == [
        "line 2: energy_total is -1.5 kWh, below zero",
        "line 3: energy_total is NaN",
        "line 4: no energy measured (0 kWh over 51 s)" + NO_ENERGY_ADVICE,
        "line 5: energy_total is 'abc', not a number",
    ]
    assert [run.line for run in report.runs] == [7, 8]
    assert report.runs[0].values == {"energy": 2.0}
    zero = report.runs[1]
    assert zero.values == {"energy": 3.0}
    assert "co2 is 0 kg, which means not measured, so co2_eq_emissions is left out." in zero.notes


def test_row_without_mapped_value():
    data = b"energy_total,co2,wall_time,site\n,,,ESP\n"
    report = import_file(data, "meter.csv", ENERGY_TOOL, "training")

    assert not report.ok
    assert report.errors[0].message == "line 2: none of the mapped columns (energy_total, co2, wall_time) has a value"


def test_field_count_mismatch():
    data = b"energy_total,co2,wall_time\n1,2,3,4\n1,2\n1,2,3,\n"
    report = import_file(data, "meter.csv", ENERGY_TOOL, "training")

    assert [error.message for error in report.errors] == [
        "line 2: 4 fields, header has 3; two rows may be glued together by a missing line break",
        "line 3: 2 fields, header has 3; the line looks cut off, as when the tool was stopped while writing it. "
        "Remove or complete it",
    ]
    assert [run.line for run in report.runs] == [4]


def test_physical_lines_with_blank_and_quoted_lines():
    data = b'energy_total,site\n\n1.5,"two\nlines"\n2.5,ESP\n'
    tool = ToolSpec("Meter", "tabular", (
        ColumnMapping("energy_total", "metric", "energy", "kWh", "kWh"),
        ColumnMapping("site", "info", "country", None, None),
    ))
    report = import_file(data, "meter.csv", tool, "training")

    assert [run.line for run in report.runs] == [3, 5]
    assert report.runs[0].info == {"country": "two\nlines"}


def test_missing_columns_file_error():
    report = import_file(b"model,accuracy\nbert,0.9\n", "scores.csv", PROBE, "inference")

    assert not report.ok
    message = report.file_errors[0].message
    assert message.startswith("none of the columns of GAISSALabel model probe (parameters, file_size_bytes, flops)")
    assert "model, accuracy" in message


def test_some_missing_columns_noted():
    report = import_file(b"parameters\n1000\n", "probe.csv", PROBE, "inference")

    assert report.ok
    assert "The file has no file_size_bytes column, so file_size is left out." in report.notes
    assert "The file has no flops column, so flops is left out." in report.notes


def test_duplicate_mapped_column_rejected():
    report = import_file(b"parameters,parameters\n1,2\n", "probe.csv", PROBE, "inference")

    assert not report.ok
    assert "parameters appears more than once" in report.file_errors[0].message


def test_empty_header_cell_does_not_shift():
    data = b"parameters,,flops\n1000,ignored,2e9\n"
    report = import_file(data, "probe.csv", PROBE, "inference")

    run = report.runs[0]
    assert run.values == {"parameters": 1000.0, "flops": 2.0}
    assert run.cells["column 2"] == "ignored"


def test_xlsx_column_beyond_z():
    header = [f"unused_{index}" for index in range(1, 27)] + ["energy_total", "co2", "wall_time", "site"]
    values = [index for index in range(1, 27)] + [4.25, 0.75, 1800, "DEU"]
    data = xlsx_bytes([header, values], extra_sheet=True)
    assert get_column_letter(header.index("energy_total") + 1) == "AA"

    report = import_file(data, "meter.xlsx", ENERGY_TOOL, "training")

    assert report.ok, report.errors
    run = report.runs[0]
    assert run.line == 2
    assert run.values == {"energy": 4.25, "co2_eq_emissions": 750.0, "duration": 0.5}
    assert run.info == {"country": "DEU"}
    assert run.country_code == "DEU"


def test_xlsx_first_sheet_with_leading_blank_rows():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet["B3"] = "parameters"
    sheet["C3"] = "flops"
    sheet["B4"] = 5000
    sheet["C4"] = 4e9
    sheet["B6"] = 7000
    sheet["C6"] = 1e9
    buffer = io.BytesIO()
    workbook.save(buffer)

    report = import_file(buffer.getvalue(), "probe.xlsx", PROBE, "inference")

    assert [run.line for run in report.runs] == [4, 6]
    assert report.runs[0].values == {"parameters": 5000.0, "flops": 4.0}
    assert report.runs[0].cells["column A"] == ""


def test_xlsx_extra_cells_beyond_header():
    data = xlsx_bytes([["parameters", "flops"], [1000, 1e9, "stray"]])
    report = import_file(data, "probe.xlsx", PROBE, "inference")

    assert report.errors[0].message.startswith("line 2: 3 fields, header has 2")


def test_xlsx_header_only():
    report = import_file(xlsx_bytes([["parameters", "flops"]]), "probe.xlsx", PROBE, "inference")

    assert not report.ok
    assert report.file_errors[0].message.startswith("no data rows")


def test_unreadable_binary_files():
    xls = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100
    assert "Excel 97–2003" in import_file(xls, "old.xls", PROBE, "inference").file_errors[0].message

    ods = io.BytesIO()
    with zipfile.ZipFile(ods, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    assert "OpenDocument" in import_file(ods.getvalue(), "sheet.ods", PROBE, "inference").file_errors[0].message

    other_zip = io.BytesIO()
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("hello.txt", "hi")
    message = import_file(other_zip.getvalue(), "x.xlsx", PROBE, "inference").file_errors[0].message
    assert "not a readable XLSX workbook" in message

    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    assert "binary file" in import_file(png, "chart.png", PROBE, "inference").file_errors[0].message


def test_utf16_csv_from_excel():
    data = "parameters\tflops\r\n1000\t2e9\r\n".encode("utf-16")
    report = import_file(data, "probe.txt", PROBE, "inference")

    assert report.runs[0].values == {"parameters": 1000.0, "flops": 2.0}


def test_row_limit(monkeypatch):
    monkeypatch.setattr(tabular, "MAX_DATA_ROWS", 3)
    data = b"parameters\n1\n2\n3\n4\n"
    report = import_file(data, "probe.csv", PROBE, "inference")

    assert report.file_errors[0].message == "the file has more than 3 data rows; split it into smaller files."


def test_sniff_delimiter():
    assert tabular.sniff_delimiter("a,b,c") == ","
    assert tabular.sniff_delimiter("a;b;c") == ";"
    assert tabular.sniff_delimiter("a\tb") == "\t"
    assert tabular.sniff_delimiter("a|b|c") == "|"
    assert tabular.sniff_delimiter('"x;y",b') == ","
    assert tabular.sniff_delimiter("single") == ","
