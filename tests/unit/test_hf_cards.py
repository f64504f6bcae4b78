"""Reading co2_eq_emissions, front matter and card text: pure functions, no app."""

import math
from pathlib import Path

import pytest

from gaissa.services.sync import cards

CASES = Path(__file__).resolve().parent.parent / "data" / "hf"


def read_case(name: str) -> cards.FrontMatter:
    return cards.split_front_matter((CASES / name).read_text(encoding="utf-8"))


# --- The card cases --------------------------------------------------------------------------------

def test_plain_number_card_is_grams():
    front = read_case("C11-hf-card-co2-plain-number.md")
    reading = cards.parse_co2(front.metadata["co2_eq_emissions"])

    assert reading.form == "number"
    assert reading.trusted
    assert reading.grams == pytest.approx(0.012147398577917884, rel=1e-12)
    assert reading.grams / 1000 == pytest.approx(1.2147e-05, rel=1e-4)
    assert reading.fields == {}


def test_plain_number_card_text_agrees():
    front = read_case("C11-hf-card-co2-plain-number.md")
    prose = cards.read_prose(front.body)

    assert [figure.grams for figure in prose.emissions] == [pytest.approx(0.012147398577917884)]
    assert cards.compare_with_prose(0.012147398577917884, prose.emissions) is None


def test_mapping_with_emissions_only():
    front = read_case("C12-hf-card-co2-dict-emissions-only.md")
    reading = cards.parse_co2(front.metadata["co2_eq_emissions"])

    assert reading.form == "mapping"
    assert reading.card_field == "co2_eq_emissions.emissions"
    assert reading.grams == pytest.approx(25.447577064303335)
    assert reading.grams / 1000 == pytest.approx(0.025448, rel=1e-4)
    assert reading.fields == {"source": None, "training_type": None, "geographical_location": None,
                              "hardware_used": None}


def test_full_mapping_in_grams_matches_text_in_kg():
    front = read_case("C13-hf-card-co2-full-dict-grams.md")
    reading = cards.parse_co2(front.metadata["co2_eq_emissions"])
    prose = cards.read_prose(front.body)

    assert reading.grams == 1710
    assert reading.grams / 1000 == 1.71
    assert reading.fields["source"] == "CodeCarbon"
    assert reading.fields["training_type"] == "fine-tuning"
    assert reading.fields["geographical_location"] == "Singapore"
    assert reading.fields["hardware_used"] == "NVIDIA A100-SXM4-40GB"
    assert [figure.grams for figure in prose.emissions] == [pytest.approx(1710)]
    assert prose.hardware == "1 NVIDIA A100-SXM4-40GB"
    assert cards.compare_with_prose(reading.grams, prose.emissions) is None


def test_energy_cross_check_of_full_mapping():
    # 3.51 kWh at Singapore's 470.8 g/kWh (CodeCarbon's 2023 mix) is 1652 g, within 4 % of the stated 1710 g.
    assert 3.51 * 470.8 == pytest.approx(1652, abs=1)
    assert abs(1710 - 3.51 * 470.8) / 1710 < 0.04


def test_tab_indented_template_is_invalid_yaml():
    front = read_case("C16-hf-card-co2-tab-indent-template.md")

    assert front.metadata is None
    assert front.error.startswith("invalid YAML front matter at line 4, column 1")
    assert "indent YAML with spaces, not tabs" in front.error


def test_tab_template_fixed_is_still_a_placeholder():
    text = (CASES / "C16-hf-card-co2-tab-indent-template.md").read_text(encoding="utf-8").replace("\t", "  ")
    front = cards.split_front_matter(text)
    reading = cards.parse_co2(front.metadata["co2_eq_emissions"])

    assert front.error is None
    assert reading.grams is None
    assert reading.problem.code == "placeholder"
    assert cards.training_type(reading.fields["training_type"]) is None
    assert cards.clean_text(reading.fields["geographical_location"]) is None
    assert cards.clean_text(reading.fields["hardware_used"]) is None
    assert cards.emission_source(reading.fields["source"]) is None


def test_list_of_one_key_maps_is_merged():
    front = read_case("C17-hf-card-co2-list-form.md")
    reading = cards.parse_co2(front.metadata["co2_eq_emissions"])

    assert isinstance(front.metadata["co2_eq_emissions"], list)
    assert reading.form == "list"
    assert reading.grams == 1000
    assert reading.fields["source"] == "code carbon"
    assert reading.fields["geographical_location"] == "Quebec, Canada"
    assert reading.fields["hardware_used"] == "1 v100 GPU"
    assert reading.fields["training_type"] == "fine-tuning"
    assert cards.emission_source(reading.fields["source"]) == "CodeCarbon"


# --- Forms and units -------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "grams", "unit"), [
    (12, 12.0, None),
    (0.5, 0.5, None),
    ("2.5e-05", 2.5e-05, None),
    ("10 kg", 10_000.0, "kg"),
    ("10kg", 10_000.0, "kg"),
    ("1.71 KgCO2", 1710.0, "KgCO2"),
    ("149.2 kgCO2eq", 149_200.0, "kgCO2eq"),
    ("0.43 kg eq. CO2", 430.0, "kg"),
    ("3 tCO2e", 3_000_000.0, "tCO2e"),
    ("24.7 tonnes", 24_700_000.0, "tonnes"),
    ("1,234.5 g", 1234.5, "g"),
    ("0,5 g", 0.5, "g"),
    ("1.2 x 10^3 g", 1200.0, "g"),
    ("~12 grams of CO2", 12.0, "grams"),
    ("2 lbs", 907.18474, "lbs"),
    ("250 mg", 0.25, "mg"),
    ("17 CO2eq", 17.0, None),
])
def test_amounts_convert_to_grams(raw, grams, unit):
    reading = cards.parse_co2(raw)

    assert reading.problem is None, reading.problem
    assert reading.grams == pytest.approx(grams, rel=1e-12)
    assert reading.unit == unit


def test_unit_key_in_mapping_applies():
    reading = cards.parse_co2({"emissions": 2, "emissions_unit": "kg"})

    assert reading.grams == 2000


@pytest.mark.parametrize(("raw", "code"), [
    ("needed", "placeholder"),
    ("in grams of CO2", "placeholder"),
    ("[More Information Needed]", "placeholder"),
    ("N/A", "placeholder"),
    ("unknown", "placeholder"),
    ("", "placeholder"),
    (0, "zero"),
    (0.0, "zero"),
    ("0 kg", "zero"),
    (-5e-05, "negative"),
    (float("nan"), "not_finite"),
    (float("inf"), "not_finite"),
    (True, "not_a_number"),
    ("12 kWh", "unknown_unit"),
    ("12 Mt", "unknown_unit"),
    ("about 5 kg (estimated on 3 GPUs)", "unreadable"),
    ("12 g/kWh", "unreadable"),
    ([1, 2], "unrecognised_form"),
    ({"source": "CodeCarbon"}, "missing"),
    ({"emissions": None}, "missing"),
])
def test_untrusted_values_are_flagged(raw, code):
    reading = cards.parse_co2(raw)

    assert reading.grams is None
    assert not reading.trusted
    assert reading.problem.code == code
    assert reading.problem.message


def test_raw_value_is_kept_json_safe():
    reading = cards.parse_co2({"emissions": float("nan"), "source": "x"})

    assert reading.raw == {"emissions": "nan", "source": "x"}


def test_missing_value():
    reading = cards.parse_co2(None)

    assert reading.form == "missing"
    assert reading.problem.code == "missing"


def test_single_item_list_is_its_value():
    assert cards.parse_co2([42]).grams == 42


def test_list_with_first_key_winning():
    reading = cards.parse_co2([{"emissions": 5}, {"emissions": 7}])

    assert reading.grams == 5


# --- Text of the card ------------------------------------------------------------------------------

def test_prose_kg_matches_metadata_grams():
    prose = cards.read_prose("- **Carbon Emitted** (Power consumption x Time x Carbon produced based on location of "
                             "power grid): 149.2 kg eq. CO2\n")

    assert [figure.grams for figure in prose.emissions] == [pytest.approx(149_200)]
    assert cards.compare_with_prose(149_200, prose.emissions) is None


def test_metadata_thousand_times_off_is_flagged():
    prose = cards.read_prose("## Environmental Impact\n\n- **Carbon Emitted:** 149.2 kg eq. CO2\n")
    flag = cards.compare_with_prose(149.2, prose.emissions)

    assert flag.code == "prose_mismatch"
    assert "149.2 g" in flag.message
    assert "1000 times less" in flag.message


def test_metadata_thousand_times_more_is_flagged():
    prose = cards.read_prose("Training emitted 0.5 g of CO2.\n")

    assert cards.compare_with_prose(500, prose.emissions).code == "prose_mismatch"


def test_other_disagreements_are_not_flagged():
    prose = cards.read_prose("CO2 emissions (in grams): 10\n")

    assert cards.compare_with_prose(37, prose.emissions) is None


def test_prose_without_unit_is_ignored():
    prose = cards.read_prose("- Carbon Emitted: 149.2\n- Total energy: 3.51 kWh\n")

    assert prose.emissions == ()


def test_prose_template_fields():
    body = """
## Environmental Impact

- **Hardware Type:** 8 x A100 40GB
- **Hours used:** 12
- **Cloud Provider:** [More Information Needed]
- **Compute Region:** us-east-1
- **Carbon Emitted:** [More Information Needed]

## Validation Metrics

- Loss: 0.12
- Accuracy: 0.973
- Macro F1: 0.95
- Rouge1: 52.54
"""
    prose = cards.read_prose(body)

    assert prose.hardware == "8 x A100 40GB"
    assert prose.cloud_provider is None
    assert prose.compute_region == "us-east-1"
    assert prose.emissions == ()
    assert prose.metrics == {"accuracy": 0.973, "f1": 0.95, "rouge1": 52.54}


def test_prose_facts_round_trip_as_json():
    prose = cards.read_prose("- Hardware Type: T4\n- CO2 Emissions (in grams): 3.5\n- Accuracy: 0.9\n")

    assert cards.ProseFacts.from_json(prose.to_json()) == prose


# --- Front matter and free-text fields -------------------------------------------------------------

def test_readme_without_front_matter():
    front = cards.split_front_matter("# A model\n\nNo metadata.\n")

    assert front.metadata is None
    assert front.error is None
    assert front.body.startswith("# A model")


def test_unclosed_front_matter():
    front = cards.split_front_matter("---\nlicense: mit\n# no closing line\n")

    assert front.metadata is None
    assert "never closed" in front.error


def test_front_matter_that_is_a_list():
    front = cards.split_front_matter("---\n- a\n- b\n---\ntext\n")

    assert "not a mapping" in front.error


def test_front_matter_without_parsing_keeps_the_text():
    front = cards.split_front_matter("---\nbad: [\n---\nbody\n", parse=False)

    assert front.metadata is None
    assert front.error is None
    assert front.body == "body\n"


@pytest.mark.parametrize(("raw", "expected"), [
    ("fine-tuning", "fine-tuning"), ("Fine Tuning", "fine-tuning"), ("finetuned", "fine-tuning"),
    ("pretraining", "pretraining"), ("Pre-training", "pretraining"), ("trained from scratch", "pretraining"),
    ("pretraining or fine-tuning", None), ("Not Specified", None), ("RLHF", None), (None, None),
])
def test_training_type_values(raw, expected):
    assert cards.training_type(raw) == expected


@pytest.mark.parametrize(("raw", "tags", "expected"), [
    ("AutoTrain", (), "AutoTrain"),
    ("code carbon", (), "CodeCarbon"),
    ("Code Carbon", (), "CodeCarbon"),
    ("calculated using https://mlco2.github.io/impact/#compute", (), "ML CO2 Impact calculator"),
    ("MLCO2", (), "ML CO2 Impact calculator"),
    ("Google Cloud Footprint", (), "Google Cloud Carbon Footprint"),
    ("BLOOM paper, https://arxiv.org/abs/2211.02001", (), "Paper"),
    ("our cluster's power meter", (), "our cluster's power meter"),
    (None, ("autotrain",), "AutoTrain"),
    ("Not Specified", ("autonlp",), "AutoTrain"),
    (None, (), None),
])
def test_emission_source_names(raw, tags, expected):
    assert cards.emission_source(raw, tags) == expected


@pytest.mark.parametrize("text", ["NA", "N/A", "Not Specified", "unknown", "  ", "[More Information Needed]", "TBD"])
def test_placeholder_texts_are_null(text):
    assert cards.clean_text(text) is None


def test_clean_text_collapses_spaces_and_markdown():
    assert cards.clean_text("** 8  16GB V100") == "8 16GB V100"
    assert cards.clean_text(8) == "8"
    assert cards.clean_text({"a": 1}) is None


def test_grams_per_unit_table():
    assert cards.grams_per_unit("kgCO2e") == 1000
    assert cards.grams_per_unit("lb") == pytest.approx(453.59237)
    assert cards.grams_per_unit("Mt") is None
    assert math.isclose(cards.grams_per_unit("t"), 1e6)
