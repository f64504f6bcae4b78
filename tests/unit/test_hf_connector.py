"""The Hub connector against a fake Hub on loopback that speaks the API as huggingface_hub calls it."""

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from gaissa.services.connectors.huggingface import HubClient, HubError, HubNotFound, HubSettings, _retry_after_seconds
from tests.hub_server import FakeDataset, FakeHub, FakeRepo

START = datetime(2024, 6, 1, tzinfo=timezone.utc)
CARD = "---\nlicense: mit\nco2_eq_emissions: {emissions}\ndatasets:\n- squad\n---\n# model {index}\n"


def make_repos(count: int) -> list[FakeRepo]:
    return [
        FakeRepo(f"org/model-{index}", CARD.format(emissions=index + 1, index=index),
                 last_modified=START - timedelta(hours=index), created_at=START - timedelta(days=30),
                 downloads=index, likes=1, library_name="transformers", pipeline_tag="text-classification",
                 tags=["pytorch"], files=[("pytorch_model.bin", 1000 + index)], parameters=250 + index)
        for index in range(count)
    ]


@pytest.fixture
def hub():
    fake = FakeHub(page_size=3)
    fake.add(make_repos(10), [FakeDataset("squad", {"dataset_info": {"dataset_size": 89_000_000}})])
    fake.start()
    yield fake
    fake.stop()


def client_for(hub: FakeHub, **settings) -> tuple[HubClient, list[float]]:
    waits: list[float] = []
    values = {"endpoint": hub.url, "retry_base_wait": 0.0, "max_retries": 3, "workers": 2}
    values.update(settings)
    return HubClient(HubSettings(**values), sleep=waits.append), waits


def test_listing_follows_link_pages_newest_first(hub):
    client, _ = client_for(hub)

    models = list(client.iter_models())

    assert [model.repo_id for model in models] == [f"org/model-{index}" for index in range(10)]
    assert hub.count(r"^/api/models$") == 4


def test_listing_sends_filter_sort_and_expand(hub):
    client, _ = client_for(hub)

    list(client.iter_models())
    _, query, _ = hub.requests[0]

    assert query["filter"] == ["co2_eq_emissions"]
    assert query["sort"] == ["lastModified"]
    assert set(query["expand"]) == {"cardData", "createdAt", "lastModified", "downloads", "likes", "library_name",
                                    "pipeline_tag", "tags", "sha", "safetensors"}
    assert "cursor" in hub.requests[1][1]


def test_listed_model_fields(hub):
    client, _ = client_for(hub)

    model = next(iter(client.iter_models()))

    assert model.sha == hub.repos["org/model-0"].sha
    assert model.last_modified == START
    assert model.created_at == START - timedelta(days=30)
    assert model.downloads == 0
    assert model.library_name == "transformers"
    assert model.pipeline_tag == "text-classification"
    assert "co2_eq_emissions" in model.tags
    assert model.card["co2_eq_emissions"] == 1
    assert model.card["datasets"] == ["squad"]
    assert model.parameters == 250


def test_listing_limit(hub):
    client, _ = client_for(hub)

    assert len(list(client.iter_models(limit=4))) == 4


def test_listing_stops_reading_pages_when_abandoned(hub):
    client, _ = client_for(hub)

    iterator = client.iter_models()
    next(iterator)

    assert hub.count(r"^/api/models$") == 1


def test_details_give_sizes_and_card_text(hub):
    client, _ = client_for(hub)

    details = client.fetch_details("org/model-2")

    assert details.sha == hub.repos["org/model-2"].sha
    assert ("pytorch_model.bin", 1002) in [(item.path, item.size) for item in details.files]
    assert details.parameters == 252
    assert details.card_text.startswith("---\nlicense: mit")
    paths = [path for path, _, _ in hub.requests]
    assert "/api/models/org/model-2" in paths
    assert f"/org/model-2/resolve/{details.sha}/README.md" in paths
    query = next(query for path, query, _ in hub.requests if path == "/api/models/org/model-2")
    assert query["blobs"] == ["true"]


def test_missing_readme_is_no_text(hub):
    hub.repos["org/model-1"].readme = ""
    client, _ = client_for(hub)
    hub.fail(r"/resolve/", status=404, retry_after=None)

    assert client.fetch_details("org/model-1").card_text is None


def test_card_text_is_capped(hub):
    hub.repos["org/model-3"].readme = "x" * 5000
    client = HubClient(HubSettings(endpoint=hub.url, max_card_bytes=1000))

    details = client.fetch_details("org/model-3")

    assert len(details.card_text) == 1000
    assert details.card_truncated


def test_unknown_model_is_not_found(hub):
    client, _ = client_for(hub)

    with pytest.raises(HubNotFound):
        client.fetch_details("org/missing")


def test_429_is_retried_after_retry_after(hub):
    client, waits = client_for(hub)
    hub.fail(r"^/api/models/org/model-4$", status=429, times=2, retry_after="3")

    details = client.fetch_details("org/model-4")

    assert details.sha == hub.repos["org/model-4"].sha
    assert waits == [3.0, 3.0]
    assert hub.count(r"^/api/models/org/model-4$") == 3


def test_5xx_backs_off_exponentially(hub):
    client, waits = client_for(hub, retry_base_wait=0.5)
    hub.fail(r"/resolve/", status=503, times=2, retry_after=None)

    assert client.fetch_details("org/model-5").card_text is not None
    assert waits == [0.5, 1.0]


def test_persistent_5xx_fails_with_the_request_named(hub):
    client, waits = client_for(hub)
    hub.fail(r"^/api/models/org/model-6$", status=502, times=10, retry_after=None)

    with pytest.raises(HubError) as raised:
        client.fetch_details("org/model-6")

    assert "Reading model org/model-6 failed after 4 attempts: HTTP 502" in str(raised.value)
    assert len(waits) == 3


def test_retry_after_longer_than_allowed_fails(hub):
    client, waits = client_for(hub, retry_max_wait=10)
    hub.fail(r"^/api/models/org/model-7$", status=429, retry_after="3600")

    with pytest.raises(HubError, match="asked to wait 3600 s"):
        client.fetch_details("org/model-7")
    assert waits == []


def test_client_errors_are_not_retried(hub):
    client, waits = client_for(hub)
    hub.fail(r"^/api/models/org/model-8$", status=400, retry_after=None)

    with pytest.raises(HubError):
        client.fetch_details("org/model-8")
    assert waits == []


def test_listing_survives_a_429(hub):
    # huggingface_hub retries listing pages itself, waiting Retry-After plus one second.
    client, _ = client_for(hub)
    hub.fail(r"^/api/models$", status=429, times=1, retry_after="0")

    assert len(list(client.iter_models())) == 10


def test_listing_that_keeps_failing_raises(hub):
    client, _ = client_for(hub)
    hub.fail(r"^/api/models$", status=404, times=5, retry_after=None)

    with pytest.raises(HubError, match="Listing models from .* failed after 0 models"):
        list(client.iter_models())


def test_dataset_size_forms(hub):
    hub.add(datasets=[
        FakeDataset("org/one-config", {"dataset_info": [{"config_name": "plain", "dataset_size": 10}]}),
        FakeDataset("org/default-config", {"dataset_info": [{"config_name": "a", "dataset_size": 1},
                                                            {"config_name": "default", "dataset_size": 7}]}),
        FakeDataset("glue", {"dataset_info": [{"config_name": "cola", "dataset_size": 1},
                                              {"config_name": "sst2", "dataset_size": 2}]}),
        FakeDataset("org/no-info", {"license": "mit"}),
    ])
    client, _ = client_for(hub)

    assert client.fetch_dataset_size("squad").size == 89_000_000
    assert client.fetch_dataset_size("org/one-config").size == 10
    assert client.fetch_dataset_size("org/default-config").size == 7
    glue = client.fetch_dataset_size("glue")
    assert glue.size is None
    assert "2 configurations" in glue.reason
    assert "no dataset_info.dataset_size" in client.fetch_dataset_size("org/no-info").reason
    missing = client.fetch_dataset_size("org/private-data")
    assert missing.size is None
    assert not missing.failed
    assert "not found" in missing.reason
    invalid = client.fetch_dataset_size("Eric Peter/autonlp-data-EN-LUG")
    assert invalid.reason == "not a valid Hub data set id"
    query = next(query for path, query, _ in hub.requests if path == "/api/datasets/squad")
    assert query["expand"] == ["cardData"]


def test_dataset_lookup_failure_is_temporary(hub):
    client, _ = client_for(hub, max_retries=1)
    hub.fail(r"^/api/datasets/squad$", status=500, times=5, retry_after=None)

    size = client.fetch_dataset_size("squad")

    assert size.failed
    assert size.size is None


def test_token_is_sent_and_never_shown(hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value")
    settings = HubSettings.from_config({"HF_ENDPOINT": hub.url})
    client = HubClient(settings)

    list(client.iter_models(limit=1))
    client.fetch_details("org/model-0")

    assert all(authorization == "Bearer hf_secret_value" for _, _, authorization in hub.requests)
    assert "hf_secret_value" not in repr(settings)
    assert "token set" in repr(settings)


def test_without_token_no_authorization(hub, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    client = HubClient(HubSettings.from_config({"HF_ENDPOINT": hub.url}))

    list(client.iter_models(limit=1))

    assert all(authorization is None for _, _, authorization in hub.requests)


def test_endpoint_must_be_http():
    with pytest.raises(ValueError, match="HF_ENDPOINT must be an http or https URL"):
        HubSettings.from_config({"HF_ENDPOINT": "file:///etc"})


def test_model_url_uses_the_endpoint(hub):
    client, _ = client_for(hub)

    assert client.model_url("org/model-0") == f"{hub.url}/org/model-0"


def test_retry_after_forms():
    assert _retry_after_seconds("120") == 120.0
    assert _retry_after_seconds("") is None
    assert _retry_after_seconds("soon") is None
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    assert 25 <= _retry_after_seconds(later) <= 30
    earlier = format_datetime(datetime.now(timezone.utc) - timedelta(seconds=30), usegmt=True)
    assert _retry_after_seconds(earlier) == 0.0
