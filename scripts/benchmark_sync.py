"""Benchmark the Hugging Face sync: a full sync of N models against a local fake Hub, then a second full run.

The fake Hub (tests/hub_server.py) runs in its own process on 127.0.0.1 and serves the 1,419 real
models of hf-co2-models.csv, replicated under new ids up to N. The sync writes to a fresh SQLite file.
The script prints models per second and the sync process's resident memory when 5,000 models and
when all N models were written, read from /proc/self/status (Linux).

    .venv/bin/python scripts/benchmark_sync.py --models 20000
"""

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rss_mib() -> tuple[float, float]:
    """Return the current and peak resident memory of this process in MiB (VmRSS, VmHWM)."""
    values = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, amount, _unit = line.split()
                values[name.rstrip(":")] = int(amount) / 1024
    return values["VmRSS"], values["VmHWM"]


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def start_hub(models: int) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.hub_server", "--replicate", str(models), "--page-size", "1000"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    url = process.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        process.kill()
        raise SystemExit(f"The fake Hub did not start; it printed {url!r}.")
    return process, url


class MemorySampler(threading.Thread):
    """Record this process's memory when the running sync has written `marks` models."""

    def __init__(self, database: Path, marks: list[int]):
        super().__init__(daemon=True)
        self.database = database
        self.marks = sorted(marks)
        self.readings: dict[int, tuple[int, float, float]] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        import sqlite3

        connection = None
        while not self.stop.wait(0.2):
            try:
                connection = connection or sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=1)
                row = connection.execute("SELECT listed FROM sync_runs ORDER BY id DESC LIMIT 1").fetchone()
            except sqlite3.Error:
                continue
            listed = row[0] if row else 0
            for mark in self.marks:
                if mark not in self.readings and listed >= mark:
                    self.readings[mark] = (listed, *rss_mib())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=20000, help="Models served by the fake Hub (default 20,000).")
    parser.add_argument("--workers", type=int, default=8, help="Parallel detail requests of the sync (HF_SYNC_WORKERS).")
    arguments = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="gaissa-sync-benchmark-"))
    database = workdir / "benchmark.sqlite"
    hub, url = start_hub(arguments.models)
    os.environ.update({
        "DATABASE_URL": f"sqlite:///{database}", "SECRET_KEY": "benchmark-only", "GAISSA_INSTANCE_DIR": str(workdir),
        "LOG_LEVEL": "WARNING", "JOB_RUNNER": "inline",
    })
    os.environ.pop("HF_TOKEN", None)
    sys.path.insert(0, str(ROOT))

    from gaissa import create_app
    from gaissa.extensions import db
    from gaissa.services import seed
    from gaissa.services.sync import runner

    app = create_app("production")
    app.config.update(HF_ENDPOINT=url, HF_SYNC_WORKERS=arguments.workers)
    try:
        with app.app_context():
            db.create_all()
            seed.seed_catalogue()
            db.session.commit()
            sampler = MemorySampler(database, [5000, arguments.models])
            sampler.start()
            base_rss, _ = rss_mib()

            started = time.perf_counter()
            job, run = runner.run_in_foreground(runner.SyncOptions(full=True))
            first = time.perf_counter() - started
            final_rss, peak_rss = rss_mib()
            sampler.stop.set()
            sampler.join()
            # The last batch may finish between two samples: the end of the sync is the last mark's reading.
            sampler.readings.setdefault(arguments.models, (run.listed, final_rss, peak_rss))
            first_state, first_counts = run.state, run.counts()

            started = time.perf_counter()
            job2, run2 = runner.run_in_foreground(runner.SyncOptions(full=True))
            second = time.perf_counter() - started
            second_state, second_counts = run2.state, run2.counts()
    finally:
        hub.terminate()
        hub.wait(timeout=10)

    print(f"Machine: {os.cpu_count()} CPUs ({cpu_name()}), Python {platform.python_version()}, SQLite file database")
    print(f"First full sync: {first_state}, {first_counts}")
    print(f"  {arguments.models} models in {first:.1f} s = {arguments.models / first:.0f} models/s")
    print(f"Second full sync (nothing changed): {second_state}, {second_counts}")
    print(f"  {arguments.models} models in {second:.1f} s = {arguments.models / second:.0f} models/s")
    print(f"Memory of the sync process (RSS, MiB): {base_rss:.0f} before the sync")
    for mark, (listed, current, peak) in sorted(sampler.readings.items()):
        print(f"  at {listed} models written: {current:.0f} (peak so far {peak:.0f})")
    print(f"  after the first sync: {final_rss:.0f} (peak {peak_rss:.0f})")


if __name__ == "__main__":
    main()
