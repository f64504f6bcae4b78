"""Turn one Hub model into a training record: metric values, information fields and Hub metadata.

Pure functions: the runner passes in the connector's results and what the database stores.

Derived training metrics (units of the default catalogue):
- co2_eq_emissions, g: the card's value converted to grams;
- size_efficiency, B/g: bytes of the model's weight files / CO2 in grams;
- dataset_size_efficiency, B/g: bytes of the training data sets (dataset_info.dataset_size of each
  data set card, summed; only when every data set's size is known) / CO2 in grams;
- downloads, count: the Hub's download count (last 30 days);
- performance_score, 0–1: harmonic mean of the model's accuracy, F1, ROUGE-1 and ROUGE-L as stated
  by the card, each read as a fraction (values above 1 are percentages). It depends on this model
  alone, so it is comparable across syncs.

A model whose CO2 value is not trusted (placeholder, zero, a unit mix-up with its text, a value
copied from its base model) is imported with its flags and left unrated: no metric values.
"""

import hashlib
import json
import math
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gaissa.services.connectors.huggingface import (
    CARD_KEYS,
    MAX_DATASETS_PER_MODEL,
    DatasetSize,
    EvalScore,
    HubDetails,
    HubModel,
    WeightFile,
)
from gaissa.services.sync import cards
from gaissa.services.sync.cards import Flag, ProseFacts

MAX_INFO_LENGTH = 2000
PERFORMANCE_METRICS = ("accuracy", "f1", "rouge1", "rougeL")

# Hub pipeline tags grouped by the domains of the Hub's task list (huggingface.co/tasks).
_DOMAINS_BY_TASK = {
    "NLP": (
        "text-classification", "token-classification", "table-question-answering", "question-answering",
        "zero-shot-classification", "translation", "summarization", "feature-extraction", "text-generation",
        "text2text-generation", "fill-mask", "sentence-similarity", "conversational", "text-ranking",
        "multiple-choice", "text-retrieval",
    ),
    "Computer Vision": (
        "depth-estimation", "image-classification", "object-detection", "image-segmentation", "text-to-image",
        "image-to-text", "image-to-image", "image-to-video", "unconditional-image-generation",
        "video-classification", "text-to-video", "zero-shot-image-classification", "mask-generation",
        "zero-shot-object-detection", "text-to-3d", "image-to-3d", "image-feature-extraction",
        "keypoint-detection", "video-to-video",
    ),
    "Audio": (
        "text-to-speech", "text-to-audio", "automatic-speech-recognition", "audio-to-audio",
        "audio-classification", "voice-activity-detection",
    ),
    "Multimodal": (
        "audio-text-to-text", "image-text-to-text", "visual-question-answering", "document-question-answering",
        "video-text-to-text", "visual-document-retrieval", "any-to-any",
    ),
    "Tabular": ("tabular-classification", "tabular-regression", "time-series-forecasting"),
    "Reinforcement Learning": ("reinforcement-learning", "robotics"),
}
DOMAIN_BY_PIPELINE_TAG = {task: domain for domain, tasks in _DOMAINS_BY_TASK.items() for task in tasks}

# Library tags of the Hub (huggingface.co/docs/hub/models-libraries), reported with the library_name.
LIBRARY_TAGS = frozenset({
    "transformers", "pytorch", "tf", "jax", "safetensors", "onnx", "keras", "tensorboard", "joblib", "sklearn",
    "scikit-learn", "diffusers", "timm", "sentence-transformers", "spacy", "fastai", "flair", "adapter-transformers",
    "peft", "gguf", "stable-baselines3", "ml-agents", "espnet", "speechbrain", "nemo", "paddlenlp", "paddlepaddle",
    "openvino", "coreml", "tflite", "rust", "setfit", "span-marker", "allennlp", "fasttext", "asteroid", "keras-nlp",
    "keras-hub", "mlx", "transformers.js", "open_clip", "pyannote-audio", "sample-factory", "fairseq", "ctranslate2",
    "bertopic", "tf-keras", "unity-sentis", "xgboost", "lightgbm", "catboost", "jax-flax", "flax",
})

# Weight-file formats in order of preference. Repositories often contain the same weights in several formats,
# so only the first format present counts. "sum" adds the shards of one checkpoint. "largest" takes one
# file, for formats whose files are alternatives (quantisation levels, exports).
_WEIGHT_FORMATS = (
    ("safetensors", re.compile(r"\.safetensors$"), "sum"),
    ("pytorch", re.compile(r"pytorch_model.*\.bin$"), "sum"),
    ("tensorflow", re.compile(r"tf_model.*\.h5$"), "sum"),
    ("flax", re.compile(r"flax_model.*\.msgpack$"), "sum"),
    ("onnx", re.compile(r"\.onnx$"), "largest"),
    ("gguf", re.compile(r"\.gguf$"), "largest"),
    ("other", re.compile(r"\.(?:pt|pth|ckpt|bin|h5|keras|joblib|pkl|pickle|npz|tflite|zip)$"), "largest"),
)
_NOT_WEIGHTS = re.compile(r"(?:^|/)(?:optimizer|scheduler|training_args|rng_state|scaler)[^/]*$")
_CHECKPOINT_FOLDER = re.compile(r"(?:^|/)(?:checkpoint|runs|logs)[^/]*/")


@dataclass(frozen=True)
class WeightSummary:
    """The model's weight files: which format counted, how many files and their total size in bytes."""

    format: str
    bytes: int
    files: int

    def to_json(self) -> dict[str, Any]:
        return {"format": self.format, "bytes": self.bytes, "files": self.files}


@dataclass(frozen=True)
class DetailsDigest:
    """The contribution of one revision's details, kept in hub_metadata so that an unchanged revision is not read again."""

    sha: str | None
    weights: WeightSummary | None
    parameters: int | None
    prose: ProseFacts
    # read, missing (no README.md) or truncated (longer than the size cap).
    card_status: str

    def to_json(self) -> dict[str, Any]:
        return {
            "sha": self.sha, "weights": self.weights.to_json() if self.weights else None,
            "parameters": self.parameters, "prose": self.prose.to_json(), "card_status": self.card_status,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> "DetailsDigest | None":
        if not data:
            return None
        weights = data.get("weights")
        return cls(
            sha=data.get("sha"),
            weights=WeightSummary(weights["format"], int(weights["bytes"]), int(weights["files"])) if weights else None,
            parameters=data.get("parameters"),
            prose=ProseFacts.from_json(data.get("prose")),
            card_status=data.get("card_status") or "read",
        )


@dataclass(frozen=True)
class ReadmeCard:
    """Card metadata read from README.md when the listing had none."""

    card: dict[str, Any] | None
    error: str | None
    eval_scores: tuple[EvalScore, ...] = ()


@dataclass(frozen=True)
class MetricCandidate:
    """A metric value derived from the card, before the rating rules check it."""

    key: str
    value: float
    card_field: str
    raw: Any


@dataclass
class TrainingRecord:
    """Everything the sync stores for one Hub model."""

    repo_id: str
    name: str
    author: str | None
    url: str
    created_at: datetime | None
    registered_at: datetime | None
    # Set when the model is not imported at all.
    skip: Flag | None = None
    # Set when the model is imported but its CO2 value is not trusted, so it is not rated.
    flags: list[Flag] = field(default_factory=list)
    candidates: list[MetricCandidate] = field(default_factory=list)
    info: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    hub_metadata: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""

    @property
    def rated(self) -> bool:
        return not self.flags


# --- Details ------------------------------------------------------------------------------------

def digest_details(details: HubDetails, read_metadata: bool = False) -> tuple[DetailsDigest, cards.FrontMatter | None]:
    """Summarise fetched details; with read_metadata, also parse the README's YAML (for models listed without card data)."""
    front = (cards.split_front_matter(details.card_text, parse=read_metadata)
             if details.card_text is not None else None)
    prose = cards.read_prose(front.body) if front is not None else ProseFacts()
    if details.card_text is None:
        status = "missing"
    else:
        status = "truncated" if details.card_truncated else "read"
    digest = DetailsDigest(details.sha, summarise_weights(details.files), details.parameters, prose, status)
    return digest, front


def readme_card(front: cards.FrontMatter | None) -> ReadmeCard:
    """Read card metadata from a README's front matter, as the Hub would have."""
    if front is None:
        return ReadmeCard(None, "the repository has no README.md")
    if front.error is not None:
        return ReadmeCard(None, front.error)
    if front.metadata is None:
        return ReadmeCard(None, "the README has no YAML front matter")
    card = {key: front.metadata.get(key) for key in CARD_KEYS}
    return ReadmeCard(card, None, _scores_from_model_index(front.metadata.get("model-index")))


def summarise_weights(files: Iterable[WeightFile]) -> WeightSummary | None:
    """Return the size of one copy of the model's weights (see _WEIGHT_FORMATS), or None when unknown."""
    candidates = [item for item in files if not _NOT_WEIGHTS.search(item.path)]
    top_level = [item for item in candidates if "/" not in item.path]
    nested = [item for item in candidates if "/" in item.path and not _CHECKPOINT_FOLDER.search(item.path)]
    for pool in (top_level, nested):
        for name, pattern, rule in _WEIGHT_FORMATS:
            chosen = [item for item in pool if pattern.search(posixpath.basename(item.path))]
            if not chosen:
                continue
            if any(item.size is None or item.size < 0 for item in chosen):
                return None
            if rule == "largest":
                chosen = [max(chosen, key=lambda item: item.size)]
            total = sum(item.size for item in chosen)
            return WeightSummary(name, total, len(chosen)) if total > 0 else None
    return None


# --- The record ---------------------------------------------------------------------------------

def derive_training(
    model: HubModel,
    details: DetailsDigest | None,
    *,
    model_url: str,
    dataset_sizes: Mapping[str, DatasetSize],
    base_emissions: Mapping[str, float],
    readme: ReadmeCard | None = None,
) -> TrainingRecord:
    """Build the training record of one listed model.

    `details` is None only when they could not be read. `readme` carries the card metadata read from
    README.md when the listing had none. `base_emissions` maps synced base models to their grams.
    """
    author, _, name = model.repo_id.rpartition("/")
    record = TrainingRecord(
        repo_id=model.repo_id, name=name, author=author or None, url=model_url, created_at=model.created_at,
        registered_at=model.created_at or model.last_modified,
    )

    card = model.card
    scores = model.eval_scores
    if card is None and readme is not None:
        card, scores = readme.card, readme.eval_scores
    if card is None:
        reason = readme.error if readme is not None else "the Hub returned no card metadata"
        code = "invalid_yaml" if reason.startswith("invalid YAML") else "no_card_data"
        record.skip = Flag(code, f"CO2 is missing: {reason}")
        return record
    if card.get(cards.CO2_FIELD) is None:
        record.skip = Flag("no_co2", "The card metadata has no co2_eq_emissions value.")
        return record

    prose = details.prose if details is not None else ProseFacts()
    reading = cards.parse_co2(card[cards.CO2_FIELD])
    if reading.problem is not None:
        record.flags.append(reading.problem)
    elif (mismatch := cards.compare_with_prose(reading.grams, prose.emissions)) is not None:
        record.flags.append(mismatch)
    base_models = _as_strings(card.get("base_model"))
    relation = card.get("base_model_relation") if isinstance(card.get("base_model_relation"), str) else None
    if reading.trusted:
        inherited = _inheritance_flag(model, reading.grams, base_models, relation, base_emissions, details)
        if inherited is not None:
            record.flags.append(inherited)

    datasets = dataset_ids(card.get("datasets"))
    record.info = _info_values(model, card, reading, prose, datasets, record.notes)
    performance = performance_metrics(scores, card.get("metrics"), prose.metrics)
    weights = details.weights if details is not None else None
    dataset_bytes = _dataset_bytes(datasets, dataset_sizes, record.notes)

    if record.rated:
        record.candidates = _candidates(model, reading, weights, dataset_bytes, datasets, performance)
    record.hub_metadata = _hub_metadata(
        model, card, reading, record, datasets, dataset_sizes, base_models, relation, performance, details
    )
    record.fingerprint = fingerprint(record)
    return record


def _inheritance_flag(model: HubModel, grams: float, base_models: list[str], relation: str | None,
                      base_emissions: Mapping[str, float], details: DetailsDigest | None) -> Flag | None:
    """Flag emissions that describe the base model's training rather than this model's."""
    if not base_models:
        return None
    for base in base_models:
        base_grams = base_emissions.get(base)
        if base_grams is not None and math.isclose(base_grams, grams, rel_tol=1e-9):
            return Flag(
                "inherited_from_base",
                f"co2_eq_emissions ({grams:g} g) equals the value of the base model {base}: it is the base model's "
                "training emissions, not this model's.",
            )
    tags = {tag.lower() for tag in model.tags}
    weights_format = details.weights.format if details is not None and details.weights is not None else None
    derivative = relation in ("quantized", "merge") or "gguf" in tags or weights_format == "gguf"
    if derivative:
        kind = relation or "conversion"
        return Flag(
            "derivative_model",
            f"This model is a {kind} of {', '.join(base_models)}: its co2_eq_emissions ({grams:g} g) describes the "
            "base model's training, not this model's.",
        )
    return None


def _info_values(model: HubModel, card: Mapping[str, Any], reading: cards.Co2Reading, prose: ProseFacts,
                 datasets: list[str], notes: list[str]) -> dict[str, str]:
    fields = reading.fields
    info: dict[str, str | None] = {}

    raw_type = fields.get("training_type") if fields.get("training_type") is not None else prose.training_type
    info["training_type"] = cards.training_type(raw_type)
    if info["training_type"] is None and cards.clean_text(raw_type) is not None:
        notes.append(f"Training type {cards.clean_text(raw_type)!r} is neither pretraining nor fine-tuning; not stored.")
    info["hardware_used"] = cards.clean_text(fields.get("hardware_used")) or prose.hardware
    info["location"] = cards.clean_text(fields.get("geographical_location")) or prose.compute_region
    info["cloud_provider"] = prose.cloud_provider
    info["source"] = cards.emission_source(fields.get("source"), model.tags + tuple(_as_strings(card.get("tags"))))
    info["library"] = ", ".join(libraries(model, card)) or None
    info["domain"] = domain_for(model.pipeline_tag or _string(card.get("pipeline_tag")))
    info["datasets"] = ", ".join(datasets) or None
    return {key: value[:MAX_INFO_LENGTH] for key, value in info.items() if value}


def _candidates(model: HubModel, reading: cards.Co2Reading, weights: WeightSummary | None, dataset_bytes: int | None,
                datasets: list[str], performance: dict[str, float]) -> list[MetricCandidate]:
    grams = reading.grams
    candidates = [MetricCandidate("co2_eq_emissions", grams, reading.card_field, reading.raw)]
    if weights is not None:
        candidates.append(MetricCandidate(
            "size_efficiency", weights.bytes / grams, f"weight files ({weights.format}) / {reading.card_field}",
            {"weight_bytes": weights.bytes, "co2_g": grams},
        ))
    if dataset_bytes is not None:
        candidates.append(MetricCandidate(
            "dataset_size_efficiency", dataset_bytes / grams, f"datasets: dataset_info.dataset_size / {reading.card_field}",
            {"dataset_bytes": dataset_bytes, "datasets": datasets, "co2_g": grams},
        ))
    if model.downloads is not None:
        candidates.append(MetricCandidate("downloads", float(model.downloads), "downloads", model.downloads))
    score = performance_score(performance)
    if score is not None:
        candidates.append(MetricCandidate("performance_score", score, "model-index", dict(performance)))
    return candidates


def _hub_metadata(model: HubModel, card: Mapping[str, Any], reading: cards.Co2Reading, record: TrainingRecord,
                  datasets: list[str], dataset_sizes: Mapping[str, DatasetSize], base_models: list[str],
                  relation: str | None, performance: dict[str, float], details: DetailsDigest | None) -> dict[str, Any]:
    sizes = {dataset: dataset_sizes[dataset].size for dataset in datasets if dataset in dataset_sizes}
    return {
        "repo_id": model.repo_id,
        "sha": model.sha,
        "last_modified": _iso(model.last_modified),
        "created_at": _iso(model.created_at),
        "downloads": model.downloads,
        "likes": model.likes,
        "library_name": model.library_name,
        "pipeline_tag": model.pipeline_tag,
        "tags": list(model.tags[:100]),
        "datasets": datasets,
        "dataset_sizes": sizes,
        "base_model": base_models,
        "base_model_relation": relation,
        "parameters": (details.parameters if details is not None else None) or model.parameters,
        "weights": details.weights.to_json() if details is not None and details.weights else None,
        "co2": {
            "raw": reading.raw, "form": reading.form, "grams": reading.grams, "unit": reading.unit,
            "card_field": reading.card_field, "trusted": record.rated,
        },
        "flags": [flag.as_dict() for flag in record.flags],
        "notes": list(record.notes),
        "evaluation_results": dict(performance),
        "details": details.to_json() if details is not None else None,
    }


def fingerprint(record: TrainingRecord) -> str:
    """Return a hash of everything the sync would store for the record; equal hashes mean nothing changed."""
    payload = {
        "name": record.name, "author": record.author, "url": record.url,
        "created_at": _iso(record.created_at), "registered_at": _iso(record.registered_at),
        "values": [(item.key, repr(item.value), item.card_field) for item in record.candidates],
        "info": record.info,
        "meta": record.hub_metadata,
    }
    encoded = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


# --- Fields -------------------------------------------------------------------------------------

def dataset_ids(value: Any) -> list[str]:
    """Return a card's data sets as a list of ids: a single string is one data set, not its characters."""
    ids: list[str] = []
    for item in as_list(value):
        if isinstance(item, str) and item.strip() and item.strip() not in ids:
            ids.append(item.strip()[:300])
    return ids[:MAX_DATASETS_PER_MODEL]


def _dataset_bytes(datasets: list[str], sizes: Mapping[str, DatasetSize], notes: list[str]) -> int | None:
    if not datasets:
        return None
    unknown = [(dataset, sizes.get(dataset)) for dataset in datasets if sizes.get(dataset) is None
               or sizes[dataset].size is None]
    if unknown:
        reasons = "; ".join(f"{dataset}: {size.reason if size else 'not looked up'}" for dataset, size in unknown)
        notes.append(f"Dataset size efficiency not derived, the size of some data sets is unknown ({reasons}).")
        return None
    return sum(sizes[dataset].size for dataset in datasets)


def libraries(model: HubModel, card: Mapping[str, Any]) -> list[str]:
    """Return the model's library first, then the other library tags, without duplicates."""
    names: list[str] = []
    for candidate in (model.library_name, _string(card.get("library_name"))):
        if candidate and candidate not in names:
            names.append(candidate)
    for tag in model.tags:
        if tag in LIBRARY_TAGS and tag not in names:
            names.append(tag)
    return names


def domain_for(pipeline_tag: str | None) -> str | None:
    """Return the application domain of a Hub pipeline tag; unknown tasks are "Other"."""
    if not pipeline_tag:
        return None
    return DOMAIN_BY_PIPELINE_TAG.get(pipeline_tag.strip().lower(), "Other")


def performance_metrics(scores: Iterable[EvalScore], card_metrics: Any, prose_metrics: Mapping[str, float]
                        ) -> dict[str, float]:
    """Collect accuracy, F1, ROUGE-1 and ROUGE-L as fractions: model-index first, then card metrics, then the text."""
    found: dict[str, float] = {}
    for score in scores:
        _keep_metric(found, _metric_key(score.metric_type, score.metric_name), score.value)
    if isinstance(card_metrics, list):
        for item in card_metrics:
            if isinstance(item, dict):
                for key, value in item.items():
                    _keep_metric(found, _metric_key(str(key), None), value)
    for key, value in prose_metrics.items():
        _keep_metric(found, key if key in PERFORMANCE_METRICS else None, value)
    return found


def performance_score(metrics: Mapping[str, float]) -> float | None:
    """Return the harmonic mean of the metrics (0 when one is 0), or None without metrics."""
    values = [metrics[key] for key in PERFORMANCE_METRICS if key in metrics]
    if not values:
        return None
    if any(value == 0 for value in values):
        return 0.0
    return len(values) / sum(1.0 / value for value in values)


def _metric_key(metric_type: str | None, metric_name: str | None) -> str | None:
    for candidate in (metric_type, metric_name):
        if not candidate:
            continue
        key = re.sub(r"[\s_-]+", "", str(candidate).lower())
        if key in ("accuracy", "acc"):
            return "accuracy"
        if key in ("f1", "f1score", "macrof1", "f1macro", "microf1", "f1micro", "weightedf1", "f1weighted"):
            return "f1"
        if key == "rouge1":
            return "rouge1"
        if key == "rougel":
            return "rougeL"
    return None


def _keep_metric(found: dict[str, float], key: str | None, value: Any) -> None:
    if key is None or key in found:
        return
    fraction = _fraction(value)
    if fraction is not None:
        found[key] = fraction


def _fraction(value: Any) -> float | None:
    """Read a score as a fraction from 0 to 1; "93 %" and 93 both give 0.93."""
    percent = False
    if isinstance(value, str):
        text = value.strip()
        percent = text.endswith("%")
        value = cards.parse_number(text.rstrip("%").strip())
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    number = float(value)
    if percent or 1.0 < number <= 100.0:
        number /= 100.0
    return number if 0.0 <= number <= 1.0 else None


def _scores_from_model_index(model_index: Any) -> tuple[EvalScore, ...]:
    scores: list[EvalScore] = []
    for entry in model_index if isinstance(model_index, list) else []:
        for result in (entry.get("results") or []) if isinstance(entry, dict) else []:
            for metric in (result.get("metrics") or []) if isinstance(result, dict) else []:
                if isinstance(metric, dict) and metric.get("type") is not None:
                    scores.append(EvalScore(str(metric["type"]), metric.get("name"), metric.get("value")))
    return tuple(scores)


def as_list(value: Any) -> list[Any]:
    """Return a card value that may be one string or a list as a list; other values give an empty list."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return value
    return []


def _as_strings(value: Any) -> list[str]:
    return [item.strip() for item in as_list(value) if isinstance(item, str) and item.strip()][:10]


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
