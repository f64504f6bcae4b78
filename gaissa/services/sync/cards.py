"""Parse the training facts that Hugging Face model cards state: pure functions, no I/O.

`co2_eq_emissions` is in grams of CO2 equivalent by the Hub's convention (huggingface/hub-docs,
docs/hub/model-cards-co2.md, "Displaying carbon emissions for your model"). Cards write it as a plain
number, as a mapping with emissions/source/training_type/geographical_location/hardware_used, as a
list of one-key mappings (an early draft of the spec), or as a string with a unit ("10 kg", "2.5e-05").
Template text copied from the docs ("in grams of CO2") and words such as "needed" are placeholders.
"""

import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

try:
    _YamlLoader = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _YamlLoader = yaml.SafeLoader

CO2_FIELD = "co2_eq_emissions"
MAX_PROSE_CHARS = 200_000
MAX_FIGURES = 10

# Grams per unit. The pound is the international avoirdupois pound, 453.59237 g exactly (1959 agreement).
# "ton"/"tons" are read as metric tonnes, as in "tCO2"; "Mt" is refused because it could mean megatonnes.
GRAMS_PER_UNIT = {
    "mg": 1e-3, "milligram": 1e-3, "milligrams": 1e-3,
    "g": 1.0, "gr": 1.0, "gram": 1.0, "grams": 1.0, "gramme": 1.0, "grammes": 1.0,
    "kg": 1e3, "kgs": 1e3, "kilo": 1e3, "kilos": 1e3, "kilogram": 1e3, "kilograms": 1e3,
    "t": 1e6, "ton": 1e6, "tons": 1e6, "tonne": 1e6, "tonnes": 1e6,
    "lb": 453.59237, "lbs": 453.59237, "pound": 453.59237, "pounds": 453.59237,
}

# Words that may follow an amount without changing it: "12 kg CO2eq", "0.43 kg eq. CO2".
_NOISE_WORDS = frozenset({
    "co2", "co₂", "co2e", "co2eq", "co2-eq", "co2-equivalent", "eq", "eq.", "equivalent", "of", "carbon",
    "dioxide", "emissions", "emitted", "ce", "e",
})
_APPROXIMATELY = re.compile(r"^(?:~|≈|about|approx\.?|approximately|ca\.|circa)\s*", re.IGNORECASE)
_AMOUNT = re.compile(
    r"^(?P<number>[-+]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)"
    r"(?:\s*(?:x|×|\*)\s*10\s*(?:\^|\*\*)\s*(?P<power>[-+]?\d+))?"
    r"\s*(?P<unit>[a-zA-Zµ][a-zA-Zµ0-9₂]*)?"
    r"(?P<rest>.*)$",
    re.DOTALL,
)
_UNIT_SUFFIX = re.compile(r"(?:co2|co₂)(?:-?e|-?eq|-?equivalent)?$")
_NUMBER_IN_TEXT = re.compile(r"[-+]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?")
_FREE_FIGURE = re.compile(
    r"(?P<number>\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*"
    r"(?P<unit>mg|g|grams?|kg|kilograms?|t|tonnes?|tons?|lbs?|pounds?)\s*"
    r"(?:eq\.?\s*|equivalent\s*)?(?:of\s+)?(?:co2|co₂)",
    re.IGNORECASE,
)
_UNIT_HINT = re.compile(r"\(\s*(?:in\s+)?(?P<unit>mg|g|grams?|kg|kilograms?|t|tonnes?|tons?|lbs?|pounds?)\b",
                        re.IGNORECASE)
_MARKDOWN_NOISE = re.compile(r"\*\*|__|`")

_PLACEHOLDERS = frozenset({
    "", "na", "n/a", "n.a", "n.a.", "none", "null", "nil", "nan", "unknown", "not specified", "unspecified",
    "not available", "not applicable", "not known", "needed", "more information needed", "tbd", "tba", "todo",
    "-", "--", "?", "??", "...", "…", "x", "xx", "xxx", "0 or more", "yes", "no", "true", "false",
})
# The example values of the co2_eq_emissions block in the Hub documentation (old and current revisions),
# which cards copy unchanged.
_TEMPLATE_TEXTS = frozenset({
    "in grams of co2",
    "number (in grams of co2)",
    "source of the information, either directly from autotrain, code carbon or from a scientific article "
    "documenting the model",
    "pretraining or fine-tuning",
    "pre-training or fine-tuning",
    "as granular as possible, for instance quebec, canada or brooklyn, ny, usa",
    "as granular as possible, for instance quebec, canada or brooklyn, ny, usa. to check your compute's "
    "electricity grid, you can check out https://app.electricitymap.org",
    "how much compute and what kind, e.g. 8 v100 gpus",
})
_MAPPING_ALIASES = {
    "emissions": "emissions", "emission": "emissions", "co2_eq_emissions": "emissions", "value": "emissions",
    "emissions_unit": "unit", "unit": "unit", "units": "unit",
    "source": "source",
    "training_type": "training_type",
    "geographical_location": "geographical_location", "location": "geographical_location",
    "hardware_used": "hardware_used", "hardware": "hardware_used",
}
MAPPING_FIELDS = ("source", "training_type", "geographical_location", "hardware_used")
_SOURCES = (
    ("autotrain", "AutoTrain"),
    ("autonlp", "AutoTrain"),
    ("codecarbon", "CodeCarbon"),
    ("mlco2", "ML CO2 Impact calculator"),
    ("machinelearningimpact", "ML CO2 Impact calculator"),
    ("googlecloud", "Google Cloud Carbon Footprint"),
    ("carbontracker", "carbontracker"),
    ("eco2ai", "eco2ai"),
)
_PAPER_MARKERS = ("arxiv.org", "doi.org", "paper", "article")


@dataclass(frozen=True)
class Flag:
    """Why a value is not trusted: a short code and a sentence for the admin screen."""

    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class Co2Reading:
    """The co2_eq_emissions of a card: the value as written and what it means in grams."""

    raw: Any
    form: str  # number, string, mapping, list, missing or other
    grams: float | None
    # Unit as written ("kg"); None for a bare number, which is grams by convention.
    unit: str | None
    problem: Flag | None
    # source, training_type, geographical_location and hardware_used as written in the mapping forms.
    fields: dict[str, Any] = field(default_factory=dict)
    card_field: str = CO2_FIELD

    @property
    def trusted(self) -> bool:
        return self.problem is None and self.grams is not None


@dataclass(frozen=True)
class FrontMatter:
    """The YAML metadata block of a README and the text after it."""

    metadata: dict[str, Any] | None
    body: str
    error: str | None = None


@dataclass(frozen=True)
class EmissionFigure:
    """An emissions figure stated in a card's text, converted to grams."""

    grams: float
    text: str


@dataclass(frozen=True)
class ProseFacts:
    """Training facts stated in a card's text, in the forms of the Hub's model-card template and of AutoTrain cards."""

    emissions: tuple[EmissionFigure, ...] = ()
    hardware: str | None = None
    cloud_provider: str | None = None
    compute_region: str | None = None
    training_type: str | None = None
    # accuracy, f1, rouge1, rougeL as stated (0–1 or percent).
    metrics: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "emissions": [{"grams": figure.grams, "text": figure.text} for figure in self.emissions],
            "hardware": self.hardware, "cloud_provider": self.cloud_provider,
            "compute_region": self.compute_region, "training_type": self.training_type,
            "metrics": dict(self.metrics),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "ProseFacts":
        data = data or {}
        figures = tuple(EmissionFigure(float(item["grams"]), str(item["text"])) for item in data.get("emissions") or ())
        return cls(
            emissions=figures, hardware=data.get("hardware"), cloud_provider=data.get("cloud_provider"),
            compute_region=data.get("compute_region"), training_type=data.get("training_type"),
            metrics={str(key): float(value) for key, value in (data.get("metrics") or {}).items()},
        )


# --- co2_eq_emissions ----------------------------------------------------------------------------

def parse_co2(raw: Any) -> Co2Reading:
    """Read a card's co2_eq_emissions in any form seen on the Hub and convert it to grams."""
    safe_raw = json_safe(raw)
    if raw is None:
        return Co2Reading(None, "missing", None, None, Flag("missing", "The card has no co2_eq_emissions value."))

    form = "other"
    if isinstance(raw, list):
        form = "list"
        merged, problem = _merge_list(raw)
        if problem is not None:
            return Co2Reading(safe_raw, form, None, None, problem)
        raw = merged
    if isinstance(raw, dict):
        form = "mapping" if form == "other" else form
        return _read_mapping(raw, safe_raw, form)

    if form == "other":
        form = "string" if isinstance(raw, str) else "number"
    grams, unit, problem = read_amount(raw)
    return Co2Reading(safe_raw, form, grams, unit, problem)


def read_amount(value: Any, unit_hint: str | None = None) -> tuple[float | None, str | None, Flag | None]:
    """Convert one emissions amount to grams; return (grams, unit as written, problem)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None, None, Flag("not_a_number", f"co2_eq_emissions is {_quote(value)}, not a number of grams.")

    unit = None
    if isinstance(value, str):
        text = " ".join(value.split())
        if is_placeholder(text):
            return None, None, Flag("placeholder", f"co2_eq_emissions is the placeholder {_quote(text)}, not a figure.")
        parsed = _parse_amount_text(text)
        if isinstance(parsed, Flag):
            return None, None, parsed
        number, unit = parsed
    else:
        number = float(value)

    unit = unit or (unit_hint.strip() if isinstance(unit_hint, str) and unit_hint.strip() else None)
    factor = 1.0
    if unit is not None:
        factor = grams_per_unit(unit)
        if factor is None:
            return None, unit, Flag(
                "unknown_unit", f"co2_eq_emissions has the unit {unit!r}, which is not a mass; use g, kg or t."
            )
    return _check_grams(number * factor, unit, value)


def grams_per_unit(unit: str) -> float | None:
    """Return how many grams one `unit` is ("kgCO2eq" → 1000), or None for an unknown unit."""
    key = unit.strip().lower().rstrip(".")
    key = _UNIT_SUFFIX.sub("", key) or key
    return GRAMS_PER_UNIT.get(key)


def _check_grams(grams: float, unit: str | None, value: Any) -> tuple[float | None, str | None, Flag | None]:
    if not math.isfinite(grams):
        return None, unit, Flag("not_finite", f"co2_eq_emissions is {_quote(value)}, which is not a finite number.")
    if grams < 0:
        return None, unit, Flag("negative", f"co2_eq_emissions is negative ({_quote(value)}); emissions cannot be below zero.")
    if grams == 0:
        return None, unit, Flag("zero", "co2_eq_emissions is 0 g, which means the emissions were not measured.")
    return grams, unit, None


def _parse_amount_text(text: str) -> tuple[float, str | None] | Flag:
    cleaned = _APPROXIMATELY.sub("", text.strip())
    match = _AMOUNT.match(cleaned)
    if match is None:
        return _unreadable(text)
    number = parse_number(match["number"])
    if number is None:
        return _unreadable(text)
    if match["power"]:
        number *= 10.0 ** int(match["power"])

    unit = match["unit"]
    rest_words = re.findall(r"[^\s()]+", match["rest"] or "")
    if unit and unit.lower() in _NOISE_WORDS:
        rest_words.insert(0, unit)
        unit = None
    if any(word.lower().strip(",;") not in _NOISE_WORDS for word in rest_words):
        return _unreadable(text)
    return number, unit


def _unreadable(text: str) -> Flag:
    if not any(character.isdigit() for character in text):
        return Flag("placeholder", f"co2_eq_emissions is the text {_quote(text)}, which holds no figure.")
    return Flag("unreadable", f"co2_eq_emissions {_quote(text)} is not an amount such as 12.5 or '12.5 g'.")


def parse_number(token: str) -> float | None:
    """Read a number token with thousands separators ("1,234.5") or a decimal comma ("0,5")."""
    token = token.strip()
    mantissa, exponent = _split_exponent(token)
    if re.fullmatch(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?", mantissa):
        mantissa = mantissa.replace(",", "")
    elif mantissa.count(",") == 1 and "." not in mantissa:
        mantissa = mantissa.replace(",", ".")
    try:
        return float(mantissa + exponent)
    except ValueError:
        return None


def _split_exponent(token: str) -> tuple[str, str]:
    match = re.search(r"[eE][-+]?\d+$", token)
    if match is None:
        return token, ""
    return token[: match.start()], token[match.start():]


def _merge_list(items: list[Any]) -> tuple[Any, Flag | None]:
    """Merge a list of one-key mappings into one mapping; a list of one scalar is that scalar."""
    if len(items) == 1 and not isinstance(items[0], (dict, list)):
        return items[0], None
    if not items or not all(isinstance(item, dict) for item in items):
        return None, Flag(
            "unrecognised_form",
            "co2_eq_emissions is a list that is not a list of key: value pairs; write a number of grams or a mapping.",
        )
    merged: dict[Any, Any] = {}
    for item in items:
        for key, value in item.items():
            merged.setdefault(key, value)
    return merged, None


def _read_mapping(mapping: dict[Any, Any], safe_raw: Any, form: str) -> Co2Reading:
    values: dict[str, Any] = {}
    for key, value in mapping.items():
        name = _MAPPING_ALIASES.get(re.sub(r"[\s-]+", "_", str(key).strip().lower()))
        if name is not None:
            values.setdefault(name, value)
    fields = {name: values.get(name) for name in MAPPING_FIELDS}
    card_field = f"{CO2_FIELD}.emissions"

    if values.get("emissions") is None:
        keys = ", ".join(str(key) for key in mapping) or "none"
        problem = Flag("missing", f"co2_eq_emissions has no emissions value (keys found: {keys}).")
        return Co2Reading(safe_raw, form, None, None, problem, fields, card_field)
    hint = values.get("unit") if isinstance(values.get("unit"), str) else None
    grams, unit, problem = read_amount(values["emissions"], unit_hint=hint)
    return Co2Reading(safe_raw, form, grams, unit, problem, fields, card_field)


# --- Placeholders and free-text fields ----------------------------------------------------------

def is_placeholder(text: str) -> bool:
    """Return True for text that stands for "no value": n/a, unknown, needed, template examples…"""
    key = " ".join(text.lower().split()).strip(" []()*_`'\".:;!")
    return (
        key in _PLACEHOLDERS
        or key in _TEMPLATE_TEXTS
        or "information needed" in key
        or key.startswith("in grams")
        or key.startswith("more info")
    )


def clean_text(value: Any, max_length: int = 200) -> str | None:
    """Return a card's free-text value on one line, or None for placeholders and non-text values."""
    if value is None or isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    text = " ".join(str(value).split()).strip(" *_`")
    if is_placeholder(text):
        return None
    return text[:max_length].rstrip()


def training_type(value: Any) -> str | None:
    """Map a card's training type to pretraining or fine-tuning; None when it is neither or both."""
    text = clean_text(value)
    if text is None:
        return None
    key = re.sub(r"[\s_-]+", "", text.lower())
    fine = "finetun" in key
    pre = "pretrain" in key or "fromscratch" in key
    if fine and not pre:
        return "fine-tuning"
    if pre and not fine:
        return "pretraining"
    return None


def emission_source(value: Any, tags: tuple[str, ...] = ()) -> str | None:
    """Name the tool or document the emissions figure comes from, in one spelling per tool.

    AutoTrain writes co2_eq_emissions into the cards it generates, so AutoTrain models without an
    explicit source get "AutoTrain". Unknown sources are kept as written.
    """
    text = clean_text(value)
    if text is not None:
        key = re.sub(r"[\s_.-]+", "", text.lower())
        for marker, name in _SOURCES:
            if marker in key:
                return name
        if any(marker in text.lower() for marker in _PAPER_MARKERS):
            return "Paper"
        return text
    lowered = {tag.lower() for tag in tags}
    if "autotrain" in lowered or "autonlp" in lowered:
        return "AutoTrain"
    return None


# --- Front matter and card text -----------------------------------------------------------------

def split_front_matter(text: str, parse: bool = True) -> FrontMatter:
    """Split a README into its YAML metadata and its text; report invalid YAML instead of raising.

    With parse=False only the text is wanted: the metadata is left unread (None).
    """
    stripped = text.lstrip("\ufeff")
    lines = stripped.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return FrontMatter(None, stripped)
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            body = "".join(lines[index + 1:])
            return _load_front_matter("".join(lines[1:index]), body) if parse else FrontMatter(None, body)
    return FrontMatter(None, stripped, "invalid YAML front matter: the block opened by '---' is never closed.")


def _load_front_matter(yaml_text: str, body: str) -> FrontMatter:
    try:
        data = yaml.load(yaml_text, Loader=_YamlLoader)  # noqa: S506 — a safe loader
    except yaml.YAMLError as exc:
        return FrontMatter(None, body, _describe_yaml_error(exc, yaml_text))
    if data is None:
        return FrontMatter({}, body)
    if not isinstance(data, dict):
        return FrontMatter(None, body, f"invalid YAML front matter: it is a {type(data).__name__}, not a mapping.")
    return FrontMatter(data, body)


def _describe_yaml_error(exc: yaml.YAMLError, yaml_text: str) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is None:
        return f"invalid YAML front matter: {problem}."
    lines = yaml_text.splitlines()
    line = lines[mark.line] if mark.line < len(lines) else ""
    character = line[mark.column] if mark.column < len(line) else ""
    hint = "; indent YAML with spaces, not tabs" if character == "\t" or "\\t" in problem else ""
    # +2: the opening '---' line, and 1-based numbering.
    return f"invalid YAML front matter at line {mark.line + 2}, column {mark.column + 1}: {problem}{hint}."


def read_prose(body: str) -> ProseFacts:
    """Collect emissions figures, hardware, cloud provider, region and evaluation metrics stated in a card's text."""
    figures: list[EmissionFigure] = []
    found: dict[str, Any] = {"metrics": {}}

    for raw_line in body[:MAX_PROSE_CHARS].splitlines():
        line = _MARKDOWN_NOISE.sub("", raw_line).strip().lstrip("-*•+#> ").strip()
        if not line:
            continue
        key, separator, value = line.partition(":")
        if separator and len(key) <= 160:
            _read_key_value(key, value.strip(), figures, found)
        for match in _FREE_FIGURE.finditer(line):
            _add_figure(figures, match["number"], match["unit"], match.group(0))

    return ProseFacts(
        emissions=tuple(figures[:MAX_FIGURES]), hardware=found.get("hardware"),
        cloud_provider=found.get("cloud_provider"), compute_region=found.get("compute_region"),
        training_type=found.get("training_type"), metrics=found["metrics"],
    )


_PROSE_TEXT_KEYS = {
    "hardware type": "hardware", "hardware": "hardware", "hardware used": "hardware", "gpu": "hardware",
    "gpus": "hardware", "cloud provider": "cloud_provider", "compute region": "compute_region",
    "training type": "training_type",
}
_PROSE_METRIC_KEYS = {"accuracy": "accuracy", "f1": "f1", "macrof1": "f1", "rouge1": "rouge1", "rougel": "rougeL"}


def _read_key_value(key: str, value: str, figures: list[EmissionFigure], found: dict[str, Any]) -> None:
    key_lower = key.lower().strip()
    key_main = key_lower.split("(")[0].strip()

    text_key = _PROSE_TEXT_KEYS.get(key_main)
    if text_key is not None:
        if found.get(text_key) is None:
            found[text_key] = clean_text(value)
        return

    metric_key = _PROSE_METRIC_KEYS.get(re.sub(r"[\s_-]+", "", key_main))
    if metric_key is not None:
        number = _first_number(value)
        if number is not None and metric_key not in found["metrics"]:
            found["metrics"][metric_key] = number
        return

    mentions_emissions = re.search(r"co2|co₂|carbon emitted|emission|carbon footprint", key_main)
    about_something_else = re.search(r"kwh|energy|power|intensity|hours|region|provider|source|type|rate", key_main)
    if not mentions_emissions or about_something_else or is_placeholder(value):
        return
    match = re.match(r"^\s*(?:~|≈|about|approx\.?|approximately)?\s*(?P<number>" + _NUMBER_IN_TEXT.pattern +
                     r")\s*(?P<unit>[a-zA-Zµ][a-zA-Zµ0-9₂]*)?", value, re.IGNORECASE)
    if match is None:
        return
    unit = match["unit"] if match["unit"] and grams_per_unit(match["unit"]) is not None else None
    if unit is None:
        hint = _UNIT_HINT.search(key_lower)
        unit = hint["unit"] if hint else None
    if unit is not None:
        _add_figure(figures, match["number"], unit, f"{key.strip()}: {value}"[:160])


def _add_figure(figures: list[EmissionFigure], number_text: str, unit: str, snippet: str) -> None:
    number = parse_number(number_text)
    factor = grams_per_unit(unit)
    if number is None or factor is None or number <= 0 or not math.isfinite(number):
        return
    grams = number * factor
    if any(math.isclose(existing.grams, grams, rel_tol=1e-9) for existing in figures):
        return
    figures.append(EmissionFigure(grams, " ".join(snippet.split())[:160]))


def _first_number(text: str) -> float | None:
    match = _NUMBER_IN_TEXT.search(text)
    return parse_number(match.group(0)) if match else None


def compare_with_prose(grams: float | None, figures: tuple[EmissionFigure, ...]) -> Flag | None:
    """Flag a metadata value that a figure of the card's text puts 1000 times away (a g/kg mix-up)."""
    if grams is None or grams <= 0 or not figures:
        return None
    ratios = [(figure, grams / figure.grams) for figure in figures if figure.grams > 0]
    if any(0.5 <= ratio <= 2.0 for _, ratio in ratios):
        return None
    for figure, ratio in ratios:
        if 500.0 <= ratio <= 2000.0 or 1 / 2000.0 <= ratio <= 1 / 500.0:
            direction = "more" if ratio > 1 else "less"
            return Flag(
                "prose_mismatch",
                f"The card's metadata says {grams:g} g but its text says \"{figure.text}\" ({figure.grams:g} g): "
                f"the metadata is about 1000 times {direction}, so one of them has the wrong unit.",
            )
    return None


# --- Helpers ------------------------------------------------------------------------------------

def json_safe(value: Any, depth: int = 0) -> Any:
    """Return a copy of a YAML value that JSON can store (dates as text, NaN and infinity as text)."""
    if depth > 8:
        return str(value)[:200]
    if isinstance(value, dict):
        return {str(key)[:100]: json_safe(item, depth + 1) for key, item in list(value.items())[:50]}
    if isinstance(value, (list, tuple)):
        return [json_safe(item, depth + 1) for item in list(value)[:50]]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)[:500]


def _quote(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    return text if len(text) <= 80 else text[:77] + "…'"
