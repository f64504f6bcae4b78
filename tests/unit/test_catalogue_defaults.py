"""The default boundaries are the documented quantiles of the shipped Hugging Face population."""

import csv
from pathlib import Path

import numpy as np
import pytest

from gaissa.services import catalogue_defaults as defaults
from gaissa.services.rating import check_boundaries

HF_MODELS = Path(defaults.__file__).resolve().parent.parent / "data" / "hf-co2-models.csv"


def positive_column(name):
    with HF_MODELS.open(encoding="utf-8") as handle:
        values = [float(row[name]) for row in csv.DictReader(handle) if row[name] not in ("", "nan")]
    return np.array([value for value in values if value > 0])


@pytest.mark.parametrize(
    ("column", "quantiles", "count"),
    [
        ("co2_eq_emissions", defaults.CO2_QUANTILES_G, 1418),
        ("size_efficency", defaults.SIZE_EFFICIENCY_QUANTILES, 1306),
        ("datasets_size_efficency", defaults.DATASET_SIZE_EFFICIENCY_QUANTILES, 65),
        ("downloads", defaults.DOWNLOADS_QUANTILES, 1281),
        ("performance_score", defaults.PERFORMANCE_SCORE_QUANTILES, 1043),
    ],
)
def test_quantiles_recomputed_from_csv(column, quantiles, count):
    values = positive_column(column)
    assert len(values) == count
    assert np.quantile(values, [0.2, 0.4, 0.6, 0.8]).tolist() == pytest.approx(list(quantiles), rel=1e-12)


def test_energy_boundaries_are_co2_over_world_intensity():
    energy = next(metric for metric in defaults.METRICS if metric.key == "energy")
    expected = [q / 473.0065 for q in defaults.CO2_QUANTILES_G]
    assert list(energy.boundaries) == pytest.approx(expected, rel=1e-9)


def test_every_default_metric_has_valid_boundaries_and_weights():
    for metric in defaults.METRICS:
        check_boundaries(metric.direction, metric.boundaries)
        assert metric.weight >= 0
    for phase in ("training", "inference"):
        assert sum(m.weight for m in defaults.METRICS if m.phase == phase) == pytest.approx(1.0)


def test_higher_is_better_boundaries_start_from_top_quantile():
    downloads = next(metric for metric in defaults.METRICS if metric.key == "downloads")
    assert downloads.boundaries == (17.0, 7.0, 4.0, 3.0)
