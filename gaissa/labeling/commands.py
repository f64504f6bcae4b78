"""GAISSALabel commands: seed the catalogue and demo data, rate files or values without a server."""

import json
import sys
from pathlib import Path

import click
from flask import current_app

from gaissa.cli import gaissa_group
from gaissa.extensions import db
from gaissa.web.formatting import format_quantity


@gaissa_group.command("seed")
@click.option("--demo/--no-demo", default=False, help="Also add demo models and evaluations (idempotent).")
def seed_command(demo: bool) -> None:
    """Create the default catalogue (grades, metrics, scheme v1, fields, tools); safe to run again."""
    from gaissa.services import seed

    created = seed.seed_catalogue()
    try:
        from gaissa.services import roi_seed
    except ImportError:
        roi_seed = None
    if roi_seed is not None:
        created.update(roi_seed.seed_roi_catalogue())
    if demo:
        created.update(seed.seed_demo())
    db.session.commit()
    click.echo("Seeded: " + ", ".join(f"{count} {name}" for name, count in created.items()))


@gaissa_group.command("rate")
@click.option("--phase", type=click.Choice(["training", "inference"]), required=True, help="Phase to rate.")
@click.option("--file", "file_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Measurement file to read, e.g. CodeCarbon's emissions.csv.")
@click.option("--tool", "tool_name", default="CodeCarbon", show_default=True, help="Calculation tool that wrote --file.")
@click.option("--inferences", type=click.IntRange(min=1), help="Number of inferences the measured run performed (inference files).")
@click.option("--value", "assignments", multiple=True, metavar="KEY=VALUE",
              help="A metric value with an optional unit, e.g. 'energy=1.2 kWh'; repeat for more metrics.")
@click.option("--info", "info_items", multiple=True, metavar="KEY=VALUE",
              help="Additional information, e.g. 'country=ESP' (lets training CO2 be derived from energy).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of text.")
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the label(s) to this PDF, one page per run.")
def rate_command(phase, file_path, tool_name, inferences, assignments, info_items, as_json, pdf_path) -> None:
    """Rate a training or inference from a file or from values, without storing anything."""
    from gaissa.services import run_rating, schemes

    try:
        if bool(file_path) == bool(assignments):
            raise run_rating.RunInputError(
                "Give --file PATH or one or more --value KEY=VALUE (one of the two, not both).")
        info = run_rating.parse_assignments(info_items)
        if pdf_path and not pdf_path.parent.is_dir():
            raise run_rating.RunInputError(
                f"--pdf {pdf_path}: the folder {pdf_path.parent} does not exist. Create it or choose another path.")
        if file_path:
            if not file_path.is_file():
                raise run_rating.RunInputError(f"File not found: {file_path}")
            if phase == "training" and inferences is not None:
                raise run_rating.RunInputError("--inferences applies to --phase inference only; leave it out.")
            runs = run_rating.read_file_runs(phase, file_path.read_bytes(), file_path.name, tool_name, inferences)
        else:
            runs = [(run_rating.TYPED_VALUES, run_rating.parse_assignments(assignments), {})]
        rated = [run_rating.rate_run(phase, name, values, {**run_info, **info}) for name, values, run_info in runs]
    except (run_rating.RunInputError, schemes.SchemeNotFound) as exc:
        message = str(exc)
        if "number of inferences" in message:
            message += " On the command line, give it as --inferences N."
        click.echo(f"Error: {message}", err=True)
        sys.exit(2)

    if as_json:
        click.echo(json.dumps([run.as_json() for run in rated], indent=2))
    else:
        for run in rated:
            _print_run(run)
    if pdf_path:
        try:
            _write_pdf(phase, rated, pdf_path, file_path is not None)
        except OSError as exc:
            click.echo(f"Error: could not write {pdf_path}: {exc.strerror or exc}. Choose a writable path.", err=True)
            sys.exit(2)
        click.echo(f"Wrote {len(rated)} label page(s) to {pdf_path}", err=as_json)


def _print_run(run) -> None:
    click.echo(f"{run.name}: overall grade {run.overall_grade or 'not rated'} ({run.graded_count} of {run.metric_count} metrics graded)")
    for key, value in run.values.items():
        click.echo(f"  {key:<26} {format_quantity(value, run.units.get(key, ''), digits=4):>22}  {run.grades.get(key) or '-'}")
    for note in run.notes:
        click.echo(f"  note: {note}")


def _write_pdf(phase: str, rated, pdf_path: Path, file_path_given: bool) -> None:
    """Render the labels of runs that are stored only for the time of rendering, then rolled back."""
    from gaissa.services import evaluations, labels

    base = current_app.config.get("PUBLIC_BASE_URL") or "http://localhost:5000"
    with current_app.test_request_context(base_url=base):
        nested = db.session.begin_nested()
        try:
            stored = []
            for run in rated:
                model = evaluations.create_model(run.name[:300] or "unnamed run")
                stored.append(evaluations.create_evaluation(
                    evaluations.EvaluationInput(phase=phase, model_id=model.id, values=run.values, info=run.info,
                                                source="file" if file_path_given else "form")))
            pdf = labels.render_labels_pdf(stored, lambda evaluation: None)
        finally:
            nested.rollback()
    pdf_path.write_bytes(pdf)
