"""A local HTTP server that serves the Hugging Face Hub API calls that huggingface_hub makes.

It serves what the sync reads: GET /api/models (filter, sort, expand, limit, cursor pagination with
a `Link: <…>; rel="next"` header), GET /api/models/{repo_id} (with `blobs=True` file sizes),
GET /api/datasets/{dataset_id} (with `expand=cardData`) and GET /{repo_id}/resolve/{revision}/README.md.
Card metadata is parsed from each README's YAML front matter, as the Hub does; a README whose YAML is
invalid has no card data. Tests can inject error responses (429 with Retry-After, 5xx) and hold requests
at a gate.

Run it alone for benchmarks: `python -m tests.hub_server --replicate 20000` prints its URL.
"""

import argparse
import ast
import base64
import csv
import hashlib
import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import yaml

CO2_TAG = "co2_eq_emissions"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class FakeRepo:
    """One model repository of the fake Hub."""

    repo_id: str
    readme: str
    last_modified: datetime
    created_at: datetime | None = None
    downloads: int = 0
    likes: int = 0
    library_name: str | None = None
    pipeline_tag: str | None = None
    tags: list[str] = field(default_factory=list)
    # (path, size in bytes)
    files: list[tuple[str, int]] = field(default_factory=list)
    parameters: int | None = None
    # Listed under the co2_eq_emissions tag even when its card data cannot be parsed.
    force_co2_tag: bool = False
    revision: int = 1
    card_data: dict[str, Any] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.card_data = card_data_of(self.readme)

    @property
    def sha(self) -> str:
        return hashlib.sha1(f"{self.repo_id}@{self.revision}".encode()).hexdigest()

    def edit(self, readme: str | None = None, when: datetime | None = None, **changes: Any) -> None:
        """Commit a change: a new README and/or other fields, a new revision and a new modification time."""
        if readme is not None:
            self.readme = readme
            self.card_data = card_data_of(readme)
        for name, value in changes.items():
            setattr(self, name, value)
        self.revision += 1
        self.last_modified = when or self.last_modified + timedelta(days=400)

    def all_tags(self) -> list[str]:
        """Return the repository's tags as the Hub lists them: its own, the card's, and co2_eq_emissions."""
        card_tags = (self.card_data or {}).get("tags")
        if isinstance(card_tags, str):
            card_tags = [card_tags]
        if not isinstance(card_tags, list):
            card_tags = []
        tags = list(dict.fromkeys([*self.tags, *(tag for tag in card_tags if isinstance(tag, str))]))
        if (self.force_co2_tag or (self.card_data or {}).get(CO2_TAG) is not None) and CO2_TAG not in tags:
            tags.append(CO2_TAG)
        return tags


@dataclass
class FakeDataset:
    dataset_id: str
    card_data: dict[str, Any] | None = None


def card_data_of(readme: str) -> dict[str, Any] | None:
    """Parse the README's front matter as the Hub does: None when it is missing or invalid."""
    if not readme.startswith("---"):
        return None
    end = readme.find("\n---", 3)
    if end < 0:
        return None
    try:
        data = yaml.load(readme[3:end], Loader=_LOADER)  # noqa: S506 — a safe loader
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) and data else None


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class _Fault:
    pattern: re.Pattern
    remaining: int
    status: int
    retry_after: str | None
    # Matching requests still to serve normally before the fault starts.
    after: int = 0


@dataclass
class _Gate:
    pattern: re.Pattern
    after: int
    seen: int = 0
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class FakeHub:
    """The fake Hub: its repositories, data sets, injected faults and the requests it received."""

    def __init__(self, page_size: int = 100, record_requests: bool = True):
        self.page_size = page_size
        self.record_requests = record_requests
        self.repos: dict[str, FakeRepo] = {}
        self.datasets: dict[str, FakeDataset] = {}
        # (path, query, Authorization header) of every request received.
        self.requests: list[tuple[str, dict[str, list[str]], str | None]] = []
        self._faults: list[_Fault] = []
        self._gates: list[_Gate] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- Content --------------------------------------------------------------------------------

    def add(self, repos: Iterable[FakeRepo] = (), datasets: Iterable[FakeDataset] = ()) -> None:
        for repo in repos:
            self.repos[repo.repo_id] = repo
        for dataset in datasets:
            self.datasets[dataset.dataset_id] = dataset

    def fail(self, path_pattern: str, status: int = 429, times: int = 1, retry_after: str | None = "0",
             after: int = 0) -> None:
        """Fail `times` requests whose path matches with `status`, after serving `after` of them normally."""
        with self._lock:
            self._faults.append(_Fault(re.compile(path_pattern), times, status, retry_after, after))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def gate(self, path_pattern: str, after: int) -> _Gate:
        """Hold every matching request after the first `after` until `gate.release` is set."""
        gate = _Gate(re.compile(path_pattern), after)
        with self._lock:
            self._gates.append(gate)
        return gate

    def count(self, path_pattern: str) -> int:
        pattern = re.compile(path_pattern)
        return sum(1 for path, _, _ in list(self.requests) if pattern.search(path))

    # --- Server ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self, port: int = 0) -> str:
        hub = self

        class Handler(_Handler):
            fake_hub = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-hub", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        for gate in self._gates:
            gate.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeHub":
        self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # --- Responses --------------------------------------------------------------------------------

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.pattern.search(path):
                    if fault.after > 0:
                        fault.after -= 1
                        continue
                    fault.remaining -= 1
                    return fault
        return None

    def _wait_at_gates(self, path: str) -> None:
        for gate in self._gates:
            if gate.pattern.search(path):
                with self._lock:
                    gate.seen += 1
                    held = gate.seen > gate.after
                if held:
                    gate.reached.set()
                    gate.release.wait(timeout=120)

    def listing(self, query: dict[str, list[str]]) -> tuple[list[dict[str, Any]], str | None]:
        """Return one page of the listing and the cursor of the next page."""
        filters = query.get("filter", [])
        expand = query.get("expand", [])
        limit = int(query["limit"][0]) if query.get("limit") else None
        page_size = min(limit, 1000) if limit else self.page_size
        repos = sorted(
            (repo for repo in list(self.repos.values()) if all(tag in repo.all_tags() for tag in filters)),
            key=lambda repo: (-repo.last_modified.timestamp(), repo.repo_id),
        )
        if query.get("cursor"):
            after = json.loads(base64.urlsafe_b64decode(query["cursor"][0].encode()).decode())
            key = (-after[0], after[1])
            repos = [repo for repo in repos if (-repo.last_modified.timestamp(), repo.repo_id) > key]
        page, rest = repos[:page_size], repos[page_size:]
        cursor = None
        if rest:
            last = page[-1]
            cursor = base64.urlsafe_b64encode(json.dumps([last.last_modified.timestamp(), last.repo_id]).encode()).decode()
        return [self.model_json(repo, expand=expand) for repo in page], cursor

    def model_json(self, repo: FakeRepo, expand: list[str] | None = None, blobs: bool = False) -> dict[str, Any]:
        siblings = []
        for path, size in [("README.md", len(repo.readme.encode())), *repo.files]:
            sibling: dict[str, Any] = {"rfilename": path}
            if blobs:
                sibling["size"] = size
                sibling["blobId"] = hashlib.sha1(f"{repo.sha}/{path}".encode()).hexdigest()
                if size > 10_000_000:
                    sibling["lfs"] = {"size": size, "sha256": hashlib.sha256(path.encode()).hexdigest(),
                                      "pointerSize": 134}
            siblings.append(sibling)
        author = repo.repo_id.split("/")[0] if "/" in repo.repo_id else None
        data: dict[str, Any] = {
            "_id": hashlib.md5(repo.repo_id.encode()).hexdigest()[:24],  # noqa: S324 — an id, not security
            "id": repo.repo_id, "modelId": repo.repo_id, "author": author, "sha": repo.sha,
            "lastModified": _iso(repo.last_modified), "createdAt": _iso(repo.created_at), "private": False,
            "gated": False, "disabled": False, "downloads": repo.downloads, "likes": repo.likes,
            "library_name": repo.library_name, "pipeline_tag": repo.pipeline_tag, "tags": repo.all_tags(),
            "cardData": repo.card_data, "siblings": siblings,
            "safetensors": {"parameters": {"F32": repo.parameters}, "total": repo.parameters} if repo.parameters else None,
        }
        if expand:
            data = {key: value for key, value in data.items() if key in expand or key in ("_id", "id")}
        return {key: value for key, value in data.items() if value is not None}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Send headers and body in one write: separate small writes meet Nagle's algorithm and delayed ACKs (40 ms each).
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    fake_hub: FakeHub

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 — the base class's name
        pass

    def do_GET(self) -> None:  # noqa: N802 — the base class's name
        hub = self.fake_hub
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        if hub.record_requests:
            hub.requests.append((path, query, self.headers.get("Authorization")))

        fault = hub._take_fault(path)
        if fault is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            self._json(fault.status, {"error": f"injected {fault.status}"}, headers)
            return
        hub._wait_at_gates(path)

        if path == "/api/models":
            items, cursor = hub.listing(query)
            headers = {}
            if cursor is not None:
                next_query = {key: value for key, value in query.items() if key != "cursor"}
                next_query["cursor"] = [cursor]
                host = self.headers.get("Host")
                headers["Link"] = f'<http://{host}/api/models?{urlencode(next_query, doseq=True)}>; rel="next"'
            self._json(200, items, headers)
        elif path.startswith("/api/models/"):
            repo = hub.repos.get(path[len("/api/models/"):])
            if repo is None:
                self._not_found("RepoNotFound")
            else:
                blobs = query.get("blobs", ["false"])[0].lower() == "true"
                self._json(200, hub.model_json(repo, expand=query.get("expand"), blobs=blobs))
        elif path.startswith("/api/datasets/"):
            dataset = hub.datasets.get(path[len("/api/datasets/"):])
            if dataset is None:
                self._not_found("RepoNotFound")
            else:
                data = {"_id": hashlib.md5(dataset.dataset_id.encode()).hexdigest()[:24],  # noqa: S324
                        "id": dataset.dataset_id, "cardData": dataset.card_data}
                self._json(200, {key: value for key, value in data.items() if value is not None})
        elif "/resolve/" in path:
            repo_id, _, rest = path.lstrip("/").partition("/resolve/")
            revision, _, filename = rest.partition("/")
            repo = hub.repos.get(repo_id)
            if repo is None:
                self._not_found("RepoNotFound")
            elif filename != "README.md" or revision not in (repo.sha, "main"):
                self._not_found("EntryNotFound")
            else:
                self._send(200, repo.readme.encode(), "text/markdown; charset=utf-8")
        else:
            self._not_found("RepoNotFound")

    def _not_found(self, code: str) -> None:
        self._json(404, {"error": "Repository not found"}, {"X-Error-Code": code})

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(body).encode(), "application/json", headers)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


# --- Repositories built from the real models of hf-co2-models.csv ---------------------------------

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "hf-co2-models.csv"
LISTING_START = datetime(2024, 6, 1, tzinfo=timezone.utc)
_KNOWN_LIBRARY_TAGS = {"transformers", "pytorch", "tf", "jax", "safetensors", "onnx", "keras", "tensorboard",
                       "joblib", "diffusers", "rust"}
_PIPELINE_BY_DOMAIN = {"Computer Vision": "image-classification", "Multimodal": "visual-question-answering",
                       "Audio": "automatic-speech-recognition"}
_SOURCE_NAMES = {"AutoTrain": "AutoTrain", "Code Carbon": "CodeCarbon", "MLCO2": "ML CO2 Impact calculator",
                 "Google Cloud Footprint": "Google Cloud Carbon Footprint"}
_METRIC_NAMES = {"accuracy": ("accuracy", "Accuracy"), "f1": ("f1", "Macro F1"), "rouge1": ("rouge", "Rouge1"),
                 "rougeL": ("rouge", "RougeL")}


@dataclass
class Expected:
    """The values a correct sync stores for one repository built from the CSV."""

    co2_g: float | None
    flag: str | None
    size_efficiency: float | None
    dataset_size_efficiency: float | None
    downloads: float
    performance_score: float | None
    csv_performance_score: float | None
    csv_size_efficiency: float | None
    csv_dataset_size_efficiency: float | None
    info: dict[str, str]
    libraries: set[str]


@dataclass
class CsvCatalogue:
    repos: list[FakeRepo]
    datasets: list[FakeDataset]
    expected: dict[str, Expected]


def _not_specified(value: str) -> str | None:
    return None if value in ("", "Not Specified") else value


def _clean(value: str) -> str:
    return " ".join(value.split()).strip(" *_`")


def _fraction(value: float) -> float:
    return value / 100.0 if value > 1.0 else value


def _dataset_table(rows: list[dict[str, str]]) -> dict[str, int]:
    """Give each data set one size so that the models' dataset_size totals of the CSV come out where they can.

    The CSV stores one total per model. A data set cited alone takes its model's total (the first one when
    models disagree). The data sets of a multi-data-set model share its total when none of them has a size yet.
    """
    sizes: dict[str, int] = {}
    for row in rows:
        names = [name for name in ast.literal_eval(row["datasets"]) if name]
        if len(names) == 1 and row["datasets_size"]:
            sizes.setdefault(names[0], int(float(row["datasets_size"])))
    for row in rows:
        names = [name for name in ast.literal_eval(row["datasets"]) if name]
        if len(names) > 1 and row["datasets_size"] and not any(name in sizes for name in names):
            total = int(float(row["datasets_size"]))
            share = total // len(names)
            sizes[names[0]] = total - share * (len(names) - 1)
            for name in names[1:]:
                sizes[name] = share
    return sizes


def csv_catalogue(path: Path = SHARED_DATA, limit: int | None = None) -> CsvCatalogue:
    """Build one fake repository per CSV row, varying the card forms, and the values a sync must derive."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if limit is not None:
        rows = rows[:limit]
    sizes = _dataset_table(rows)
    datasets = [_fake_dataset(name, size) for name, size in sizes.items()]
    cited = {name for row in rows for name in ast.literal_eval(row["datasets"]) if name}
    datasets += [FakeDataset(name, {"license": "mit"}) for name in sorted(cited - set(sizes))
                 if "autotrain-data" not in name and "autonlp-data" not in name and " " not in name]

    repos, expected = [], {}
    for index, row in enumerate(rows):
        repo, values = _repo_from_row(index, row, sizes)
        repos.append(repo)
        expected[repo.repo_id] = values
    return CsvCatalogue(repos, datasets, expected)


def _fake_dataset(name: str, size: int) -> FakeDataset:
    if len(name) % 2:
        return FakeDataset(name, {"dataset_info": {"config_name": "default", "dataset_size": size}})
    return FakeDataset(name, {"dataset_info": [{"config_name": "default", "dataset_size": size, "splits": []}]})


def _repo_from_row(index: int, row: dict[str, str], dataset_sizes: dict[str, int]) -> tuple[FakeRepo, Expected]:
    name = row["modelId"]
    repo_id = f"csv-{index:04d}/{name}"
    grams = float(row["co2_eq_emissions"])
    auto = row["auto"] in ("True", "1")
    libraries = ast.literal_eval(row["library_name"])
    datasets = [item for item in ast.literal_eval(row["datasets"]) if item]
    metrics = {key: value for key, value in
               ast.literal_eval(row["performance_metrics"].replace("nan", "None")).items() if value is not None}
    domain = _not_specified(row["domain"])
    size = int(float(row["size"])) if row["size"] else None

    source = _not_specified(row["source"])
    training = _not_specified(row["training_type"])
    location = _not_specified(row["geographical_location"])
    hardware = _not_specified(row["environment"])
    needs_mapping = any((training, location, hardware)) or (source and not (source == "AutoTrain" and auto))
    co2, in_mapping = _co2_form(index, grams, needs_mapping, source, training, location, hardware)

    pipeline = _PIPELINE_BY_DOMAIN.get(domain) if domain != "NLP" else (
        "summarization" if "rouge1" in metrics or "rougeL" in metrics else "text-classification")
    library_name = next((item for item in libraries if item not in _KNOWN_LIBRARY_TAGS), None)
    if library_name is None and libraries:
        library_name = "transformers" if "transformers" in libraries else libraries[0]
    tags = [item for item in libraries if item != library_name]
    if auto:
        tags.append("autotrain")
    tags += [f"dataset:{item}" for item in datasets] + ["license:apache-2.0", "region:us"]

    metadata: dict[str, Any] = {"tags": ["autotrain"] if auto else ["green-ai"], "language": ["en"]}
    if datasets:
        # Some cards write a single data set as a string instead of a list.
        single_as_string = index % 7 == 0 and len(datasets) == 1
        metadata["datasets"] = datasets[0] if single_as_string else datasets
    metadata["co2_eq_emissions"] = co2
    body = [f"# {name}", ""]
    if auto:
        body += ["# Model Trained Using AutoTrain", "", "- Problem type: Multi-class Classification",
                 f"- CO2 Emissions (in grams): {grams!r}", ""]
    elif index % 3 == 0 and grams > 0:
        body += ["## Environmental Impact", "", f"- **Carbon Emitted:** {grams / 1000:.6g} kg eq. CO2", ""]
    if metrics and index % 2 == 0:
        metadata["model-index"] = [{"name": name, "results": [{
            "task": {"type": pipeline or "text-classification"},
            "dataset": {"name": datasets[0] if datasets else "unknown", "type": datasets[0] if datasets else "unknown"},
            "metrics": [{"type": _METRIC_NAMES[key][0], "name": _METRIC_NAMES[key][1], "value": value}
                        for key, value in metrics.items()],
        }]}]
    elif metrics:
        body += ["## Validation Metrics", ""]
        for key, value in metrics.items():
            # AutoTrain cards state ROUGE in percent; a percentage below 1 would read as a fraction.
            shown = value * 100 if key.startswith("rouge") and 1 < value * 100 <= 100 else value
            body.append(f"- {_METRIC_NAMES[key][1]}: {shown!r}")
        body.append("")
    readme = "---\n" + yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True) + "---\n" + "\n".join(body) + "\n"

    files: list[tuple[str, int]] = [("config.json", 700)]
    parameters = None
    if size is not None:
        if "joblib" in libraries:
            files.append(("model.joblib", size))
        elif "safetensors" in libraries and index % 2 == 0:
            files += [("model.safetensors", size), ("pytorch_model.bin", size + 4096)]
            parameters = size // 4
        else:
            files.append(("pytorch_model.bin", size))
        if "tf" in libraries and "joblib" not in libraries:
            files.append(("tf_model.h5", size + 1000))
        files.append(("checkpoint-500/pytorch_model.bin", size))
        files.append(("optimizer.pt", 2 * size))

    created = datetime.strptime(row["created_at"], "%Y-%m-%d").replace(tzinfo=timezone.utc) if row["created_at"] else None
    repo = FakeRepo(
        repo_id=repo_id, readme=readme, last_modified=LISTING_START - timedelta(minutes=index), created_at=created,
        downloads=int(row["downloads"]), likes=int(row["likes"]), library_name=library_name,
        pipeline_tag=pipeline, tags=tags, files=files, parameters=parameters,
    )

    trusted = grams > 0
    dataset_bytes = sum(dataset_sizes[item] for item in datasets) if datasets and all(
        item in dataset_sizes for item in datasets) else None
    normalised = {key: _fraction(value) for key, value in metrics.items()}
    info = {
        "training_type": training if in_mapping else None,
        "location": _clean(location) if in_mapping and location else None,
        "hardware_used": _clean(hardware) if in_mapping and hardware else None,
        "source": _expected_source(source if in_mapping else None, auto),
        "domain": domain,
        "datasets": ", ".join(datasets) or None,
    }
    expected = Expected(
        co2_g=grams if trusted else None,
        flag=None if trusted else "zero",
        size_efficiency=size / grams if trusted and size else None,
        dataset_size_efficiency=dataset_bytes / grams if trusted and dataset_bytes else None,
        downloads=float(row["downloads"]),
        performance_score=_harmonic_mean(list(normalised.values())) if trusted else None,
        csv_performance_score=float(row["performance_score"]) if row["performance_score"] else None,
        csv_size_efficiency=float(row["size_efficency"]) if row["size_efficency"] not in ("", "inf") else None,
        csv_dataset_size_efficiency=float(row["datasets_size_efficency"]) if row["datasets_size_efficency"] else None,
        info={key: value for key, value in info.items() if value},
        libraries=set(libraries),
    )
    return repo, expected


def _expected_source(source: str | None, auto: bool) -> str | None:
    if source:
        return _SOURCE_NAMES[source]
    return "AutoTrain" if auto else None


def _co2_form(index: int, grams: float, needs_mapping: bool, source: str | None, training: str | None,
              location: str | None, hardware: str | None) -> tuple[Any, bool]:
    """Write the grams in one of the forms seen on the Hub; return the value and whether it is a mapping."""
    if needs_mapping:
        fields = {"source": source, "training_type": training, "geographical_location": location,
                  "hardware_used": hardware}
        if index % 2 == 0:
            return {"emissions": grams, **{key: value for key, value in fields.items() if value}}, True
        items = [{"emissions": grams}] + [{key.replace("_", " "): value} for key, value in fields.items() if value]
        return items, True
    forms = (
        grams,
        {"emissions": grams},
        f"{grams!r} g",
        f"{grams / 1000!r} kg",
        repr(grams),
    )
    return forms[index % len(forms)], False


def _harmonic_mean(values: list[float]) -> float | None:
    if not values:
        return None
    if any(value == 0 for value in values):
        return 0.0
    return len(values) / sum(1.0 / value for value in values)


CASES_DIR = Path(__file__).resolve().parent / "data" / "hf"


def case_repos(start: datetime = LISTING_START) -> list[FakeRepo]:
    """Build one repository per card of tests/data/hf and one per row of its C19 CSV of derived models.

    Repository ids are "cases/<file stem>" for the cards and "<author>/<name>" for the CSV rows. The C16
    card's YAML is invalid, so it has no card data, but it is listed under the co2_eq_emissions tag all the same.
    """
    repos = []
    for index, path in enumerate(sorted(CASES_DIR.glob("C1*-hf-card-*.md"))):
        repos.append(FakeRepo(
            f"cases/{path.stem}", path.read_text(encoding="utf-8"), last_modified=start - timedelta(minutes=index),
            created_at=start - timedelta(days=100), downloads=10 + index, library_name="transformers",
            pipeline_tag="text-generation", tags=["pytorch"], files=[("pytorch_model.bin", 500_000_000)],
            force_co2_tag=True,
        ))
    with (CASES_DIR / "C19-hf-sync-derived-and-zero.csv").open(newline="", encoding="utf-8") as handle:
        for index, row in enumerate(csv.DictReader(handle), start=len(repos)):
            mapping: dict[str, Any] = {"emissions": float(row["co2_eq_emissions"])}
            for key in ("source", "training_type", "geographical_location", "hardware_used"):
                if row[key]:
                    mapping[key] = row[key]
            metadata: dict[str, Any] = {"license": "apache-2.0", "co2_eq_emissions": mapping}
            if row["base_model"]:
                metadata["base_model"] = row["base_model"]
            body = ""
            if float(row["co2_eq_emissions"]) >= 1000:
                body = f"## Environmental Impact\n\n- **Carbon Emitted:** {float(row['co2_eq_emissions']) / 1000:g} kg eq. CO2\n"
            name = row["modelName"]
            repos.append(FakeRepo(
                f"{row['modelAuthor']}/{name}", "---\n" + yaml.safe_dump(metadata, sort_keys=False) + "---\n" + body,
                last_modified=start - timedelta(minutes=index), created_at=start - timedelta(days=200),
                downloads=5, library_name="gguf" if name.endswith("GGUF") else "transformers",
                pipeline_tag="text-generation", tags=["gguf"] if name.endswith("GGUF") else ["pytorch"],
                files=[(f"{name}.gguf", 80_000_000)] if name.endswith("GGUF") else [("model.safetensors", 352_833_716)],
            ))
    return repos


def replicate(repos: list[FakeRepo], count: int) -> list[FakeRepo]:
    """Return `count` repositories: the given ones and copies of them under new ids, each with its own time."""
    copies = []
    for index in range(count):
        base = repos[index % len(repos)]
        round_number = index // len(repos)
        repo_id = base.repo_id if round_number == 0 else f"{base.repo_id.split('/')[0]}-r{round_number}/{base.repo_id.split('/')[1]}"
        copy = replace(base, repo_id=repo_id, last_modified=LISTING_START - timedelta(seconds=index))
        copy.card_data = base.card_data
        copies.append(copy)
    return copies


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a fake Hugging Face Hub on loopback.")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 picks a free one).")
    parser.add_argument("--replicate", type=int, default=0,
                        help="Serve this many models: the CSV's models and copies of them under new ids.")
    parser.add_argument("--page-size", type=int, default=1000, help="Models per listing page.")
    parser.add_argument("--csv", type=Path, default=SHARED_DATA, help="The hf-co2-models.csv file.")
    arguments = parser.parse_args()

    catalogue = csv_catalogue(arguments.csv)
    repos = replicate(catalogue.repos, arguments.replicate) if arguments.replicate else catalogue.repos
    hub = FakeHub(page_size=arguments.page_size, record_requests=False)
    hub.add(repos, catalogue.datasets)
    print(hub.start(arguments.port), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        hub.stop()


if __name__ == "__main__":
    main()
