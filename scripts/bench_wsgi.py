"""WSGI entry point for scripts/benchmark.py: the real app plus one minimal page to compare against."""

from gaissa import create_app

app = create_app()


@app.get("/benchmark/minimal")
def minimal_page():
    return "<!doctype html><title>minimal</title><p>ok</p>"
