"""Request and response schemas of the JSON API (pydantic v2).

The same classes validate requests and, through model_json_schema(), make up the OpenAPI
document, so the documentation cannot drift from what the server accepts. Request models
forbid unknown fields, so a misspelt field is reported instead of ignored.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

# PostgreSQL rejects NUL characters in text, so no input string may contain one.
_NO_NUL = r"^[^\x00]*$"
# Largest value of a PostgreSQL INTEGER column; ids and counts above it cannot exist.
MAX_INT = 2**31 - 1

Phase = Literal["training", "inference"]
GradeLetter = Literal["A", "B", "C", "D", "E"]
Direction = Literal["lower_is_better", "higher_is_better"]
FileFormat = Literal["codecarbon", "tabular", "carbontracker", "eco2ai"]
Key = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]


def text(max_length: int, min_length: int = 0) -> Any:
    """Return a string type without NUL characters, stripped of surrounding spaces, of bounded length."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length,
                                            pattern=_NO_NUL)]


def _metric_value(value: Any) -> Any:
    if value is None or isinstance(value, str) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        if isinstance(value, str) and ("\x00" in value or len(value) > 100):
            raise PydanticCustomError("metric_value", "Text values must be at most 100 characters without NUL.")
        return value
    raise PydanticCustomError(
        "metric_value", "Enter a number in the metric's unit, a text with a unit such as '1.2 kWh', or null; got {got}.",
        {"got": repr(value)},
    )


MetricValueInput = Annotated[
    Any,
    BeforeValidator(_metric_value),
    WithJsonSchema({
        "anyOf": [{"type": "number"}, {"type": "string", "maxLength": 100, "pattern": _NO_NUL}, {"type": "null"}],
        "description": "A number in the metric's unit, or text with a unit (\"1.2 MWh\", \"93 %\"); null leaves it out.",
    }),
]


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QueryModel(BaseModel):
    """Query parameters: unknown ones are ignored, as browsers and proxies add their own."""

    model_config = ConfigDict(extra="ignore")


# ---------------------------------------------------------------- errors and paging


class Problem(BaseModel):
    """An error as RFC 9457 problem details; `field` names the input that failed."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    field: str | None = None
    errors: dict[str, str] | None = Field(None, description="Every invalid input, by field name.")


class PageQuery(QueryModel):
    page: int = Field(1, ge=1, le=100_000, description="Page number, from 1.")
    per_page: int = Field(20, ge=1, le=100, description="Items per page, at most 100.")


class PageInfo(BaseModel):
    page: int
    per_page: int
    total: int = Field(description="Number of items over all pages.")
    pages: int


# ---------------------------------------------------------------- models


class ModelListQuery(PageQuery):
    search: text(200) = Field("", description="Words that must all occur in the name, author or Hub id.")
    source: Literal["user", "huggingface"] | None = Field(
        None, description="user: created on this site or through the API; huggingface: synced from the Hub.")
    phase: Phase | None = Field(None, description="Only models with at least one evaluation of this phase.")
    grade: GradeLetter | None = Field(None, description="Only models with an evaluation of this overall grade.")
    sort: Literal["-created", "created", "name", "-name"] = Field("-created", description="Order; '-' is descending.")


class ModelCreate(RequestModel):
    name: text(300, 1) = Field(description="The model's name.", examples=["ResNet-50 fine-tuned on CIFAR-10"])
    author: text(200) | None = None
    description: text(10_000) | None = None


class ModelLinks(BaseModel):
    self: str
    trainings: str
    inferences: str
    badge: str
    page: str


class ModelOut(BaseModel):
    id: int
    name: str
    author: str | None
    description: str | None
    created_at: datetime
    source: Literal["user", "huggingface"] | str
    external_id: str | None = Field(description="Id on the Hub for synced models.")
    external_url: str | None
    hidden: bool
    training_count: int
    inference_count: int
    latest_grade: GradeLetter | None = Field(description="Overall grade of the most recent visible evaluation.")
    links: ModelLinks


class ModelPage(PageInfo):
    items: list[ModelOut]


# ---------------------------------------------------------------- evaluations


class Provenance(RequestModel):
    """Origin of the figures, stored with the evaluation and shown on its label page."""

    tool: text(100) | None = Field(None, examples=["CodeCarbon"])
    tool_version: text(50) | None = Field(None, examples=["2.4.1"])
    method: Literal["measured", "estimated", "reported", "calculated"] | None = None
    source_url: text(500) | None = Field(None, description="Paper, run log or model card the figures come from.")
    file_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None
    notes: text(2000) | None = None


class EvaluationCreate(RequestModel):
    values: dict[Key, MetricValueInput] = Field(
        max_length=100, description="Metric key → value. Unknown keys are rejected; see GET /metrics.",
        examples=[{"energy": 12.4, "co2_eq_emissions": "5.9 kg", "duration": "3 h"}],
    )
    info: dict[Key, text(2000)] = Field(
        default_factory=dict, max_length=100,
        description="Information-field key → text, e.g. {\"country\": \"ESP\"}; see GET /info-fields.",
    )
    inference_count: int | None = Field(None, ge=1, le=MAX_INT,
                                        description="Inferences the measured run performed (inference only).")
    provenance: Provenance | None = None
    value_provenance: dict[Key, Provenance] = Field(
        default_factory=dict, max_length=100, description="Per metric key, where that value comes from.")
    registered_at: datetime | None = Field(None, description="When the run took place; default: now. "
                                                             "Dates without a time zone are read as UTC.")


class EvaluationLinks(BaseModel):
    self: str
    model: str
    label_json: str
    label_svg: str
    label_pdf: str
    badge: str
    page: str = Field(description="The public label page, also encoded in the label's QR code.")


class MetricValueOut(BaseModel):
    key: str
    name: str
    value: float
    unit: str
    grade: GradeLetter | None
    grade_colour: str | None
    weight: float = Field(description="Weight in the evaluation's rating scheme version; 0 is not in the overall grade.")
    provenance: dict[str, Any]


class InfoValueOut(BaseModel):
    key: str
    name: str
    value: str


class EvaluationSummary(BaseModel):
    id: int
    model_id: int
    phase: Phase
    registered_at: datetime
    source: str
    overall_grade: GradeLetter | None = Field(description="null when no weighted metric was graded (\"not rated\").")
    graded_count: int = Field(description="Metrics of the scheme with a weight that were graded.")
    scheme_metric_count: int = Field(description="Metrics of the scheme with a weight.")
    scheme_version: int | None
    hidden: bool
    links: EvaluationLinks


class EvaluationOut(EvaluationSummary):
    model_name: str
    overall_grade_colour: str | None
    values: list[MetricValueOut]
    info: list[InfoValueOut]
    inference_count: int | None
    country_code: str | None
    provenance: dict[str, Any]


class EvaluationPage(PageInfo):
    items: list[EvaluationSummary]


class LabelOut(BaseModel):
    """The energy label as data: the same grades as the label page, the SVG and the PDF."""

    model_config = ConfigDict(extra="allow")

    evaluation_id: int
    model_id: int
    model_name: str
    phase: Phase
    overall_grade: GradeLetter | None
    scheme_version: int | None
    page_url: str
    metrics: dict[str, dict[str, Any]]


# ---------------------------------------------------------------- catalogue


class GradeOut(BaseModel):
    letter: GradeLetter
    position: int = Field(description="0 for A (best) to 4 for E.")
    colour: str


class RatingOut(BaseModel):
    weight: float
    boundaries: list[float] = Field(min_length=4, max_length=4,
                                    description="b1..b4: A up to b1, B up to b2, … E beyond b4 (mirrored when higher is better).")


class MetricOut(BaseModel):
    key: str
    phase: Phase
    name: str
    unit: str
    direction: Direction
    description: str
    how_to_measure: str
    recommendations: list[str]
    pictogram: str
    published: RatingOut | None = Field(description="Weight and boundaries in the current published scheme version.")
    draft: RatingOut | None = Field(None, description="Weight and boundaries in the unpublished draft (managers only).")


class MetricListQuery(QueryModel):
    phase: Phase | None = None


class MetricCreate(RequestModel):
    phase: Phase
    name: text(200, 1) = Field(description="The key is derived from it: lower case, '_' between words.")
    unit: text(32, 1) = Field(examples=["kWh"])
    direction: Direction
    weight: float = Field(ge=0, allow_inf_nan=False)
    boundaries: list[Annotated[float, Field(allow_inf_nan=False)]] = Field(min_length=4, max_length=4)
    description: text(5000) = ""
    how_to_measure: text(5000) = ""
    recommendations: list[text(500, 1)] = Field(default_factory=list, max_length=30)


class MetricUpdate(RequestModel):
    """Fields to change; weight and boundaries go into the phase's draft scheme until it is published."""

    name: text(200, 1) | None = None
    unit: text(32, 1) | None = None
    direction: Direction | None = None
    weight: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    boundaries: list[Annotated[float, Field(allow_inf_nan=False)]] | None = Field(None, min_length=4, max_length=4)
    description: text(5000) | None = None
    how_to_measure: text(5000) | None = None
    recommendations: list[text(500, 1)] | None = Field(None, max_length=30)


class DeletionOut(BaseModel):
    deleted: str
    removed_values: int = 0
    removed_mappings: int = 0


class SchemeEntryOut(BaseModel):
    metric_key: str
    metric_name: str
    unit: str
    direction: Direction
    weight: float
    boundaries: list[float]


class SchemeOut(BaseModel):
    phase: Phase
    version: int | None = Field(description="null for the draft.")
    status: Literal["published", "draft"]
    summary: str
    published_at: datetime | None
    entries: list[SchemeEntryOut]


class SchemePublish(RequestModel):
    summary: text(2000, 1) = Field(description="What changed and why, shown with the version.")


class InfoFieldOut(BaseModel):
    key: str
    phase: Phase
    name: str
    description: str
    options: list[str] | None = Field(description="Allowed values; null means free text.")
    position: int


class InfoFieldCreate(RequestModel):
    phase: Phase
    name: text(200, 1) = Field(description="The key is derived from it: lower case, '_' between words.")
    description: text(5000) = ""
    options: list[text(200, 1)] | None = Field(None, max_length=200)


class InfoFieldUpdate(RequestModel):
    name: text(200, 1) | None = None
    description: text(5000) | None = None
    options: list[text(200, 1)] | None = Field(None, max_length=200, description="An empty list means free text.")


class MappingIn(RequestModel):
    """One column of the tool's files and the metric or information field it feeds (give exactly one)."""

    column: text(200, 1)
    metric: Key | None = Field(None, description="Metric key.")
    info_field: Annotated[str, StringConstraints(pattern=r"^(training|inference)\.[A-Za-z0-9_.\-]{1,64}$")] | None = Field(
        None, description="Information field as phase.key, e.g. training.country.")
    column_unit: text(32) | None = Field(None, description="Unit of the column's values, converted to the metric's unit.")
    per_inference: bool = Field(False, description=(
        "Inference metrics only: true when the column already contains one inference's value (e.g. latency_ms), so "
        "an upload does not divide it by the number of inferences. False: an energy, time or mass column is a "
        "total of the measured run and is divided."))


class MappingOut(BaseModel):
    phase: Phase
    column: str
    column_unit: str | None
    per_inference: bool = Field(description="True when the column already contains one inference's value, so an "
                                            "upload does not divide it by the number of inferences.")
    metric: str | None
    info_field: str | None


class ToolOut(BaseModel):
    id: int
    name: str
    description: str
    file_format: str
    mappings: list[MappingOut]


class ToolWrite(RequestModel):
    name: text(100, 1)
    file_format: FileFormat
    description: text(5000) = ""
    mappings: list[MappingIn] = Field(default_factory=list, max_length=200,
                                      description="The complete list: mappings left out are removed.")


class GradeList(BaseModel):
    items: list[GradeOut]


class MetricList(BaseModel):
    items: list[MetricOut]


class SchemeList(BaseModel):
    items: list[SchemeOut]


class InfoFieldList(BaseModel):
    items: list[InfoFieldOut]


class ToolList(BaseModel):
    items: list[ToolOut]


# ---------------------------------------------------------------- statistics, jobs, sync


class LabelCountsOut(BaseModel):
    models: int
    trainings: int
    inferences: int


class StatisticsOut(BaseModel):
    label: LabelCountsOut | None = Field(description="Visible GAISSALabel models and evaluations; null when that tool is off.")
    roi: dict[str, int] | None = Field(description="ROI Analyzer counters; null when that tool is off.")


class JobOut(BaseModel):
    id: str
    kind: str
    state: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    progress: float = Field(description="Fraction done, 0 to 1.")
    done: int
    total: int | None
    message: str
    log: list[str] = Field(description="The last log lines, oldest first.")
    result: dict[str, Any] | None
    error: str | None
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    links: dict[str, str]


class SyncStart(RequestModel):
    limit: int | None = Field(None, ge=1, le=100_000, description="Stop after this many Hub models.")


# ---------------------------------------------------------------- ROI analyses


class RoiValueIn(RequestModel):
    metric_id: int = Field(ge=1, le=MAX_INT)
    baseline: float = Field(allow_inf_nan=False, description="Baseline value in the metric's unit.")
    energy_price: float | None = Field(None, allow_inf_nan=False, description="€/kWh; energy metrics only.")
    implementation_cost: float | None = Field(None, allow_inf_nan=False, description="€; energy metrics only.")


class RoiAnalysisCreate(RequestModel):
    architecture_id: int = Field(ge=1, le=MAX_INT)
    option_id: int = Field(ge=1, le=MAX_INT, description="Tactic parameter option.")
    country_code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_]{2,16}$")] | None = Field(
        None, description="ISO 3166-1 alpha-3 code; null uses the world average carbon intensity.")
    values: list[RoiValueIn] = Field(min_length=1, max_length=50)


class RoiQuery(QueryModel):
    inferences: int | None = Field(None, ge=1, le=10**15, description="Number of inferences to compute the figures for.")


# Figures are null where a product of very large inputs overflows to infinity.
Figure = float | None


class RoiMetricRowOut(BaseModel):
    metric_id: int
    name: str
    unit: str
    baseline: float
    expected_reduction: float | None = Field(description="Fraction the analysis was saved with, e.g. 0.3 for 30 % less; "
                                                        "null when none is recorded.")
    new_value: Figure
    illustrative: bool = Field(description="True when the reduction is an illustrative figure, not a measured one.")


class RoiPointOut(BaseModel):
    inferences: int
    roi: Figure = Field(description="ROI as a fraction; null when undefined or unbounded (see `unbounded`).")
    unbounded: bool


class RoiEnergyOut(BaseModel):
    metric_id: int
    name: str
    reduction: float = Field(description="Expected energy reduction as a fraction.")
    energy_price_eur_per_kwh: float
    implementation_cost_eur: float
    inferences: int
    baseline_cost_per_inference_eur: Figure
    new_cost_per_inference_eur: Figure
    total_baseline_cost_eur: Figure
    total_new_cost_eur: Figure = Field(description="Energy cost of the inferences with the tactic plus its implementation cost.")
    savings_eur: Figure
    roi: Figure = Field(description="(income − costs) / costs after `inferences`; null when undefined or unbounded.")
    roi_unbounded: bool = Field(description="True when the tactic removes the whole energy cost at no cost.")
    infinite_horizon_roi: Figure
    infinite_horizon_roi_unbounded: bool
    break_even_inferences: int | None = Field(description="Smallest number of inferences whose savings cover the implementation "
                                                          "cost; null means it never breaks even.")
    emissions_baseline_g: Figure
    emissions_new_g: Figure
    emissions_saved_g: Figure
    series: list[RoiPointOut] = Field(description="ROI from the first inference to 40 × the break-even point.")


class CarbonIntensityOut(BaseModel):
    g_per_kwh: float
    year: int | None
    label: str
    is_world_average: bool


class RoiAnalysisOut(BaseModel):
    id: int
    kind: str
    title: str
    architecture: str
    tactic: str
    option: str
    country_code: str | None
    created_at: datetime
    inferences: int
    carbon_intensity: CarbonIntensityOut
    metrics: list[RoiMetricRowOut]
    energy: list[RoiEnergyOut]
    links: dict[str, str]


# ---------------------------------------------------------------- index


class IndexOut(BaseModel):
    name: str
    version: str
    openapi: str
    docs: str
