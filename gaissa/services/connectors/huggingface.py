"""The Hugging Face Hub connector: list models that declare training emissions and read their details.

It uses huggingface_hub's HfApi against the configured endpoint (HF_ENDPOINT). The HTTP calls are:

- listing: GET {endpoint}/api/models?filter=co2_eq_emissions&sort=lastModified&expand=…[&limit=N],
  following the `Link: <…>; rel="next"` header page by page (huggingface_hub's paginate). The Hub tags
  models whose card metadata has co2_eq_emissions with "co2_eq_emissions" (Hugging Face's own
  Carbon-Compare Space lists them with this filter);
- details of one model: GET {endpoint}/api/models/{repo_id}?blobs=True (file sizes), then
  GET {endpoint}/{repo_id}/resolve/{sha}/README.md (the card's text);
- size of one data set: GET {endpoint}/api/datasets/{dataset_id}?expand=cardData.

Listing pages are retried by huggingface_hub itself (429 and 5xx, up to 5 retries, waiting Retry-After
plus one second). Detail and data-set requests are retried here on 408, 429 and 5xx and on network
errors, after the wait that Retry-After requests (seconds or an HTTP date) or an exponential backoff. The token
comes from the HF_TOKEN environment variable; it is sent to the endpoint and never stored or logged.
"""

import email.utils
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar

import httpx2
import huggingface_hub
from huggingface_hub import HfApi, hf_hub_url
from huggingface_hub.errors import HfHubHTTPError, HFValidationError, RepositoryNotFoundError
from huggingface_hub.utils import build_hf_headers

logger = logging.getLogger(__name__)

PROVIDER = "huggingface"
CO2_TAG = "co2_eq_emissions"
DEFAULT_ENDPOINT = "https://huggingface.co"
USER_AGENT_LIBRARY = "gaissa-tools"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Properties requested with each listed model (the Hub's `expand` names).
LIST_EXPAND = (
    "cardData", "createdAt", "lastModified", "downloads", "likes", "library_name", "pipeline_tag", "tags", "sha",
    "safetensors",
)
# Card metadata keys kept from the listing; the rest of the card metadata is not needed.
CARD_KEYS = (
    "co2_eq_emissions", "datasets", "base_model", "base_model_relation", "tags", "metrics", "library_name",
    "pipeline_tag",
)
MAX_DATASETS_PER_MODEL = 20

T = TypeVar("T")


class HubError(Exception):
    """A Hub request that failed, after its retries when the failure was temporary."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class HubNotFound(HubError):
    """The repository does not exist, or is private or gated for this token."""


class _RetryableResponse(HubError):
    def __init__(self, message: str, status: int, retry_after: float | None):
        super().__init__(message, status)
        self.retry_after = retry_after


@dataclass(frozen=True)
class HubSettings:
    """How to reach the Hub: endpoint, token, timeouts, retries and parallel requests."""

    endpoint: str = DEFAULT_ENDPOINT
    token: str | None = None
    timeout: float = 30.0
    max_retries: int = 5
    # First wait of the exponential backoff when the Hub sends no Retry-After, in seconds.
    retry_base_wait: float = 1.0
    # Maximum wait before a retry, in seconds. A longer Retry-After fails the request instead.
    retry_max_wait: float = 300.0
    # Parallel detail and data-set requests.
    workers: int = 4
    max_card_bytes: int = 1_000_000

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "HubSettings":
        """Read HF_* settings from the app configuration and the token from the environment."""
        endpoint = str(config.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
        if not endpoint.startswith(("http://", "https://")):
            raise ValueError(f"HF_ENDPOINT must be an http or https URL; got {endpoint!r}.")
        return cls(
            endpoint=endpoint,
            token=os.environ.get("HF_TOKEN") or None,
            timeout=float(config.get("HF_TIMEOUT", 30.0)),
            max_retries=int(config.get("HF_MAX_RETRIES", 5)),
            retry_base_wait=float(config.get("HF_RETRY_BASE_WAIT", 1.0)),
            retry_max_wait=float(config.get("HF_RETRY_MAX_WAIT", 300.0)),
            workers=max(1, int(config.get("HF_SYNC_WORKERS", 4))),
        )

    def __repr__(self) -> str:
        # Logs show this representation, so it states whether a token is set and leaves the token out.
        token = "set" if self.token else "not set"
        return f"HubSettings(endpoint={self.endpoint!r}, token {token}, workers={self.workers})"


@dataclass(frozen=True)
class EvalScore:
    """One metric of a card's model-index."""

    metric_type: str
    metric_name: str | None
    value: Any


@dataclass(frozen=True)
class HubModel:
    """One listed model: the fields of the listing that the sync reads."""

    repo_id: str
    sha: str | None = None
    last_modified: datetime | None = None
    created_at: datetime | None = None
    downloads: int | None = None
    likes: int | None = None
    library_name: str | None = None
    pipeline_tag: str | None = None
    tags: tuple[str, ...] = ()
    # Raw card metadata for CARD_KEYS; None when the Hub returned no card data (e.g. invalid YAML).
    card: dict[str, Any] | None = None
    eval_scores: tuple[EvalScore, ...] = ()
    parameters: int | None = None


@dataclass(frozen=True)
class WeightFile:
    path: str
    size: int | None


@dataclass(frozen=True)
class HubDetails:
    """Per-model details that the listing does not give: file sizes and the card's text."""

    sha: str | None
    files: tuple[WeightFile, ...] = ()
    parameters: int | None = None
    card_text: str | None = None
    card_truncated: bool = False


@dataclass(frozen=True)
class DatasetSize:
    """A data set's size in bytes, or why it is unknown."""

    dataset_id: str
    size: int | None
    reason: str | None = None
    # True when the lookup failed for a temporary reason (the model is retried on a later sync).
    failed: bool = False


class HubClient:
    """Read models and data sets from the Hub through huggingface_hub, with timeouts and retries."""

    def __init__(self, settings: HubSettings, sleep: Callable[[float], None] = time.sleep):
        self.settings = settings
        self._sleep = sleep
        _install_client_timeout(settings.timeout)
        self.api = HfApi(
            endpoint=settings.endpoint, token=settings.token or False, library_name=USER_AGENT_LIBRARY
        )
        self._pool: ThreadPoolExecutor | None = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> "HubClient":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def model_url(self, repo_id: str) -> str:
        """Return the model's page on the Hub."""
        return f"{self.settings.endpoint}/{repo_id}"

    # --- Listing -----------------------------------------------------------------------------------

    def iter_models(self, limit: int | None = None) -> Iterator[HubModel]:
        """Yield the models that declare co2_eq_emissions, last modified first, one page at a time."""
        listing = self.api.list_models(
            filter=CO2_TAG, sort="last_modified", expand=list(LIST_EXPAND), limit=limit
        )
        iterator = iter(listing)
        position = 0
        while True:
            try:
                info = next(iterator)
            except StopIteration:
                return
            except HfHubHTTPError as exc:
                raise HubError(
                    f"Listing models from {self.settings.endpoint} failed after {position} models: {_first_line(exc)}",
                    _status(exc),
                ) from exc
            except httpx2.HTTPError as exc:
                raise HubError(
                    f"Listing models from {self.settings.endpoint} failed after {position} models: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            except (KeyError, TypeError, ValueError) as exc:
                # NOTE: huggingface_hub builds each ModelInfo inside its generator, so a record it cannot
                # read ends the listing. The run fails with this message, and every later run fails at the
                # same record until the Hub serves it differently.
                raise HubError(
                    f"The Hub returned a model record after {position} models that huggingface_hub cannot read: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            position += 1
            yield _hub_model(info)

    # --- Details -----------------------------------------------------------------------------------

    def fetch_details(self, repo_id: str) -> HubDetails:
        """Read the model's file sizes and parameter count, then its README at the same revision."""
        info = self._with_retries(
            f"Reading model {repo_id}",
            lambda: self.api.model_info(repo_id, files_metadata=True, timeout=self.settings.timeout),
        )
        files = tuple(
            WeightFile(sibling.rfilename, sibling.size if sibling.size is not None else
                       (sibling.lfs.size if sibling.lfs is not None else None))
            for sibling in (info.siblings or ())
        )
        parameters = _parameter_count(info)
        text, truncated = self._read_card_text(repo_id, info.sha)
        return HubDetails(info.sha, files, parameters, text, truncated)

    def _read_card_text(self, repo_id: str, revision: str | None) -> tuple[str | None, bool]:
        url = hf_hub_url(repo_id, "README.md", revision=revision or "main", endpoint=self.settings.endpoint)
        return self._with_retries(f"Reading the model card of {repo_id}", lambda: self._get_text(url))

    def _get_text(self, url: str) -> tuple[str | None, bool]:
        headers = build_hf_headers(token=self.settings.token or False, library_name=USER_AGENT_LIBRARY)
        session = huggingface_hub.get_session()
        with session.stream("GET", url, headers=headers, timeout=self.settings.timeout,
                            follow_redirects=True) as response:
            if response.status_code == 404:
                return None, False
            if response.status_code in RETRY_STATUSES:
                raise _RetryableResponse(f"HTTP {response.status_code}", response.status_code,
                                         _retry_after_seconds(response.headers.get("Retry-After")))
            if response.status_code >= 400:
                raise HubError(f"HTTP {response.status_code}", response.status_code)
            chunks: list[bytes] = []
            received = 0
            truncated = False
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                received += len(chunk)
                if received >= self.settings.max_card_bytes:
                    truncated = True
                    break
        data = b"".join(chunks)[: self.settings.max_card_bytes]
        return data.decode("utf-8", errors="replace"), truncated

    def fetch_dataset_size(self, dataset_id: str) -> DatasetSize:
        """Read a data set's size from its card (dataset_info.dataset_size, in bytes)."""
        try:
            info = self._with_retries(
                f"Reading data set {dataset_id}",
                lambda: self.api.dataset_info(dataset_id, expand=["cardData"], timeout=self.settings.timeout),
            )
        except HFValidationError:
            return DatasetSize(dataset_id, None, "not a valid Hub data set id")
        except HubNotFound:
            return DatasetSize(dataset_id, None, "not found on the Hub (private, gated or deleted)")
        except HubError as exc:
            return DatasetSize(dataset_id, None, f"lookup failed: {exc}", failed=True)
        card = info.card_data
        return _dataset_size(dataset_id, card.get("dataset_info") if card is not None else None)

    def submit(self, function: Callable[[str], T], key: str) -> "Future[T | HubError]":
        """Call `function(key)` on a worker thread; the future's result is a HubError when the call failed."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.settings.workers, thread_name_prefix="hub")
        return self._pool.submit(_capture_hub_error, function, key)

    def fetch_many(self, function: Callable[[str], T], keys: Iterable[str]) -> dict[str, T | HubError]:
        """Call `function` for each key on the worker threads; a HubError is returned in place of its result."""
        futures = {key: self.submit(function, key) for key in dict.fromkeys(keys)}
        return {key: future.result() for key, future in futures.items()}

    # --- Retries -----------------------------------------------------------------------------------

    def _with_retries(self, description: str, call: Callable[[], T]) -> T:
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            try:
                return call()
            except (RepositoryNotFoundError, HubNotFound) as exc:
                raise HubNotFound(f"{description}: not found on the Hub.", 404) from exc
            except HFValidationError:
                raise
            except _RetryableResponse as exc:
                status, retry_after, problem = exc.status, exc.retry_after, str(exc)
            except HfHubHTTPError as exc:
                status = _status(exc)
                if status not in RETRY_STATUSES:
                    raise HubError(f"{description} failed: {_first_line(exc)}", status) from exc
                retry_after = _retry_after_seconds(exc.response.headers.get("Retry-After")) if exc.response else None
                problem = f"HTTP {status}"
            except httpx2.HTTPError as exc:
                status, problem = None, f"{type(exc).__name__}: {exc}"

            if attempt > self.settings.max_retries:
                raise HubError(f"{description} failed after {attempt} attempts: {problem}.", status)
            wait = retry_after if retry_after is not None else min(
                self.settings.retry_max_wait, self.settings.retry_base_wait * 2 ** (attempt - 1)
            )
            if wait > self.settings.retry_max_wait:
                raise HubError(
                    f"{description} failed: the Hub asked to wait {wait:.0f} s, longer than HF_RETRY_MAX_WAIT "
                    f"({self.settings.retry_max_wait:.0f} s).", status,
                )
            logger.warning("%s: %s; retry %d of %d in %.1f s", description, problem, attempt,
                           self.settings.max_retries, wait)
            self._sleep(wait)


# --- Conversions from huggingface_hub objects ---------------------------------------------------

def _hub_model(info: Any) -> HubModel:
    card = info.card_data
    card_fields = {key: card.get(key) for key in CARD_KEYS} if card is not None else None
    return HubModel(
        repo_id=info.id,
        sha=info.sha,
        last_modified=info.last_modified,
        created_at=info.created_at,
        downloads=info.downloads if isinstance(info.downloads, int) else None,
        likes=info.likes if isinstance(info.likes, int) else None,
        library_name=info.library_name if isinstance(info.library_name, str) else None,
        pipeline_tag=info.pipeline_tag if isinstance(info.pipeline_tag, str) else None,
        tags=tuple(tag for tag in (info.tags or ()) if isinstance(tag, str)),
        card=card_fields,
        eval_scores=_eval_scores(card),
        parameters=_parameter_count(info),
    )


def _eval_scores(card: Any) -> tuple[EvalScore, ...]:
    results = getattr(card, "eval_results", None) if card is not None else None
    return tuple(
        EvalScore(str(result.metric_type), getattr(result, "metric_name", None), result.metric_value)
        for result in (results or ())
    )


def _parameter_count(info: Any) -> int | None:
    safetensors = getattr(info, "safetensors", None)
    total = getattr(safetensors, "total", None) if safetensors is not None else None
    return total if isinstance(total, int) and total > 0 else None


def _dataset_size(dataset_id: str, dataset_info: Any) -> DatasetSize:
    """Read dataset_info.dataset_size; with several configurations only a 'default' one is used."""
    if isinstance(dataset_info, list):
        entries = [entry for entry in dataset_info if isinstance(entry, dict)]
        default = [entry for entry in entries if entry.get("config_name") == "default"]
        if len(entries) == 1:
            dataset_info = entries[0]
        elif default:
            dataset_info = default[0]
        elif entries:
            return DatasetSize(dataset_id, None,
                               f"{len(entries)} configurations and the model card does not say which one was used")
    size = dataset_info.get("dataset_size") if isinstance(dataset_info, dict) else None
    if isinstance(size, bool) or not isinstance(size, (int, float)) or size <= 0:
        return DatasetSize(dataset_id, None, "the data set card gives no dataset_info.dataset_size")
    return DatasetSize(dataset_id, int(size))


def _capture_hub_error(function: Callable[[str], T], key: str) -> T | HubError:
    try:
        return function(key)
    except HubError as exc:
        return exc
    except HFValidationError as exc:
        return HubError(f"{key!r} is not a valid Hub repository id: {_first_line(exc)}")


def _status(exc: HfHubHTTPError) -> int | None:
    response = getattr(exc, "response", None)
    return response.status_code if response is not None else None


def _first_line(exc: BaseException) -> str:
    """Return an error's message on one line, at most 300 characters (huggingface_hub's span several lines)."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return (text[:297] + "…" if len(text) > 300 else text) or type(exc).__name__


def _retry_after_seconds(value: str | None) -> float | None:
    """Read Retry-After as delay-seconds or as an HTTP date (RFC 9110, section 10.2.3)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, (moment - datetime.now(timezone.utc)).total_seconds())


_installed_timeout: float | None = None
_install_lock = threading.Lock()


def _install_client_timeout(timeout: float) -> None:
    """Give huggingface_hub's shared HTTP client a timeout; its default client waits forever.

    huggingface_hub keeps one client per process (set_client_factory), so this applies to every
    huggingface_hub call of the process; nothing else in GAISSA Tools uses huggingface_hub.
    """
    global _installed_timeout
    with _install_lock:
        if _installed_timeout == timeout:
            return
        hooks: dict[str, list[Any]] = {}
        try:
            from huggingface_hub.utils._http import hf_request_event_hook
        except ImportError:  # a private helper: adds a request id and honours HF_HUB_OFFLINE
            pass
        else:
            hooks = {"request": [hf_request_event_hook]}

        def client_factory() -> httpx2.Client:
            return httpx2.Client(event_hooks=hooks, follow_redirects=True, timeout=httpx2.Timeout(timeout))

        huggingface_hub.set_client_factory(client_factory)
        _installed_timeout = timeout
