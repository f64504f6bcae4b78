"""Turning a listed Hub model into a training record: pure functions, no app."""

from datetime import datetime, timezone

import pytest

from gaissa.services.connectors.huggingface import DatasetSize, EvalScore, HubDetails, HubModel, WeightFile
from gaissa.services.sync import derive
from gaissa.services.sync.cards import ProseFacts

MODIFIED = datetime(2024, 5, 1, tzinfo=timezone.utc)
CREATED = datetime(2023, 2, 1, tzinfo=timezone.utc)


def hub_model(card: dict | None, **fields) -> HubModel:
    values = {"repo_id": "org/model", "sha": "abc", "last_modified": MODIFIED, "created_at": CREATED,
              "downloads": 40, "likes": 2, "library_name": "transformers", "pipeline_tag": "text-classification",
              "tags": ("pytorch", "co2_eq_emissions")}
    values.update(fields)
    return HubModel(card=card, **values)


def details(weights_bytes: int | None = 400_000_000, text: str = "# model\n") -> derive.DetailsDigest:
    files = (WeightFile("pytorch_model.bin", weights_bytes),) if weights_bytes else ()
    digest, _ = derive.digest_details(HubDetails("abc", files, None, text))
    return digest


def derive_record(model: HubModel, digest=None, sizes=None, bases=None, readme=None) -> derive.TrainingRecord:
    return derive.derive_training(
        model, digest if digest is not None else details(), model_url="https://hub.example/org/model",
        dataset_sizes=sizes or {}, base_emissions=bases or {}, readme=readme,
    )


def values(record: derive.TrainingRecord) -> dict[str, float]:
    return {candidate.key: candidate.value for candidate in record.candidates}


# --- Metrics -------------------------------------------------------------------------------------

def test_full_card_gives_every_metric():
    card = {"co2_eq_emissions": {"emissions": 1710, "source": "CodeCarbon", "training_type": "fine-tuning",
                                 "geographical_location": "Singapore", "hardware_used": "NVIDIA A100-SXM4-40GB"},
            "datasets": ["squad"]}
    model = hub_model(card, eval_scores=(EvalScore("accuracy", "Accuracy", 0.9), EvalScore("f1", None, 0.8)))
    record = derive_record(model, sizes={"squad": DatasetSize("squad", 89_000_000)})

    assert record.skip is None
    assert record.rated
    assert values(record) == {
        "co2_eq_emissions": 1710,
        "size_efficiency": pytest.approx(400_000_000 / 1710),
        "dataset_size_efficiency": pytest.approx(89_000_000 / 1710),
        "downloads": 40.0,
        "performance_score": pytest.approx(2 * 0.9 * 0.8 / 1.7),
    }
    assert record.info == {
        "training_type": "fine-tuning", "hardware_used": "NVIDIA A100-SXM4-40GB", "location": "Singapore",
        "source": "CodeCarbon", "library": "transformers, pytorch", "domain": "NLP", "datasets": "squad",
    }
    assert record.name == "model"
    assert record.author == "org"
    assert record.registered_at == CREATED


def test_provenance_of_values():
    record = derive_record(hub_model({"co2_eq_emissions": {"emissions": "2 kg"}}))
    candidates = {candidate.key: candidate for candidate in record.candidates}

    assert candidates["co2_eq_emissions"].card_field == "co2_eq_emissions.emissions"
    assert candidates["co2_eq_emissions"].raw == {"emissions": "2 kg"}
    assert candidates["co2_eq_emissions"].value == 2000
    assert candidates["size_efficiency"].raw == {"weight_bytes": 400_000_000, "co2_g": 2000}


def test_zero_is_imported_but_not_rated():
    record = derive_record(hub_model({"co2_eq_emissions": 0.0}))

    assert record.skip is None
    assert not record.rated
    assert [flag.code for flag in record.flags] == ["zero"]
    assert record.candidates == []
    assert record.hub_metadata["co2"]["raw"] == 0.0
    assert record.hub_metadata["co2"]["trusted"] is False
    assert record.hub_metadata["downloads"] == 40


def test_metadata_keeps_raw_and_parsed():
    record = derive_record(hub_model({"co2_eq_emissions": "10 kg"}))
    co2 = record.hub_metadata["co2"]

    assert co2 == {"raw": "10 kg", "form": "string", "grams": 10_000.0, "unit": "kg",
                   "card_field": "co2_eq_emissions", "trusted": True}


def test_prose_mismatch_is_not_rated():
    digest = details(text="---\nx: 1\n---\n- **Carbon Emitted:** 149.2 kg eq. CO2\n")
    record = derive_record(hub_model({"co2_eq_emissions": 149.2}), digest)

    assert [flag.code for flag in record.flags] == ["prose_mismatch"]
    assert record.candidates == []


def test_card_without_co2_is_skipped():
    record = derive_record(hub_model({"co2_eq_emissions": None, "license": "mit"}))

    assert record.skip.code == "no_co2"


def test_listing_without_card_data_reads_the_readme():
    text = "---\nco2_eq_emissions:\n  emissions: 12\nmodel-index:\n- name: m\n  results:\n  - metrics:\n    - type: accuracy\n      value: 91\n---\n# m\n"
    digest, front = derive.digest_details(HubDetails("abc", (), None, text), read_metadata=True)
    record = derive_record(hub_model(None), digest, readme=derive.readme_card(front))

    assert record.skip is None
    assert values(record)["co2_eq_emissions"] == 12
    assert values(record)["performance_score"] == pytest.approx(0.91)


def test_invalid_yaml_readme_is_skipped_with_reason():
    text = "---\nlicense: mit\nco2_eq_emissions:\n\t  emissions: 'in grams of CO2'\n---\n# m\n"
    digest, front = derive.digest_details(HubDetails("abc", (), None, text), read_metadata=True)
    record = derive_record(hub_model(None), digest, readme=derive.readme_card(front))

    assert record.skip.code == "invalid_yaml"
    assert record.skip.message.startswith("CO2 is missing: invalid YAML front matter")


def test_missing_created_at_uses_last_modified():
    record = derive_record(hub_model({"co2_eq_emissions": 3}, created_at=None))

    assert record.created_at is None
    assert record.registered_at == MODIFIED
    assert record.hub_metadata["created_at"] is None


def test_model_without_namespace():
    record = derive_record(hub_model({"co2_eq_emissions": 3}, repo_id="distilgpt2"))

    assert record.name == "distilgpt2"
    assert record.author is None


def test_fingerprint_changes_with_downloads_only():
    card = {"co2_eq_emissions": 3}
    first = derive_record(hub_model(card))
    same = derive_record(hub_model(card))
    more = derive_record(hub_model(card, downloads=41))

    assert first.fingerprint == same.fingerprint
    assert first.fingerprint != more.fingerprint


# --- Base models ---------------------------------------------------------------------------------

def test_value_equal_to_base_model_is_inherited():
    card = {"co2_eq_emissions": 149200.0, "base_model": "org-a/distilgpt2"}
    record = derive_record(hub_model(card), bases={"org-a/distilgpt2": 149200.0})

    assert [flag.code for flag in record.flags] == ["inherited_from_base"]
    assert "org-a/distilgpt2" in record.flags[0].message
    assert record.hub_metadata["base_model"] == ["org-a/distilgpt2"]


def test_quantized_derivative_is_flagged():
    card = {"co2_eq_emissions": 1.0, "base_model": ["org-b/example-moe-instruct"], "base_model_relation": "quantized"}
    record = derive_record(hub_model(card))

    assert [flag.code for flag in record.flags] == ["derivative_model"]


def test_gguf_tag_marks_a_conversion():
    card = {"co2_eq_emissions": 1.0, "base_model": "org-b/example-moe-instruct"}
    record = derive_record(hub_model(card, tags=("gguf",)))

    assert [flag.code for flag in record.flags] == ["derivative_model"]


def test_fine_tune_with_own_value_is_rated():
    card = {"co2_eq_emissions": 50.0, "base_model": "org-a/distilgpt2", "base_model_relation": "finetune"}
    record = derive_record(hub_model(card), bases={"org-a/distilgpt2": 149200.0})

    assert record.rated


# --- Information fields --------------------------------------------------------------------------

def test_placeholders_are_not_stored():
    card = {"co2_eq_emissions": {"emissions": 1.0, "source": "Not Specified", "training_type": "Not Specified",
                                 "geographical_location": "NA", "hardware_used": "Not Specified"}}
    record = derive_record(hub_model(card, library_name=None, tags=(), pipeline_tag=None))

    assert record.info == {}


def test_unknown_training_type_is_noted():
    record = derive_record(hub_model({"co2_eq_emissions": {"emissions": 1.0, "training_type": "RLHF"}}))

    assert "training_type" not in record.info
    assert any("RLHF" in note for note in record.notes)


def test_prose_fills_hardware_cloud_and_region():
    digest = details(text="---\na: 1\n---\n- **Hardware Type:** 4 x T4\n- **Cloud Provider:** GCP\n"
                          "- **Compute Region:** europe-west4\n")
    record = derive_record(hub_model({"co2_eq_emissions": 5}), digest)

    assert record.info["hardware_used"] == "4 x T4"
    assert record.info["cloud_provider"] == "GCP"
    assert record.info["location"] == "europe-west4"


def test_autotrain_tag_gives_source():
    record = derive_record(hub_model({"co2_eq_emissions": 5}, tags=("autotrain",)))

    assert record.info["source"] == "AutoTrain"


@pytest.mark.parametrize(("tag", "domain"), [
    ("text-classification", "NLP"), ("summarization", "NLP"), ("image-classification", "Computer Vision"),
    ("automatic-speech-recognition", "Audio"), ("visual-question-answering", "Multimodal"),
    ("tabular-classification", "Tabular"), ("reinforcement-learning", "Reinforcement Learning"),
    ("graph-ml", "Other"), (None, None),
])
def test_domain_from_pipeline_tag(tag, domain):
    assert derive.domain_for(tag) == domain


def test_string_datasets_is_one_data_set():
    assert derive.dataset_ids("openwebtext") == ["openwebtext"]
    assert derive.dataset_ids(["a", "", "a", None, "b"]) == ["a", "b"]
    assert derive.dataset_ids(None) == []


def test_dataset_efficiency_needs_every_size():
    card = {"co2_eq_emissions": 10, "datasets": ["a", "b"]}
    sizes = {"a": DatasetSize("a", 100), "b": DatasetSize("b", None, "not found on the Hub (private, gated or deleted)")}
    record = derive_record(hub_model(card), sizes=sizes)

    assert "dataset_size_efficiency" not in values(record)
    assert any("b: not found on the Hub" in note for note in record.notes)
    assert record.hub_metadata["dataset_sizes"] == {"a": 100, "b": None}


# --- Performance score ---------------------------------------------------------------------------

def test_performance_prefers_model_index_then_card_then_text():
    scores = (EvalScore("rouge", "Rouge1", 52.5404), EvalScore("rouge", "RougeL", 50.1696))
    metrics = derive.performance_metrics(scores, [{"accuracy": 0.5}], {"rouge1": 0.1, "f1": 0.7})

    assert metrics == {"rouge1": pytest.approx(0.525404), "rougeL": pytest.approx(0.501696), "accuracy": 0.5,
                       "f1": 0.7}


def test_performance_score_is_per_model():
    metrics = derive.performance_metrics((), None, {"rouge1": 52.5404, "rougeL": 50.1696})

    assert derive.performance_score(metrics) == pytest.approx(0.513276380457599, rel=1e-9)


def test_performance_score_with_a_zero():
    assert derive.performance_score({"accuracy": 0.99, "f1": 0.0}) == 0.0
    assert derive.performance_score({}) is None


@pytest.mark.parametrize(("value", "fraction"), [
    (0.93, 0.93), (93, 0.93), ("93 %", 0.93), ("0.5", 0.5), (1.0, 1.0), (150, None), (-0.1, None),
    ("n/a", None), (float("nan"), None), (True, None),
])
def test_scores_read_as_fractions(value, fraction):
    metrics = derive.performance_metrics((EvalScore("accuracy", None, value),), None, {})

    assert metrics.get("accuracy") == (pytest.approx(fraction) if fraction is not None else None)


# --- Weight files --------------------------------------------------------------------------------

def weights(*files: tuple[str, int | None]) -> derive.WeightSummary | None:
    return derive.summarise_weights(WeightFile(path, size) for path, size in files)


def test_safetensors_shards_are_summed_and_preferred():
    summary = weights(("model-00001-of-00002.safetensors", 5), ("model-00002-of-00002.safetensors", 3),
                      ("pytorch_model.bin", 9), ("tf_model.h5", 9))

    assert summary == derive.WeightSummary("safetensors", 8, 2)


def test_pytorch_only_repository():
    assert weights(("pytorch_model.bin", 352_833_716), ("config.json", 700)) == \
        derive.WeightSummary("pytorch", 352_833_716, 1)


def test_checkpoints_and_optimizer_states_do_not_count():
    summary = weights(("pytorch_model.bin", 10), ("checkpoint-500/pytorch_model.bin", 10), ("optimizer.pt", 20))

    assert summary == derive.WeightSummary("pytorch", 10, 1)


def test_gguf_alternatives_take_the_largest():
    assert weights(("m.Q4_K_M.gguf", 4), ("m.Q8_0.gguf", 8)) == derive.WeightSummary("gguf", 8, 1)


def test_diffusers_folders_are_summed():
    summary = weights(("unet/diffusion_pytorch_model.safetensors", 3), ("vae/diffusion_pytorch_model.safetensors", 1),
                      ("model_index.json", 1))

    assert summary == derive.WeightSummary("safetensors", 4, 2)


def test_unknown_sizes_give_no_summary():
    assert weights(("pytorch_model.bin", None)) is None
    assert weights(("README.md", 10)) is None


def test_digest_round_trips_as_json():
    digest = details(text="---\na: 1\n---\n- CO2 Emissions (in grams): 3\n")

    assert derive.DetailsDigest.from_json(digest.to_json()) == digest
    assert digest.prose == ProseFacts.from_json(digest.prose.to_json())
