"""The default GAISSALabel catalogue: grades, metrics with their first boundaries, fields and tools.

Training boundaries of co2_eq_emissions, size_efficiency, dataset_size_efficiency, downloads and
performance_score are the 20/40/60/80 % quantiles (numpy's default linear interpolation) of the
positive values of the matching columns of data/hf-co2-models.csv. That file lists 1,419 Hugging
Face models whose cards declared co2_eq_emissions, mined in 2023 by the GAISSA group (Castaño et
al., 2023, arXiv:2305.11164). The best fifth of that population gets A, so for higher-is-better metrics the
boundaries start from the 80 % quantile. tests/unit/test_catalogue_defaults.py recomputes them.

The energy boundaries are the CO2 boundaries divided by the world carbon intensity of 2024,
473.0065 g/kWh (Our World in Data, "Carbon intensity of electricity generation", OWID_WRL 2024).
The remaining boundaries are set by decades, as documented beside each number.
"""

from dataclasses import dataclass, field

WORLD_INTENSITY_2024_G_PER_KWH = 473.0065

GRADES = (
    # Colours of the A–E arrows of the EU-style label the GAISSA group published.
    ("A", 0, "#639b30"),
    ("B", 1, "#b8ac2b"),
    ("C", 2, "#f8b830"),
    ("D", 3, "#ef7d29"),
    ("E", 4, "#e52421"),
)

# Quantiles 20/40/60/80 % of hf-co2-models.csv (positive values only), and how many values they come from.
CO2_QUANTILES_G = (0.2949922755468785, 1.8152960030063505, 6.859637236879595, 28.095195236108683)  # 1,418 values
SIZE_EFFICIENCY_QUANTILES = (27559339.85, 103757998.92582232, 328488801.47483647, 1663713594.6335986)  # 1,306 values
DATASET_SIZE_EFFICIENCY_QUANTILES = (192632.0525053777, 1417578.811622627, 3454303.529411765, 31766511.228903897)  # 65
DOWNLOADS_QUANTILES = (3.0, 4.0, 7.0, 17.0)  # 1,281 values
PERFORMANCE_SCORE_QUANTILES = (0.5038561563614803, 0.7627145868494744, 0.8997420680157007, 0.9687612883220836)  # 1,043


def _descending(quantiles: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """Boundaries of a higher-is-better metric: A from the 80 % quantile down to E below the 20 % one."""
    return tuple(reversed(quantiles))  # type: ignore[return-value]


@dataclass(frozen=True)
class MetricDefault:
    key: str
    phase: str
    name: str
    unit: str
    direction: str
    weight: float
    boundaries: tuple[float, float, float, float]
    pictogram: str
    description: str
    how_to_measure: str
    recommendations: tuple[str, ...] = field(default_factory=tuple)


LOWER = "lower_is_better"
HIGHER = "higher_is_better"

METRICS = (
    MetricDefault(
        "energy", "training", "Training energy", "kWh", LOWER, 0.35,
        tuple(q / WORLD_INTENSITY_2024_G_PER_KWH for q in CO2_QUANTILES_G),  # type: ignore[arg-type]
        "battery",
        "Electricity consumed by the hardware during the whole training run, including the data centre's PUE when the tool applies it.",
        "Run the training under CodeCarbon (energy_consumed column, kWh), carbontracker or eco2ai, or read the "
        "power meter of the machine. Enter the total of the run, e.g. '12.4 kWh' or '3.1 MWh'.",
        ("Train on hardware with better performance per watt (recent GPUs or TPUs) and keep it fully utilised.",
         "Use mixed-precision training and efficient attention kernels to shorten each step.",
         "Stop early when the validation metric no longer improves; avoid oversized hyper-parameter searches.",
         "Start from a pre-trained model and fine-tune instead of training from scratch."),
    ),
    MetricDefault(
        "co2_eq_emissions", "training", "CO2 emissions", "g", LOWER, 0.25, CO2_QUANTILES_G, "co2",
        "Greenhouse-gas emissions of the training in grams of CO2 equivalent: the energy used times the carbon "
        "intensity of the electricity where it ran.",
        "Take the emissions column of CodeCarbon (kg, converted automatically) or the co2_eq_emissions field of a "
        "Hugging Face model card (grams). When only energy and the country are known, the site derives it.",
        ("Train in a region or at a time with low-carbon electricity.",
         "Reduce the training energy (see the energy recommendations).",
         "Reuse and share trained models so that the emissions are not paid again."),
    ),
    MetricDefault(
        "duration", "training", "Training duration", "h", LOWER, 0.10, (0.1, 1.0, 10.0, 100.0), "clock",
        "Wall-clock time of the training run. Decade boundaries: 6 minutes, 1 hour, 10 hours and 100 hours.",
        "Use the duration column of CodeCarbon (seconds, converted automatically) or the job's start and end times.",
        ("Profile the input pipeline so that accelerators do not wait for data.",
         "Use larger batches with learning-rate scaling where the model allows it.",
         "Cache pre-processed data between runs."),
    ),
    MetricDefault(
        "size_efficiency", "training", "Size efficiency", "B/g", HIGHER, 0.10, _descending(SIZE_EFFICIENCY_QUANTILES),
        "parameters",
        "Model file size per gram of CO2 emitted to train it. Higher means a large model was produced for low emissions.",
        "Divide the size of the model's weight files in bytes by the training emissions in grams.",
        ("Prune the model to remove weights that do not contribute.",
         "Distil a large model into a smaller student.",
         "Choose efficient architectures such as MobileNet or EfficientNet for vision tasks."),
    ),
    MetricDefault(
        "dataset_size_efficiency", "training", "Dataset size efficiency", "B/g", HIGHER, 0.10,
        _descending(DATASET_SIZE_EFFICIENCY_QUANTILES), "dataset",
        "Size of the training data per gram of CO2 emitted. Higher means more data was learned from per gram.",
        "Divide the size of the training data set in bytes by the training emissions in grams.",
        ("Remove duplicate and low-quality samples so that each epoch learns more per joule.",
         "Use curriculum or active learning to reach the target quality with fewer passes."),
    ),
    MetricDefault(
        "downloads", "training", "Downloads", "count", HIGHER, 0.05, _descending(DOWNLOADS_QUANTILES), "downloads",
        "How many times the model was downloaded: the more it is reused, the more its training emissions are shared out.",
        "Copy the download count of the model's Hub page (the Hugging Face sync fills it in).",
        ("Publish the model with a clear model card so that others can reuse it instead of training their own.",),
    ),
    MetricDefault(
        "performance_score", "training", "Performance score", "score", HIGHER, 0.05,
        _descending(PERFORMANCE_SCORE_QUANTILES), "target",
        "Quality of the model on its main evaluation metric (accuracy, F1, ROUGE…) as a number from 0 to 1.",
        "Enter the evaluation metric that suits the task, from 0 to 1 (or as a percentage, e.g. '93 %').",
        ("Improve data quality before scaling up the model.",
         "Benchmark regularly against simpler baselines: a small model can be good enough."),
    ),
    MetricDefault(
        "energy_per_inference", "inference", "Energy per inference", "J", LOWER, 0.40, (1.0, 10.0, 100.0, 1000.0),
        "battery",
        "Electricity used to answer one request. Decade boundaries: 1, 10, 100 and 1,000 joules (1 Wh = 3,600 J).",
        "Measure a batch of inferences with CodeCarbon and divide energy_consumed by the number of inferences "
        "(the upload form does this), or let the site measure a deployed endpoint.",
        ("Quantize the model (int8 or 4-bit) for serving.",
         "Batch requests and serve with an optimised runtime (ONNX Runtime, TensorRT, vLLM).",
         "Cache frequent answers and route easy requests to a smaller model."),
    ),
    MetricDefault(
        "latency", "inference", "Latency", "ms", LOWER, 0.20, (10.0, 50.0, 200.0, 1000.0), "clock",
        "Time to answer one request, in milliseconds. Boundaries: 10, 50, 200 and 1,000 ms.",
        "Measure the mean time per request, for example with the endpoint measurement or your load-test tool.",
        ("Reduce the model's size and precision.", "Serve close to the users and keep the model warm in memory."),
    ),
    MetricDefault(
        "parameters", "inference", "Parameters", "count", LOWER, 0.10, (1e7, 1e8, 1e9, 1e10), "parameters",
        "Number of learned parameters. Decade boundaries: 10 million, 100 million, 1 billion and 10 billion.",
        "Run gaissa-probe on the model file (safetensors or ONNX, or PyTorch or Keras with that library installed), "
        "or count the parameters in your framework.",
        ("Prune or distil the model.", "Pick the smallest model of a family that meets the quality target."),
    ),
    MetricDefault(
        "file_size", "inference", "Model file size", "MB", LOWER, 0.10, (40.0, 400.0, 4000.0, 40000.0), "file",
        "Size of the model's weight files in megabytes (10^6 bytes). Boundaries: 40 MB, 400 MB, 4 GB and 40 GB.",
        "Run gaissa-probe on the model file, or add up the sizes of the weight files.",
        ("Store and serve weights in lower precision (fp16, int8).", "Remove unused heads and embeddings."),
    ),
    MetricDefault(
        "flops", "inference", "FLOPs per inference", "GFLOPs", LOWER, 0.10, (1.0, 10.0, 100.0, 1000.0), "flops",
        "Floating-point operations for one inference, in billions. Decade boundaries: 1, 10, 100 and 1,000 GFLOPs.",
        "Run gaissa-probe on an ONNX export of the model, or use a FLOP counter such as fvcore.",
        ("Use efficient operators and lower input resolution or sequence length where quality allows.",),
    ),
    MetricDefault(
        "accuracy", "inference", "Accuracy", "score", HIGHER, 0.10, (0.95, 0.90, 0.80, 0.70), "target",
        "Quality of the served model on its test set, from 0 to 1. Boundaries: 0.95, 0.90, 0.80 and 0.70.",
        "Evaluate the deployed model on a held-out test set and enter the accuracy (or '93 %').",
        ("Check that compression kept the accuracy: measure before and after quantization or pruning.",),
    ),
)


@dataclass(frozen=True)
class InfoFieldDefault:
    key: str
    phase: str
    name: str
    description: str
    options: tuple[str, ...] | None = None


_COMMON_FIELDS = (
    ("hardware_used", "Hardware used", "Accelerators and CPUs that ran the workload, e.g. '8 × NVIDIA A100 40GB'.", None),
    ("country", "Country of computation",
     "Country whose electricity powered the computation (name or ISO 3166 alpha-3 code such as ESP). "
     "It sets the carbon intensity used to derive CO2 from energy.", None),
    ("cloud_provider", "Cloud provider", "Cloud provider and region, if any, e.g. 'AWS eu-west-1'.", None),
    ("source", "Source of the figures",
     "Where the numbers come from: a measurement tool (CodeCarbon, carbontracker…), a paper, a model card.", None),
)

INFO_FIELDS = (
    InfoFieldDefault("training_type", "training", "Training type", "Whether the model was trained from scratch or fine-tuned.",
                     ("pretraining", "fine-tuning")),
    *(InfoFieldDefault(key, "training", name, description, options) for key, name, description, options in _COMMON_FIELDS),
    InfoFieldDefault("location", "training", "Location of computation",
                     "Where the training ran, as its source states it, e.g. 'Eemshaven, Netherlands' or 'East US'."),
    InfoFieldDefault("library", "training", "Library", "ML libraries of the model, e.g. transformers, pytorch."),
    InfoFieldDefault("domain", "training", "Domain", "Application domain of the model.",
                     ("NLP", "Computer Vision", "Audio", "Multimodal", "Reinforcement Learning", "Tabular", "Other")),
    InfoFieldDefault("datasets", "training", "Training data sets", "Names of the data sets the model was trained on."),
    *(InfoFieldDefault(key, "inference", name, description, options) for key, name, description, options in _COMMON_FIELDS),
    InfoFieldDefault("serving_runtime", "inference", "Serving runtime",
                     "Software that served the model, e.g. ONNX Runtime, vLLM, TorchServe."),
)


@dataclass(frozen=True)
class MappingDefault:
    phase: str
    column: str
    metric: str | None = None
    field: str | None = None
    column_unit: str | None = None
    # True when the column already contains one inference's value; see ToolMapping.per_inference.
    per_inference: bool = False


@dataclass(frozen=True)
class ToolDefault:
    name: str
    file_format: str
    description: str
    mappings: tuple[MappingDefault, ...]


TOOLS = (
    ToolDefault(
        "CodeCarbon", "codecarbon",
        "CodeCarbon (https://mlco2.github.io/codecarbon/) writes emissions.csv with one row per run: duration in s, "
        "emissions in kg CO2eq and energy_consumed in kWh (already multiplied by the PUE). Every version from 0.x "
        "(12 columns) to 3.x (38 columns) is read by header name.",
        (
            MappingDefault("training", "energy_consumed", metric="energy", column_unit="kWh"),
            MappingDefault("training", "emissions", metric="co2_eq_emissions", column_unit="kg"),
            MappingDefault("training", "duration", metric="duration", column_unit="s"),
            MappingDefault("training", "country_iso_code", field="country"),
            MappingDefault("training", "cloud_provider", field="cloud_provider"),
            MappingDefault("training", "cpu_model", field="hardware_used"),
            # Inference files measure a batch; the importer divides these totals by the number of inferences.
            MappingDefault("inference", "energy_consumed", metric="energy_per_inference", column_unit="kWh"),
            MappingDefault("inference", "duration", metric="latency", column_unit="s"),
            MappingDefault("inference", "country_iso_code", field="country"),
            MappingDefault("inference", "cloud_provider", field="cloud_provider"),
            MappingDefault("inference", "cpu_model", field="hardware_used"),
        ),
    ),
    ToolDefault(
        "GAISSALabel model probe", "tabular",
        "gaissa-probe, installed with GAISSA Tools, reads a safetensors or ONNX model file, and a PyTorch or Keras "
        "file when that library is installed. It writes a CSV with the parameter count, the file size in bytes and "
        "the FLOPs of one inference, which only ONNX models give.",
        (
            MappingDefault("inference", "parameters", metric="parameters", column_unit="count"),
            MappingDefault("inference", "file_size_bytes", metric="file_size", column_unit="B"),
            # gaissa-probe writes the FLOPs of one input. FLOPs are never divided, so the flag only documents this.
            MappingDefault("inference", "flops", metric="flops", column_unit="FLOPs", per_inference=True),
        ),
    ),
    ToolDefault(
        "carbontracker", "carbontracker",
        "carbontracker (https://github.com/lfwa/carbontracker) log files: the 'Actual consumption' block gives the "
        "time (h:mm:ss), energy in kWh and CO2eq in grams.",
        (
            MappingDefault("training", "energy_kwh", metric="energy", column_unit="kWh"),
            MappingDefault("training", "co2eq_g", metric="co2_eq_emissions", column_unit="g"),
            MappingDefault("training", "duration_s", metric="duration", column_unit="s"),
        ),
    ),
    ToolDefault(
        "eco2ai", "eco2ai",
        "eco2ai (https://github.com/sb-ai-lab/Eco2AI) CSV files of every layout since 2022: power_consumption in "
        "kWh, CO2_emissions in kg and duration in s.",
        (
            MappingDefault("training", "power_consumption(kWh)", metric="energy", column_unit="kWh"),
            MappingDefault("training", "CO2_emissions(kg)", metric="co2_eq_emissions", column_unit="kg"),
            MappingDefault("training", "duration(s)", metric="duration", column_unit="s"),
        ),
    ),
)
