"""Combine several runs of one file into the run that is labelled: their mean or their sum.

The mean suits repeated measurements of the same work. The sum suits rows that each cover a part
of one run, such as the per-epoch rows of eco2ai's training mode. Only run totals add up: energy,
mass and time read from run-total columns (ImportedRun.run_total_keys). The sum keeps any other
value when the rows agree on it, and leaves it out with a note when they do not.

Both keep the notes that every combined row has, such as "latency_ms is already per inference".
"""

import dataclasses
import math

from gaissa.services.importers.base import ImportedRun, join_words

MEAN = "mean"
SUM = "sum"
COMBINATIONS = (MEAN, SUM)


class RunCombinationError(ValueError):
    """Selected runs that cannot be combined as requested; the message is meant for users."""


def combine_runs(runs: list[ImportedRun], combination: str) -> ImportedRun:
    """Combine the selected runs with "mean" or "sum"; raise RunCombinationError when the sum is impossible."""
    if combination == MEAN:
        return mean_of_runs(runs)
    if combination == SUM:
        return sum_of_runs(runs)
    raise ValueError(f"combination must be one of {', '.join(COMBINATIONS)}; got {combination!r}")


def mean_of_runs(runs: list[ImportedRun]) -> ImportedRun:
    """Combine the selected runs into one whose numbers are their arithmetic means."""
    if not runs:
        raise ValueError("select at least one run")
    if len(runs) == 1:
        return dataclasses.replace(runs[0], notes=list(runs[0].notes))

    count = len(runs)
    notes = [f"Mean of {count} runs: {'; '.join(run.label for run in runs)}."]
    values: dict[str, float] = {}
    for key in dict.fromkeys(key for run in runs for key in run.values):
        present = [run.values[key] for run in runs if key in run.values]
        values[key] = math.fsum(present) / len(present)
        if len(present) < count:
            notes.append(f"{key} is the mean of the {len(present)} of {count} runs that have it.")

    info = _common_info(runs, notes, "runs")
    notes.extend(_shared_notes(runs))
    components = {
        part: _mean([run.components_kwh.get(part) for run in runs], require_all=True)
        for part in dict.fromkeys(part for run in runs for part in run.components_kwh)
    }
    return ImportedRun(
        label=f"mean of {count} runs",
        line=min(run.line for run in runs),
        values=values,
        info=info,
        energy_kwh=_mean([run.energy_kwh for run in runs]),
        emissions_kg=_mean([run.emissions_kg for run in runs]),
        duration_s=_mean([run.duration_s for run in runs]),
        country_code=_same([run.country_code for run in runs]),
        tool_version=_same([run.tool_version for run in runs]),
        notes=notes,
        components_kwh=components,
        pue=_same([run.pue for run in runs]),
        run_total_keys=_total_keys(runs, values),
    )


def sum_of_runs(runs: list[ImportedRun]) -> ImportedRun:
    """Combine rows that cover parts of one run into one whose energy, mass and time are their sums.

    A run total that a row lacks is left out, because a partial sum would understate it. Other
    values are kept only when every row that has them gives the same number. Raise
    RunCombinationError when no run total can be summed, because the sum would then add nothing.
    """
    if not runs:
        raise ValueError("select at least one run")
    if len(runs) == 1:
        return dataclasses.replace(runs[0], notes=list(runs[0].notes))

    count = len(runs)
    notes = [f"Sum of {count} rows ({_lines(runs)}): {'; '.join(run.label for run in runs)}."]
    values: dict[str, float] = {}
    summed: list[str] = []
    not_additive: list[str] = []
    for key in dict.fromkeys(key for run in runs for key in run.values):
        holders = [run for run in runs if key in run.values]
        if all(key in run.run_total_keys for run in holders):
            lacking = [run for run in runs if key not in run.values]
            if lacking:
                notes.append(f"{key} is missing on {_lines(lacking)}, so its sum is left out.")
                continue
            values[key] = math.fsum(run.values[key] for run in runs)
            summed.append(key)
            continue

        not_additive.append(key)
        numbers = list(dict.fromkeys(run.values[key] for run in holders))
        if len(numbers) > 1:
            differing = ", ".join(f"{number:g}" for number in numbers)
            notes.append(f"{key} is not an energy, CO2 or time total of the run, so it cannot be summed. "
                         f"It differs between the rows ({differing}), so it is left out.")
            continue
        values[key] = numbers[0]
        if len(holders) < count:
            notes.append(f"{key} is not summed: it is the value of the {len(holders)} of {count} rows that have it.")

    if not summed:
        raise RunCombinationError(_no_sum_message(not_additive))

    info = _common_info(runs, notes, "rows")
    run_ids = list(dict.fromkeys(run.run_id for run in runs))
    if len(run_ids) > 1 and None not in run_ids:
        notes.append(f"The rows come from {len(run_ids)} different runs, so the sum adds separate runs.")
    notes.extend(_shared_notes(runs))
    components = {
        part: _total([run.components_kwh.get(part) for run in runs])
        for part in dict.fromkeys(part for run in runs for part in run.components_kwh)
    }
    return ImportedRun(
        label=f"sum of {count} rows",
        line=min(run.line for run in runs),
        values=values,
        info=info,
        energy_kwh=_total([run.energy_kwh for run in runs]),
        emissions_kg=_total([run.emissions_kg for run in runs]),
        duration_s=_total([run.duration_s for run in runs]),
        country_code=_same([run.country_code for run in runs]),
        tool_version=_same([run.tool_version for run in runs]),
        notes=notes,
        run_id=run_ids[0] if len(run_ids) == 1 else None,
        components_kwh=components,
        pue=_same([run.pue for run in runs]),
        run_total_keys=summed,
    )


def _no_sum_message(not_additive: list[str]) -> str:
    if not_additive:
        return (f"the chosen rows cannot be summed, because a sum adds the energy, CO2 and time totals of a run and "
                f"{join_words(not_additive)} {'is' if len(not_additive) == 1 else 'are'} not one of them "
                "(per-inference values, scores, counts and sizes do not add up). Choose one row or their mean.")
    return ("the chosen rows cannot be summed, because no energy, CO2 or time total is given by every chosen row. "
            "Choose one row or their mean.")


def _common_info(runs: list[ImportedRun], notes: list[str], noun: str) -> dict[str, str]:
    """Return the information texts that all runs share; note each one that differs and is left out."""
    info: dict[str, str] = {}
    for key in dict.fromkeys(key for run in runs for key in run.info):
        texts = {run.info.get(key) for run in runs}
        if len(texts) == 1:
            info[key] = runs[0].info[key]
        else:
            differing = ", ".join(sorted(text or "none" for text in texts))
            notes.append(f"{key} differs between the {noun} ({differing}), so it is left out.")
    return info


def _shared_notes(runs: list[ImportedRun]) -> list[str]:
    """Return the notes that every run has, in the first run's order."""
    return [note for note in dict.fromkeys(runs[0].notes) if all(note in run.notes for run in runs[1:])]


def _total_keys(runs: list[ImportedRun], values: dict[str, float]) -> list[str]:
    return [key for key in values if all(key in run.run_total_keys for run in runs if key in run.values)]


def _lines(runs: list[ImportedRun]) -> str:
    numbers = [str(run.line) for run in runs]
    return f"line {numbers[0]}" if len(numbers) == 1 else f"lines {join_words(numbers)}"


def _mean(numbers: list[float | None], require_all: bool = False) -> float | None:
    present = [number for number in numbers if number is not None]
    if not present or (require_all and len(present) < len(numbers)):
        return None
    return math.fsum(present) / len(present)


def _total(numbers: list[float | None]) -> float | None:
    """Return the sum, or None when any number is unknown, since a partial sum would understate the total."""
    if not numbers or any(number is None for number in numbers):
        return None
    return math.fsum(numbers)


def _same(items: list):
    return items[0] if len(set(items)) == 1 else None
