"""Benchmark the label page and the label PDF against a minimal Flask page on the same gunicorn.

Run with `make benchmark` (or .venv/bin/python scripts/benchmark.py). It builds a throw-away SQLite
database with the demo data, starts gunicorn on 127.0.0.1 with that app, and reports:
- the median of 20 requests for the label page, the label PDF and the minimal page, and their ratios;
- requests per second for the label page and the minimal page under 4 concurrent clients for 5 s.
Only loopback traffic to the gunicorn it started; the results go to stdout and docs/benchmarks.md.
"""

import http.client
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- label-benchmark:start -->", "<!-- label-benchmark:end -->"
SAMPLES = 20
LOAD_SECONDS = 5.0
LOAD_CLIENTS = 4
WORKERS = 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_database(instance: Path) -> dict[str, str]:
    env = {**os.environ, "GAISSA_INSTANCE_DIR": str(instance), "GAISSA_CONFIG": "production",
           "SECRET_KEY": "benchmark-only", "DATABASE_URL": f"sqlite:///{instance / 'bench.sqlite'}",
           "LOG_LEVEL": "WARNING", "PUBLIC_BASE_URL": "http://127.0.0.1"}
    code = (
        "from gaissa import create_app\n"
        "from gaissa.extensions import db\n"
        "from gaissa.services import seed\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    db.create_all(); seed.seed_catalogue(); seed.seed_demo(); db.session.commit()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT)
    return env


def get(port: int, path: str, connection: http.client.HTTPConnection | None = None) -> float:
    own = connection is None
    connection = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.perf_counter()
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"GET {path} returned HTTP {response.status}")
    if own:
        connection.close()
    return elapsed


def median_seconds(port: int, path: str) -> float:
    get(port, path)  # warm-up
    return statistics.median(get(port, path) for _ in range(SAMPLES))


def requests_per_second(port: int, path: str) -> float:
    deadline = time.perf_counter() + LOAD_SECONDS
    counts = [0] * LOAD_CLIENTS

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < deadline:
            get(port, path, connection)
            counts[index] += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(index,)) for index in range(LOAD_CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - started)


def wait_until_up(port: int, process: subprocess.Popen) -> None:
    for _ in range(200):
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited; see its output above")
        try:
            get(port, "/benchmark/minimal")
            return
        except (OSError, RuntimeError):
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start within 20 s")


def main() -> None:
    instance = Path(tempfile.mkdtemp(prefix="gaissa-bench-"))
    env = prepare_database(instance)
    port = free_port()
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    process = subprocess.Popen(
        [gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS), "--threads", "2",
         "--log-level", "warning", "--chdir", str(ROOT / "scripts"), "bench_wsgi:app"],
        env={**env, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
    )
    try:
        wait_until_up(port, process)
        label = "/gaissalabel/models/1/trainings/1"
        results = {
            "minimal": median_seconds(port, "/benchmark/minimal"),
            "about": median_seconds(port, "/about"),
            "label": median_seconds(port, label),
            "pdf": median_seconds(port, label + "/label.pdf"),
        }
        rps_minimal = requests_per_second(port, "/benchmark/minimal")
        rps_about = requests_per_second(port, "/about")
        rps_label = requests_per_second(port, label)
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(instance, ignore_errors=True)

    table = "\n".join([
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, gunicorn {WORKERS} workers × 2 threads, SQLite, demo data.",
        "",
        "| measurement | label page | label PDF | minimal Flask page | ratio label / minimal | target |",
        "|---|---|---|---|---|---|",
        f"| median of {SAMPLES} requests | {results['label'] * 1000:.1f} ms | {results['pdf'] * 1000:.1f} ms | "
        f"{results['minimal'] * 1000:.2f} ms | {results['label'] / results['minimal']:.1f}× | PDF < 1 s |",
        f"| requests per second, {LOAD_CLIENTS} clients, {LOAD_SECONDS:.0f} s | {rps_label:.0f} | – | {rps_minimal:.0f} | "
        f"{rps_minimal / rps_label:.1f}× slower | label within 3× of minimal |",
        "",
        "For context, the About page (site layout and session, no database query of its own) in the same run: "
        f"median {results['about'] * 1000:.2f} ms, {rps_about:.0f} requests per second; the label page is "
        f"{results['label'] / results['about']:.1f}× its median and {rps_about / rps_label:.1f}× below its throughput.",
        "",
        f"Verdict: PDF under 1 s {'met' if results['pdf'] < 1 else 'NOT met'}; label page within 3× of the minimal page "
        f"{'met' if rps_minimal / rps_label <= 3 and results['label'] / results['minimal'] <= 3 else 'NOT met'}. "
        "The label page reads about ten rows from the database and renders the site layout, while the minimal page "
        "returns a constant string; rendered label drawings and breakdowns are cached per evaluation.",
    ])
    print(table)
    write_section(table)


def write_section(table: str) -> None:
    section = f"{START}\n## Label page and label PDF (`make benchmark`)\n\n{table}\n{END}"
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    if START in text:
        before, rest = text.split(START, 1)
        text = before + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
