"""Catalogue curation rules: names, lengths, uniqueness, compatibility and protected deletes."""

import pytest
from sqlalchemy import select

from gaissa.extensions import db
from gaissa.models.roi import ExpectedReduction, ModelArchitecture, RoiMetric, Tactic, TacticSource
from gaissa.services import roi_admin, roi_catalogue
from gaissa.services.roi_admin import CatalogueError
from tests.roi_support import make_catalogue


@pytest.fixture
def cat(app):
    return make_catalogue()


def rejected_errors(function, *args) -> dict[str, str]:
    with pytest.raises(CatalogueError) as caught:
        function(*args)
    return caught.value.errors


def test_architecture_name_rules(cat):
    assert roi_admin.save_architecture({"name": "A" * 255}).information is None
    assert "maximum is 255" in rejected_errors(roi_admin.save_architecture, {"name": "A" * 256})["name"]
    assert "Enter" in rejected_errors(roi_admin.save_architecture, {"name": "  "})["name"]
    assert "already exists" in rejected_errors(roi_admin.save_architecture, {"name": "resnet50"})["name"]


def test_architecture_update_keeps_own_name(cat):
    saved = roi_admin.save_architecture({"name": "ResNet50", "information": "updated"}, cat.architecture)
    assert saved.information == "updated"


def test_source_rules(cat):
    errors = rejected_errors(roi_admin.save_source, {"title": "", "url": "not-a-valid-url"})
    assert set(errors) == {"title", "url"}
    for url in ("https://arxiv.org/abs/1234.5678", "http://example.com", "https://www.nature.com/articles/nature12345"):
        assert roi_admin.save_source({"title": "Paper", "url": url}).url == url


def test_metric_flags_and_bounds_stored(cat):
    metric = roi_admin.save_metric({"name": "Memory", "unit": "MB", "higher_is_better": True,
                                    "min_value": 10.54321, "max_value": 99.9})
    assert (metric.min_value, metric.max_value, metric.higher_is_better, metric.is_energy) == (10.54321, 99.9, True, False)


def test_energy_metric_unit_is_joules(cat):
    assert "'J'" in rejected_errors(roi_admin.save_metric, {"name": "Power", "unit": "W", "is_energy": True})["unit"]
    assert roi_admin.save_metric({"name": "Energy 2", "unit": "J", "is_energy": True}).is_energy


def test_tactic_update_replaces_relations(cat):
    data = {"name": "Weight Pruning", "stage_id": cat.stage.id, "source_ids": [cat.source.id],
            "architecture_ids": [cat.other_architecture.id], "metric_ids": [cat.time.id]}
    tactic = roi_admin.save_tactic(data, cat.tactic)
    assert tactic.architectures == [cat.other_architecture]
    assert tactic.metrics == [cat.time]


def test_tactic_name_unique(cat):
    data = {"name": "weight pruning", "stage_id": cat.stage.id, "source_ids": [cat.source.id],
            "architecture_ids": [cat.architecture.id], "metric_ids": [cat.energy.id]}
    assert "already exists" in rejected_errors(roi_admin.save_tactic, data)["name"]


def test_option_reuse_across_tactics(cat):
    data = {"name": "Other tactic", "stage_id": cat.stage.id, "source_ids": [cat.source.id],
            "architecture_ids": [cat.architecture.id], "metric_ids": [cat.energy.id]}
    other = roi_admin.save_tactic(data)
    option = roi_admin.save_option({"tactic_id": other.id, "name": "sparsity", "value": "0.5"})
    assert option.label == "sparsity: 0.5"
    assert "already has" in rejected_errors(roi_admin.save_option, {"tactic_id": cat.tactic.id, "name": "sparsity",
                                                            "value": "0.5"})["value"]


@pytest.mark.parametrize("value", [0.0, 0.00001, 0.5, 0.99, 1.0, -0.1])
def test_reduction_values_stored_exactly(cat, value):
    db.session.delete(roi_catalogue.reduction_for(cat.architecture.id, cat.option.id, cat.energy.id))
    db.session.flush()
    reduction = roi_admin.save_reduction({"option_id": cat.option.id, "architecture_id": cat.architecture.id,
                                          "metric_id": cat.energy.id, "value": value, "source_id": cat.source.id})
    assert reduction.value == value


def test_reduction_above_one_rejected(cat):
    # A reduction above 100 % would make energy, time or size negative.
    errors = rejected_errors(roi_admin.save_reduction, {"option_id": cat.option.id, "architecture_id": cat.architecture.id,
                                                "metric_id": cat.energy.id, "value": 2.5})
    assert "between -1000 % and 100 %" in errors["percent"]


def test_delete_tactic_keeps_partners(cat):
    roi_admin.delete_row(cat.tactic)
    assert db.session.scalar(select(Tactic).where(Tactic.name == "Weight Pruning")) is None
    assert db.session.scalar(select(TacticSource).where(TacticSource.title == "Test Research Paper")) is not None
    assert db.session.scalar(select(ModelArchitecture).where(ModelArchitecture.name == "ResNet50")) is not None
    assert db.session.scalar(select(RoiMetric).where(RoiMetric.name == "Energy Consumption")) is not None
    assert list(db.session.scalars(select(ExpectedReduction))) == []


def test_delete_architecture_removes_its_reductions(cat):
    roi_admin.delete_row(cat.architecture)
    assert list(db.session.scalars(select(ExpectedReduction))) == []
    assert db.session.scalar(select(Tactic)).architectures == []


@pytest.mark.parametrize("attribute", ["architecture", "option", "energy", "tactic"])
def test_delete_in_use_refused(cat, attribute):
    roi_catalogue.create_analysis(cat.architecture.id, cat.option.id, cat.values(), None)
    errors = rejected_errors(roi_admin.delete_row, getattr(cat, attribute))
    assert "delete those analyses first" in errors["form"]


def test_delete_cited_source_refused(cat):
    assert "cited by 2 expected reductions;" in rejected_errors(roi_admin.delete_row, cat.source)["form"]
