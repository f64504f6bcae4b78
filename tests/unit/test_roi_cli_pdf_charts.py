"""The `gaissa roi` command, the restricted PDF renderer and the SVG charts."""

import json
import math
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gaissa.services import charts, roi
from gaissa.services.pdf import STATIC_FOLDER, StaticOnlyFetcher, render_pdf
from tests.roi_support import make_catalogue

JSON_KEYS = {
    "baseline_cost_per_inference", "new_cost_per_inference", "total_baseline_cost", "total_new_cost",
    "total_savings", "roi", "infinite_roi", "break_even_inferences", "baseline_emissions_g", "new_emissions_g",
    "emissions_saved_g", "carbon_intensity_g_per_kwh", "carbon_intensity_year", "country",
}


def run_roi(runner, *arguments):
    base = ["gaissa", "roi", "--baseline-energy-j", "100", "--reduction", "0.3", "--energy-price", "0.2",
            "--implementation-cost", "1000"]
    return runner.invoke(args=base + list(arguments))


# ---------------------------------------------------------------- command line


def test_cli_json_matches_calculator(runner):
    result = run_roi(runner, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == JSON_KEYS
    assert data["total_new_cost"] == 1388.888888888889
    assert data["roi"] == -0.6
    assert data["infinite_roi"] == 0.4285714285714287
    assert data["break_even_inferences"] == 600_000_000
    assert data["carbon_intensity_g_per_kwh"] == 473.0065
    assert data["carbon_intensity_year"] == 2024
    assert data["country"] is None
    assert data["emissions_saved_g"] == pytest.approx(394172.08333333314, rel=1e-9)


def test_cli_text_output(runner):
    result = run_roi(runner, "--inferences", "5000000")
    assert result.exit_code == 0, result.output
    assert "For 5,000,000 inferences:" in result.output
    assert "Break-even point         600,000,000 inferences" in result.output
    assert "-97.28 %" in result.output
    assert "world average" in result.output


def test_cli_country(runner, app):
    make_catalogue()
    result = run_roi(runner, "--country", "esp", "--json", "--inferences", "1000")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["country"], data["carbon_intensity_g_per_kwh"], data["carbon_intensity_year"]) == ("ESP", 120.0, 2023)


def test_cli_unknown_country(runner):
    result = run_roi(runner, "--country", "XYZ")
    assert result.exit_code == 2
    assert "no carbon-intensity data for 'XYZ'" in result.output


def test_cli_unbounded_and_never(runner):
    full = runner.invoke(args=["gaissa", "roi", "--baseline-energy-j", "1800", "--reduction", "100%",
                               "--energy-price", "0.25", "--implementation-cost", "500", "--json"])
    data = json.loads(full.output)
    assert data["infinite_roi"] == "unbounded"
    assert data["break_even_inferences"] == 4_000_000

    worse = runner.invoke(args=["gaissa", "roi", "--baseline-energy-j", "1659", "--reduction", "-0.2646",
                                "--energy-price", "0.25", "--implementation-cost", "500", "--json"])
    data = json.loads(worse.output)
    assert data["break_even_inferences"] == "never"
    assert data["emissions_saved_g"] < 0


def test_cli_free_tactic_one_inference(runner):
    result = runner.invoke(args=["gaissa", "roi", "--baseline-energy-j", "100", "--reduction", "0.3",
                                 "--energy-price", "0.2", "--implementation-cost", "0", "--inferences", "1", "--json"])
    data = json.loads(result.output)
    assert data["roi"] == pytest.approx(0.4285714285714287)
    assert data["break_even_inferences"] == 0


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--reduction", "abc", "Enter a number such as 0.25"),
    ("--reduction", "1.5", "must be a fraction from -10 to 1"),
    ("--reduction", "30", "For 30 % write 0.30 or 30%."),
    ("--reduction", "-1100%", "must be a fraction from -10 to 1"),
    ("--energy-price", "250", "divide it by 1,000"),
    ("--energy-price", "0", "positive number of €/kWh"),
    ("--energy-price", "0,20", "Use a dot as the decimal separator: 0.20"),
    ("--implementation-cost", "-1", "0 € or more"),
    ("--implementation-cost", "1e15", "at most 1,000,000,000,000 €"),
    ("--baseline-energy-j", "0", "Zero means not measured"),
    ("--baseline-energy-j", "1e-300", "at least 1 × 10⁻⁹ J"),
    ("--baseline-energy-j", "1e15", "at most 1,000,000 J"),
    ("--inferences", "0", "whole number of at least 1"),
    ("--inferences", "12.5", "whole number of at least 1"),
    ("--inferences", "1e23", "at most 10¹⁵"),
])
def test_cli_rejects_bad_values(runner, option, value, message):
    arguments = {"--baseline-energy-j": "100", "--reduction": "0.3", "--energy-price": "0.2",
                 "--implementation-cost": "1000"}
    arguments[option] = value
    flat = [item for pair in arguments.items() for item in pair]
    result = runner.invoke(args=["gaissa", "roi", *flat])
    assert result.exit_code == 2
    assert f"Invalid value for '{option}'" in result.output
    assert message in result.output


def test_cli_accepts_thousands_separators(runner):
    result = run_roi(runner, "--implementation-cost", "€10,000", "--inferences", "5,000,000", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["break_even_inferences"] == 6_000_000_000


def test_cli_text_units_and_singular(runner):
    result = run_roi(runner, "--inferences", "1")
    assert result.exit_code == 0, result.output
    assert "For 1 inference:" in result.output
    assert "Emissions                0.0131 g -> 0.0092 g CO2e (saved: 0.00394 g)" in result.output

    large = run_roi(runner)
    assert "Emissions                1.31 t -> 919.73 kg CO2e (saved: 394.17 kg)" in large.output


def test_cli_huge_break_even_is_readable(runner):
    result = runner.invoke(args=["gaissa", "roi", "--baseline-energy-j", "1e-9", "--reduction", "1e-9",
                                 "--energy-price", "1e-300", "--implementation-cost", "1e12", "--inferences", "1"])
    assert result.exit_code == 0, result.output
    assert "Break-even point         3.60 × 10³³⁶ inferences" in result.output


def test_cli_increase_says_more(runner):
    result = run_roi(runner, "--reduction", "-20%")
    assert "(20 % more)" in result.output


# ---------------------------------------------------------------- PDF renderer


class _CountingHandler(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self):  # noqa: N802  (http.server's method name)
        type(self).hits += 1
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"body { color: red; }")

    def log_message(self, *args):
        pass


@pytest.fixture
def loopback_server():
    _CountingHandler.hits = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def test_pdf_never_fetches_other_urls(loopback_server):
    html = (f'<link rel="stylesheet" href="{loopback_server}/style.css">'
            f'<img src="{loopback_server}/image.png"><p>Report</p>')
    pdf = render_pdf(html, base_url="http://localhost/")
    assert pdf.startswith(b"%PDF")
    assert _CountingHandler.hits == 0


def test_pdf_static_path_resolution():
    fetcher = StaticOnlyFetcher()
    assert fetcher.static_path("http://any.host/static/css/site.css") == STATIC_FOLDER.resolve() / "css" / "site.css"
    assert fetcher.static_path("http://any.host/static/../config.py") is None
    assert fetcher.static_path("http://any.host/static/%2e%2e/config.py") is None
    assert fetcher.static_path("http://any.host/other/site.css") is None
    assert fetcher.static_path("file:///etc/passwd") is None
    assert fetcher.static_path(f"file://{STATIC_FOLDER}/css/site.css") is not None
    assert fetcher.static_path("ftp://host/static/css/site.css") is None


def test_pdf_fetcher_serves_static_and_data_uris():
    fetcher = StaticOnlyFetcher()
    response = fetcher.fetch("http://localhost/static/css/site.css")
    assert b"GAISSA" in response.read()
    assert response.content_type == "text/css"
    data = fetcher.fetch("data:text/plain;base64,aGVsbG8=")
    assert data.read() == b"hello"
    with pytest.raises(ValueError, match="static files"):
        fetcher.fetch("http://localhost/etc/passwd")


# ---------------------------------------------------------------- charts


def test_roi_chart_marks_break_even():
    result = roi.energy_roi(100, 0.3, 0.2, 1000)
    svg = str(charts.roi_evolution_chart(roi.roi_series(result), result.break_even))
    assert svg.startswith("<svg")
    assert "Break-even: 600,000,000" in svg
    assert "Number of inferences" in svg
    assert "<script" not in svg


def test_roi_chart_unbounded_series_has_message():
    result = roi.energy_roi(100, 1.0, 0.2, 0)
    svg = str(charts.roi_evolution_chart(roi.roi_series(result), result.break_even))
    assert "ROI is unbounded" in svg


def test_income_costs_chart():
    result = roi.energy_roi(100, 0.3, 0.2, 1000)
    svg = str(charts.income_costs_chart(result, roi.chart_span(result)))
    assert "Income: cost without the tactic" in svg
    assert "Break-even: 600,000,000" in svg
    never = roi.energy_roi(100, -0.2, 0.2, 1000)
    assert "Break-even" not in str(charts.income_costs_chart(never, roi.chart_span(never)))


def x_labels(svg: str) -> list[str]:
    axis = re.search(r'class="axis x[^"]*">(.*?)</g></g>', svg, re.DOTALL).group(1)
    return re.findall(r"<text[^>]*>([^<]*)</text>", axis)


def y_labels(svg: str) -> list[str]:
    axis = re.search(r'class="axis y[^"]*">(.*?)</g></g>', svg, re.DOTALL).group(1)
    return re.findall(r"<text[^>]*>([^<]*)</text>", axis)


def test_roi_chart_axes_are_few_and_cover_curve():
    result = roi.energy_roi(2.5, 1 - 1 / 3.7, 0.25, 500)
    svg = str(charts.roi_evolution_chart(roi.roi_series(result), result.break_even))
    assert len(x_labels(svg)) <= charts.MAX_TICKS
    assert x_labels(svg)[0] == "0"
    assert y_labels(svg)[0] == "-100 %"
    assert "0 %" in y_labels(svg)


def test_income_chart_x_axis_is_readable():
    result = roi.energy_roi(2.5, 1 - 1 / 3.7, 0.25, 500)
    svg = str(charts.income_costs_chart(result, roi.chart_span(result)))
    assert x_labels(svg) == ["0", "2B", "4B", "6B", "8B"]


def test_radar_bars_have_three_percent_labels():
    # Horizontal bars put the values on the x axis.
    svg = str(charts.radar_chart(["Energy", "Accuracy"], [2.5, 80], [0.68, 79.2]))
    assert x_labels(svg) == ["0 %", "50 %", "100 %"]


def test_never_pays_back_chart_shows_gap():
    result = roi.energy_roi(100, -0.2, 0.2, 1000)
    span = roi.chart_span(result)
    svg = str(charts.income_costs_chart(result, span))
    assert x_labels(svg)[-1] == "2B"
    # At the span the costs are more than ten times the implementation cost, so neither line is flat.
    assert span * result.new_cost_per_inference > 10 * result.implementation_cost


def test_charts_of_huge_break_even():
    result = roi.energy_roi(1e-300, 0.5, 0.2, 1000)
    span = roi.chart_span(result)
    assert "<svg" in str(charts.roi_evolution_chart(roi.roi_series(result), result.break_even))
    assert "Break-even" not in str(charts.income_costs_chart(result, span))


@pytest.mark.parametrize(("low", "high", "limit", "ticks"), [
    (0, 8e9, 5, [0, 2e9, 4e9, 6e9, 8e9]),
    (-100, -16.7, 6, [-100, -80, -60, -40, -20, 0]),
    (-100, 270, 6, [-100, 0, 100, 200, 300]),
    (0, 5e10, 5, [0, 2.5e10, 5e10]),
    (0, 100, 3, [0, 50, 100]),
])
def test_nice_ticks(low, high, limit, ticks):
    assert charts.nice_ticks(low, high, limit) == pytest.approx(ticks)


def test_radar_chart_escapes_labels():
    svg = str(charts.radar_chart(["<b>Energy</b>", "Time", "Size"], [100, 50, 10], [70, 40, 5]))
    assert "<b>Energy</b>" not in svg
    assert "&lt;b&gt;Energy&lt;/b&gt;" in svg


def test_radar_with_two_metrics_draws_bars():
    svg = str(charts.radar_chart(["Energy", "Time"], [100, 0], [70, 0]))
    assert svg.startswith("<svg")


@pytest.mark.parametrize(("value", "text"), [
    (0, "0"), (1200, "1.2K"), (24_000_000_000, "24B"), (0.25, "0.25"), (-2_500_000, "-2.5M"), (math.inf, ""),
    (4e16, "4e16"),
])
def test_abbreviate(value, text):
    assert charts.abbreviate(value) == text
