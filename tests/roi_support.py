"""A small ROI catalogue for tests: the data set of the original analyzer's integration tests.

It holds Spain (ESP) with carbon-intensity rows, the ResNet50 architecture and a paper. Its tactic
Weight Pruning changes Energy Consumption (J, 0–2000) and Inference Time (ms, 0–1000), and its
option sparsity 0.5 is expected to reduce them by 30 % and 20 %.
"""

from dataclasses import dataclass

from gaissa.extensions import db
from gaissa.models import CarbonIntensity, Country
from gaissa.models.roi import (
    ExpectedReduction,
    ModelArchitecture,
    PipelineStage,
    RoiMetric,
    Tactic,
    TacticParameterOption,
    TacticSource,
)
from gaissa.services import roi_catalogue


@dataclass
class Catalogue:
    stage: PipelineStage
    architecture: ModelArchitecture
    other_architecture: ModelArchitecture
    source: TacticSource
    energy: RoiMetric
    time: RoiMetric
    accuracy: RoiMetric
    tactic: Tactic
    option: TacticParameterOption
    other_option: TacticParameterOption
    spain: Country

    def values(self, energy=100.0, price=0.20, cost=1000.0, time=50.0):
        """Return valid metric inputs; override one to make it invalid."""
        return [
            roi_catalogue.MetricInput(self.energy.id, energy, price, cost),
            roi_catalogue.MetricInput(self.time.id, time),
        ]


def make_catalogue() -> Catalogue:
    """Add the test catalogue to the current transaction and return its rows."""
    spain = Country(code="ESP", name="Spain")

    spain.intensities = [CarbonIntensity(year=2022, g_per_kwh=150.0), CarbonIntensity(year=2023, g_per_kwh=120.0)]
    stage = PipelineStage(name="Test optimization", description="Stage for tests")
    architecture = ModelArchitecture(name="ResNet50", information="Residual network")
    other_architecture = ModelArchitecture(name="VGG16")
    source = TacticSource(title="Test Research Paper", url="https://arxiv.org/abs/1234.5678")
    energy = RoiMetric(name="Energy Consumption", unit="J", is_energy=True, min_value=0.0, max_value=2000.0)
    time = RoiMetric(name="Inference Time", unit="ms", min_value=0.0, max_value=1000.0)
    accuracy = RoiMetric(name="Test Accuracy", unit="%", higher_is_better=True, min_value=0.0, max_value=100.0)
    tactic = Tactic(name="Weight Pruning", information="Prunes weights", stage=stage)
    tactic.sources = [source]
    tactic.architectures = [architecture]
    tactic.metrics = [energy, time]
    option = TacticParameterOption(tactic=tactic, name="sparsity", value="0.5")
    other_option = TacticParameterOption(tactic=tactic, name="sparsity", value="0.8")

    db.session.add_all([spain, stage, architecture, other_architecture, source, energy, time, accuracy, tactic,
                        option, other_option])
    db.session.flush()

    db.session.add_all([
        ExpectedReduction(architecture=architecture, option=option, metric=energy, value=0.30, source=source),
        ExpectedReduction(architecture=architecture, option=option, metric=time, value=0.20, source=source),
        ExpectedReduction(architecture=architecture, option=other_option, metric=energy, value=0.50,
                          is_illustrative=True, note="made up"),
        ExpectedReduction(architecture=architecture, option=other_option, metric=time, value=0.40,
                          is_illustrative=True, note="made up"),
    ])
    db.session.flush()
    return Catalogue(stage, architecture, other_architecture, source, energy, time, accuracy, tactic, option,
                     other_option, spain)
