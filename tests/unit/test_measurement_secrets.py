"""The in-memory hand-over of request headers from the web request to the measurement job."""

from gaissa.services.measurement.background import SECRET_TTL_S, RequestSecrets, SecretStore


def test_secrets_are_taken_once():
    store = SecretStore()
    reference = store.put(RequestSecrets({"Authorization": "Bearer t"}, None))

    assert store.take(reference) == RequestSecrets({"Authorization": "Bearer t"}, None)
    assert store.take(reference) is None
    assert store.take(None) is None


def test_references_are_unguessable():
    store = SecretStore()
    references = {store.put(RequestSecrets({}, None)) for _ in range(50)}

    assert len(references) == 50
    assert all(len(reference) >= 32 for reference in references)


def test_untaken_secrets_expire():
    now = [0.0]
    store = SecretStore(clock=lambda: now[0])
    old = store.put(RequestSecrets({"X-Key": "1"}, None))
    now[0] = SECRET_TTL_S + 1
    store.put(RequestSecrets({"X-Key": "2"}, None))

    assert store.take(old) is None
    assert len(store) == 1
