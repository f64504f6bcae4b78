"""Rating-scheme administration services: drafts, differences, regrading, calibration and the scale preview."""

import numpy as np
import pytest
from sqlalchemy import select

from gaissa.extensions import db
from gaissa.models import Evaluation, Metric, MetricValue, MLModel, RatingScheme
from gaissa.services import metric_admin, scheme_admin, schemes
from gaissa.services.rating import rate


def metric(key: str) -> Metric:
    return db.session.scalar(select(Metric).where(Metric.key == key))


def evaluation_with(phase: str, values: dict[str, tuple[float, str]], hidden: bool = False) -> Evaluation:
    """An evaluation stored directly, rated under the current scheme, with values in the given units."""
    scheme = schemes.current_scheme(phase)
    model = MLModel(name="Unit-test model")
    evaluation = Evaluation(model=model, phase=phase, scheme=scheme, hidden=hidden)
    for key, (value, unit) in values.items():
        evaluation.values.append(MetricValue(metric=metric(key), metric_key=key, value=value, unit=unit))
    db.session.add(evaluation)
    db.session.flush()
    return evaluation


def test_draft_is_a_copy_of_the_latest_version(app):
    published = scheme_admin.latest_published("training")
    draft = scheme_admin.get_or_create_draft("training")
    assert draft.version is None
    assert draft.status == "draft"
    assert [(e.metric_key, e.weight, e.boundaries) for e in draft.entries] == \
           [(e.metric_key, e.weight, e.boundaries) for e in published.entries]
    assert {e.id for e in draft.entries}.isdisjoint({e.id for e in published.entries})
    assert scheme_admin.get_or_create_draft("training") is draft
    assert scheme_admin.diff(published, draft) == []


def test_concurrent_drafts_share_one(app, monkeypatch):
    """The second manager read "no draft" before the first one's draft existed; the unique index settles it."""
    first = scheme_admin.get_or_create_draft("inference")
    real_draft_of = scheme_admin.draft_of
    calls = []

    def draft_of_read_too_early(phase):
        calls.append(phase)
        return None if len(calls) == 1 else real_draft_of(phase)

    monkeypatch.setattr(scheme_admin, "draft_of", draft_of_read_too_early)
    second = scheme_admin.get_or_create_draft("inference")
    assert second is first
    assert len(calls) == 2
    drafts = db.session.scalars(select(RatingScheme).where(RatingScheme.phase == "inference",
                                                           RatingScheme.status == "draft")).all()
    assert drafts == [first]
    assert len(first.entries) == len(scheme_admin.latest_published("inference").entries)


def test_set_entry_without_change_writes_nothing(app):
    latency = metric("latency")
    assert scheme_admin.set_entry(latency, 0.2, (10, 50, 200, 1000)) is None
    assert scheme_admin.draft_of("inference") is None


def test_set_entry_changes_only_the_draft(app):
    latency = metric("latency")
    entry = scheme_admin.set_entry(latency, 0.3, (5, 50, 200, 1000))
    assert entry.scheme.status == "draft"
    assert scheme_admin.published_entry("inference", "latency").boundaries == (10, 50, 200, 1000)
    changes = scheme_admin.diff(scheme_admin.latest_published("inference"), scheme_admin.draft_of("inference"))
    assert len(changes) == 1
    assert changes[0].kind == "changed"
    assert [(f.name, f.old, f.new) for f in changes[0].fields] == [("weight", 0.2, 0.3), ("b1", 10.0, 5.0)]


def test_diff_reports_added_and_removed(app):
    scheme_admin.remove_entry("inference", "flops")
    new = Metric(key="tokens", phase="inference", name="Tokens", unit="count", direction="lower_is_better")
    db.session.add(new)
    db.session.flush()
    scheme_admin.set_entry(new, 0.1, (1, 2, 3, 4))
    changes = {c.metric_key: c.kind for c in
               scheme_admin.diff(scheme_admin.latest_published("inference"), scheme_admin.draft_of("inference"))}
    assert changes == {"flops": "removed", "tokens": "added"}


def test_draft_problems(app):
    draft = scheme_admin.get_or_create_draft("inference")
    entry = next(e for e in draft.entries if e.metric_key == "latency")
    entry.b1 = 9.0
    assert scheme_admin.draft_problems(draft) == []
    entry.b2 = 5.0
    entry.weight = -1.0
    problems = scheme_admin.draft_problems(draft)
    assert any("Latency: boundaries of a lower-is-better metric must increase strictly" in p for p in problems)
    assert any("Latency: the weight must be a number ≥ 0; got -1.0." in p for p in problems)


def test_unchanged_draft_cannot_be_published(app):
    draft = scheme_admin.get_or_create_draft("inference")

    problems = scheme_admin.draft_problems(draft)

    assert problems == ["The draft is the same as v1, so publishing it would only copy v1. Change a weight or "
                        "boundary first, or discard the draft."]
    with pytest.raises(scheme_admin.SchemeError, match="The draft is the same as v1"):
        scheme_admin.publish("inference", "Nothing changed", None)
    assert scheme_admin.latest_published("inference").version == 1


def test_regrade_under_converts_units_and_keeps_stored_grades(app):
    evaluation = evaluation_with("inference", {"latency": (0.03, "s"), "energy_per_inference": (20.0, "J")})
    evaluation.overall_grade = "E"
    result = scheme_admin.regrade_under(evaluation, scheme_admin.latest_published("inference"))
    assert result.metrics["latency"].letter == "B"  # 30 ms
    assert result.metrics["energy_per_inference"].letter == "C"
    expected = rate(schemes.rules_for(scheme_admin.latest_published("inference")),
                    {"latency": 30.0, "energy_per_inference": 20.0})
    assert result.overall_letter == expected.overall_letter
    assert evaluation.overall_grade == "E"


def test_regrade_under_skips_unconvertible_values(app):
    evaluation = evaluation_with("inference", {"latency": (3.0, "kg")})
    result = scheme_admin.regrade_under(evaluation, scheme_admin.latest_published("inference"))
    assert result.metrics["latency"].letter is None
    assert result.overall_letter is None


@pytest.mark.parametrize("values", [
    list(range(10)),
    [0.5, 1e-3, 42.0, 7.0, 7.0, 3.3, 1000.0, 18.0, 2.5, 9.0, 11.0],
    list(np.random.default_rng(7).lognormal(mean=2.0, sigma=1.5, size=137)),
])
def test_calibration_matches_numpy_quantiles(app, values):
    for value in values:
        evaluation_with("inference", {"latency": (float(value), "ms")})
    calibration = scheme_admin.calibrate(metric("latency"))
    assert calibration.count == len(values)
    assert calibration.boundaries == pytest.approx(tuple(np.quantile(values, [0.2, 0.4, 0.6, 0.8])), rel=1e-5)


def test_calibration_converts_and_skips_hidden_values(app):
    for value in range(1, 11):
        evaluation_with("inference", {"latency": (value / 1000, "s")})
    evaluation_with("inference", {"latency": (1e6, "ms")}, hidden=True)
    calibration = scheme_admin.calibrate(metric("latency"))
    assert calibration.count == 10
    assert calibration.boundaries == pytest.approx(tuple(np.quantile(range(1, 11), [0.2, 0.4, 0.6, 0.8])))


def test_calibration_below_ten_values(app):
    evaluation_with("inference", {"latency": (5.0, "ms")})
    calibration = scheme_admin.calibrate(metric("latency"))
    assert calibration.boundaries is None
    assert calibration.message.startswith("Latency has 1 stored value; calibration needs at least 10.")


@pytest.mark.parametrize(("name", "key"), [
    ("Training energy", "training_energy"),
    ("Énergie — inférence", "energie_inference"),
    ("__x__", "x"),
    ("a" * 80, "a" * 64),
    ("!!!", ""),
    ("Ünïcödé 2.0", "unicode_2_0"),
])
def test_slugify_key(name, key):
    assert metric_admin.slugify_key(name) == key


def test_preview_scale_segments():
    preview = metric_admin.preview_scale("lower_is_better", ["1", "2.5", "10", "1e3"], "kWh")
    assert [(s.letter, s.text) for s in preview.segments] == [
        ("A", "≤ 1 kWh"), ("B", "≤ 2.5 kWh"), ("C", "≤ 10 kWh"), ("D", "≤ 1,000 kWh"), ("E", "> 1,000 kWh")]
    assert metric_admin.preview_scale("higher_is_better", ["4", "3", "2", "1"], "count").segments[4].text == "< 1"
    assert metric_admin.preview_scale("lower_is_better", ["1", "", "3", "4"], "kWh").error.startswith("Enter the four")
    assert "increase strictly" in metric_admin.preview_scale("lower_is_better", ["1", "1", "3", "4"], "").error


def test_preview_scale_formats_numbers_like_the_site():
    preview = metric_admin.preview_scale("lower_is_better", ["1e-6", "0.00025", "0.123456", "25000"], "kWh")

    assert [segment.text for segment in preview.segments] == [
        "≤ 1 × 10⁻⁶ kWh", "≤ 0.00025 kWh", "≤ 0.123456 kWh", "≤ 25,000 kWh", "> 25,000 kWh"]


def test_preview_scale_rejects_out_of_range_boundaries():
    negative = metric_admin.preview_scale("lower_is_better", ["-1", "1", "2", "3"], "kWh")
    score = metric_admin.preview_scale("higher_is_better", ["8", "7", "6", "5"], "score")

    assert negative.segments == []
    assert negative.error == "Boundary 1 must be ≥ 0, because an energy cannot be negative; got -1 kWh."
    assert score.error.startswith("Boundary 1 must be from 0 to 1, the range of a score; got 8.")


@pytest.mark.parametrize(("unit", "message"), [
    ("kwh", "The unit 'kwh' is not known; did you mean kWh?"),
    ("KWh", "did you mean kWh?"),
    ("mwh", "did you mean mWh or MWh?"),
    ("gflops", "did you mean GFLOPs?"),
    ("kWhh", "did you mean kWh?"),
    ("bananas", "The unit 'bananas' is not known. Use a unit such as kWh"),
    ("mb", "The unit 'mb' means millibarn; did you mean MB?"),
])
def test_unit_errors_suggest_the_spelling(app, unit, message):
    data = metric_admin.MetricInput(name="Storage", unit=unit, direction="lower_is_better", weight="0.1",
                                    b1="1", b2="2", b3="3", b4="4")

    with pytest.raises(metric_admin.MetricInputError) as raised:
        metric_admin.clean(data, "inference")

    assert message in raised.value.errors["unit"]
