"""The demo ROI catalogue that a new installation starts with, so the calculator can be tried at once.

Every expected reduction names where it comes from. Figures taken from a paper's abstract cite
it; figures derived from a paper by an assumption, or without a published source, are marked
illustrative with a note on why. QA managers replace or extend the catalogue in the administration.
"""

import logging
from dataclasses import dataclass

from sqlalchemy import select

from gaissa.extensions import db
from gaissa.models.roi import (
    ExpectedReduction,
    ModelArchitecture,
    PipelineStage,
    RoiMetric,
    Tactic,
    TacticParameterOption,
    TacticSource,
)

logger = logging.getLogger(__name__)

DEMO_NOTE = "Demo catalogue entry shipped with GAISSA Tools; QA managers may edit or replace it."

STAGES = [
    ("Data-centric", "Tactics that change the data a model is trained or run on."),
    ("Model optimization", "Tactics that change the model itself: pruning, quantization, distillation."),
    ("Management", "Tactics that change how models are deployed and operated."),
]

# name, unit, is_energy, higher_is_better, min, max, description
METRICS = [
    ("Energy per inference", "J", True, False, 0.0, 1_000_000.0,
     "Energy one inference consumes, in joules. The ROI is computed from this metric."),
    ("Inference time", "ms", False, False, 0.0, 3_600_000.0, "Time one inference takes, in milliseconds."),
    ("Parameters", "M", False, False, 0.0, 10_000_000.0, "Number of model parameters, in millions."),
    ("Model size", "MB", False, False, 0.0, 10_000_000.0, "Storage the model's weights take, in megabytes."),
    ("Accuracy", "%", False, True, 0.0, 100.0, "Task accuracy or benchmark score, in percent."),
]

ARCHITECTURES = [
    ("AlexNet", "Convolutional image classifier, 61 million parameters (Krizhevsky et al., 2012)."),
    ("GoogLeNet", "Inception-v1 convolutional image classifier (Szegedy et al., 2015)."),
    ("VGG-16", "16-layer convolutional image classifier, 138 million parameters (Simonyan and Zisserman, 2015)."),
    ("ResNet-50", "50-layer residual convolutional image classifier (He et al., 2016)."),
    ("BERT-base", "12-layer Transformer encoder, 110 million parameters (Devlin et al., 2019)."),
]

SOURCES = {
    "yang2017": ("Yang, Chen and Sze (2017). Designing Energy-Efficient Convolutional Neural Networks using "
                 "Energy-Aware Pruning. CVPR 2017.", "https://arxiv.org/abs/1611.05128"),
    "han2015": ("Han, Pool, Tran and Dally (2015). Learning both Weights and Connections for Efficient Neural "
                "Networks. NeurIPS 2015.", "https://arxiv.org/abs/1506.02626"),
    "sanh2019": ("Sanh, Debut, Chaumond and Wolf (2019). DistilBERT, a distilled version of BERT: smaller, faster, "
                 "cheaper and lighter.", "https://arxiv.org/abs/1910.01108"),
    "jacob2018": ("Jacob et al. (2018). Quantization and Training of Neural Networks for Efficient "
                  "Integer-Arithmetic-Only Inference. CVPR 2018.", "https://arxiv.org/abs/1712.05877"),
}


@dataclass(frozen=True)
class DemoTactic:
    name: str
    stage: str
    information: str
    sources: tuple[str, ...]
    architectures: tuple[str, ...]
    metrics: tuple[str, ...]
    option: tuple[str, str]


@dataclass(frozen=True)
class DemoReduction:
    tactic: str
    architecture: str
    metric: str
    value: float
    source: str | None
    illustrative: bool
    note: str


TACTICS = [
    DemoTactic(
        "Energy-aware pruning", "Model optimization",
        "Prunes the weights of the layers that consume the most energy first, guided by an energy model "
        "of the hardware, then fine-tunes.",
        ("yang2017",), ("AlexNet", "GoogLeNet"), ("Energy per inference", "Accuracy"),
        ("top-5 accuracy loss budget", "1 %"),
    ),
    DemoTactic(
        "Magnitude pruning", "Model optimization",
        "Removes the connections with the smallest weights and retrains the remaining ones.",
        ("han2015",), ("AlexNet", "VGG-16"), ("Energy per inference", "Parameters"),
        ("method", "prune and retrain"),
    ),
    DemoTactic(
        "Knowledge distillation", "Model optimization",
        "Trains a smaller student model to reproduce the outputs of a larger teacher model.",
        ("sanh2019",), ("BERT-base",), ("Energy per inference", "Inference time", "Parameters", "Accuracy"),
        ("student layers", "6"),
    ),
    DemoTactic(
        "Post-training quantization", "Model optimization",
        "Stores weights and computes activations as 8-bit integers instead of 32-bit floats.",
        ("jacob2018",), ("ResNet-50",), ("Energy per inference", "Model size"),
        ("bits", "8"),
    ),
]

REDUCTIONS = [
    DemoReduction("Energy-aware pruning", "AlexNet", "Energy per inference", 1 - 1 / 3.7, "yang2017", False,
                  "Energy reduced 3.7 times (abstract)."),
    DemoReduction("Energy-aware pruning", "GoogLeNet", "Energy per inference", 1 - 1 / 1.6, "yang2017", False,
                  "Energy reduced 1.6 times (abstract)."),
    DemoReduction("Energy-aware pruning", "AlexNet", "Accuracy", 0.01, "yang2017", True,
                  "The source reports less than 1 % top-5 accuracy loss; 1 % is used as an upper bound."),
    DemoReduction("Energy-aware pruning", "GoogLeNet", "Accuracy", 0.01, "yang2017", True,
                  "The source reports less than 1 % top-5 accuracy loss; 1 % is used as an upper bound."),
    DemoReduction("Magnitude pruning", "AlexNet", "Parameters", 1 - 6.7 / 61, "han2015", False,
                  "Parameters 61 million to 6.7 million without accuracy loss (abstract)."),
    DemoReduction("Magnitude pruning", "VGG-16", "Parameters", 1 - 10.3 / 138, "han2015", False,
                  "Parameters 138 million to 10.3 million without accuracy loss (abstract)."),
    DemoReduction("Magnitude pruning", "AlexNet", "Energy per inference", 0.5, None, True,
                  "Illustrative: the source reports parameters, not energy per inference."),
    DemoReduction("Magnitude pruning", "VGG-16", "Energy per inference", 0.5, None, True,
                  "Illustrative: the source reports parameters, not energy per inference."),
    DemoReduction("Knowledge distillation", "BERT-base", "Parameters", 0.40, "sanh2019", False,
                  "DistilBERT is 40 % smaller than BERT-base (abstract)."),
    DemoReduction("Knowledge distillation", "BERT-base", "Inference time", 1 - 1 / 1.6, "sanh2019", False,
                  "DistilBERT is 60 % faster (abstract): time divided by 1.6."),
    DemoReduction("Knowledge distillation", "BERT-base", "Accuracy", 0.03, "sanh2019", False,
                  "DistilBERT retains 97 % of BERT's language understanding (abstract)."),
    DemoReduction("Knowledge distillation", "BERT-base", "Energy per inference", 1 - 1 / 1.6, "sanh2019", True,
                  "Illustrative: assumes energy falls with inference time at constant power; "
                  "the source does not measure energy."),
    DemoReduction("Post-training quantization", "ResNet-50", "Model size", 0.75, None, True,
                  "Illustrative storage arithmetic: an 8-bit weight takes a quarter of a 32-bit float."),
    DemoReduction("Post-training quantization", "ResNet-50", "Energy per inference", 0.5, None, True,
                  "Illustrative: no energy figure from a published measurement is recorded."),
]


def seed_roi_catalogue() -> dict[str, int]:
    """Create what is missing of the demo ROI catalogue; never change rows that already exist."""
    created = {"roi_stages": 0, "roi_metrics": 0, "roi_architectures": 0, "roi_sources": 0, "roi_tactics": 0,
               "roi_options": 0, "roi_reductions": 0}

    stages = _by_name(PipelineStage, "name")
    for name, description in STAGES:
        if name not in stages:
            stages[name] = _add(PipelineStage(name=name, description=description), created, "roi_stages")

    metrics = _by_name(RoiMetric, "name")
    for name, unit, is_energy, higher, low, high, description in METRICS:
        if name not in metrics:
            metrics[name] = _add(RoiMetric(name=name, unit=unit, is_energy=is_energy, higher_is_better=higher,
                                           min_value=low, max_value=high, description=description),
                                 created, "roi_metrics")

    architectures = _by_name(ModelArchitecture, "name")
    for name, information in ARCHITECTURES:
        if name not in architectures:
            architectures[name] = _add(ModelArchitecture(name=name, information=information),
                                       created, "roi_architectures")

    by_url = _by_name(TacticSource, "url")
    sources = {}
    for key, (title, url) in SOURCES.items():
        if url not in by_url:
            by_url[url] = _add(TacticSource(title=title, url=url), created, "roi_sources")
        sources[key] = by_url[url]
    db.session.flush()

    tactics = _by_name(Tactic, "name")
    options = {}
    for item in TACTICS:
        tactic = tactics.get(item.name)
        if tactic is None:
            tactic = Tactic(name=item.name, information=f"{item.information}\n\n{DEMO_NOTE}", stage=stages[item.stage])
            tactic.sources = [sources[key] for key in item.sources]
            tactic.architectures = [architectures[name] for name in item.architectures]
            tactic.metrics = [metrics[name] for name in item.metrics]
            tactics[item.name] = _add(tactic, created, "roi_tactics")
            db.session.flush()
        option_name, option_value = item.option
        option = db.session.scalar(select(TacticParameterOption).where(
            TacticParameterOption.tactic_id == tactic.id, TacticParameterOption.name == option_name,
            TacticParameterOption.value == option_value))
        if option is None:
            option = _add(TacticParameterOption(tactic=tactic, name=option_name, value=option_value),
                          created, "roi_options")
            db.session.flush()
        options[item.name] = option

    for item in REDUCTIONS:
        option, architecture, metric = options[item.tactic], architectures[item.architecture], metrics[item.metric]
        exists = db.session.scalar(select(ExpectedReduction.id).where(
            ExpectedReduction.option_id == option.id, ExpectedReduction.architecture_id == architecture.id,
            ExpectedReduction.metric_id == metric.id))
        if exists is None:
            _add(ExpectedReduction(option=option, architecture=architecture, metric=metric, value=item.value,
                                   source=sources[item.source] if item.source else None,
                                   is_illustrative=item.illustrative, note=item.note),
                 created, "roi_reductions")

    db.session.flush()
    logger.info("Seeded the demo ROI catalogue: %s", created)
    return created


def _by_name(model, attribute: str) -> dict:
    return {getattr(row, attribute): row for row in db.session.scalars(select(model))}


def _add(row, created: dict[str, int], key: str):
    db.session.add(row)
    created[key] += 1
    return row
