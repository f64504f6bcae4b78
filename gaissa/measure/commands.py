"""`flask gaissa measure`: measure an endpoint in the foreground and print the results."""

import json
import sys

import click
from flask import current_app

from gaissa.cli import gaissa_group
from gaissa.extensions import db
from gaissa.services import hardware_power, measurement
from gaissa.services.connectors import http
from gaissa.services.measurement import background

PRESET_CHOICES = click.Choice(sorted(measurement.PRESETS))


@gaissa_group.command("measure")
@click.argument("url")
@click.option("--input", "inputs", multiple=True, required=True,
              help="An example input; repeat the option for several. Requests cycle through them.")
@click.option("--method", type=click.Choice(measurement.METHODS, case_sensitive=False), default="POST", show_default=True)
@click.option("--preset", type=PRESET_CHOICES, default=measurement.DEFAULT_PRESET, show_default=True,
              help="Request body shape; --body-template overrides it.")
@click.option("--body-template", help="Request body with {{input}} where each input goes.")
@click.option("--header", "header_lines", multiple=True, metavar="'NAME: VALUE'",
              help="A request header for this run only (never stored); repeat for several.")
@click.option("--warmup", type=int, default=2, show_default=True, help="Unmeasured requests sent first.")
@click.option("--requests", "request_count", type=int, default=20, show_default=True, help="Measured requests.")
@click.option("--concurrency", type=int, default=1, show_default=True, help="Measured requests in flight at once.")
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Timeout of each request, in seconds.")
@click.option("--energy-json-path", help="JSON path of the energy each response reports, e.g. usage.energy_j.")
@click.option("--energy-header", help="Response header carrying the energy of each request.")
@click.option("--energy-unit", type=click.Choice(list(measurement.ENERGY_UNITS)), default="J", show_default=True,
              help="Unit of the reported energy.")
@click.option("--hardware", "hardware_key", type=click.Choice([item.key for item in hardware_power.HARDWARE]),
              help="Serving hardware, to estimate energy from its rated power (see `flask gaissa hardware-power`).")
@click.option("--power-watts", type=float, help="Rated power of one serving device in W, for hardware not in the table.")
@click.option("--devices", type=int, default=1, show_default=True, help="Number of serving devices.")
@click.option("--country", help="ISO 3166 alpha-3 code of the country where the endpoint runs, for CO2.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--draft/--no-draft", "keep_draft", default=True, show_default=True,
              help="Store the results as an evaluation draft to review in the inference form.")
def measure_command(url, inputs, method, preset, body_template, header_lines, warmup, request_count, concurrency,
                    timeout, energy_json_path, energy_header, energy_unit, hardware_key, power_watts, devices, country,
                    as_json, keep_draft):
    """Measure the latency, throughput and energy per inference of a deployed model endpoint."""
    if energy_json_path and energy_header:
        raise click.UsageError("Give either --energy-json-path or --energy-header, not both.")
    if (energy_json_path or energy_header) and (hardware_key or power_watts is not None):
        raise click.UsageError("Energy is either reported by the endpoint (--energy-json-path, --energy-header) or "
                               "estimated from power (--hardware, --power-watts), not both.")
    if not (energy_json_path or energy_header or hardware_key or power_watts is not None):
        raise click.UsageError("Say how energy is obtained: --energy-json-path or --energy-header when the endpoint "
                               "reports it, --hardware or --power-watts to estimate it.")

    if energy_json_path or energy_header:
        location = "json" if energy_json_path else "header"
        energy = measurement.EnergySource(method="reported", location=location,
                                          path=energy_json_path or energy_header, unit=energy_unit)
    else:
        energy = measurement.EnergySource(method="estimated", hardware_key=hardware_key, watts=power_watts,
                                          devices=devices)
    spec = measurement.MeasurementSpec(
        url=url, inputs=tuple(inputs), method=method.upper(),
        body_template="" if method.upper() == "GET" else (body_template or measurement.PRESETS[preset].template),
        warmup=warmup, requests=request_count, concurrency=concurrency, timeout_s=timeout, energy=energy,
        country=country, preset=None if body_template else preset,
    )
    try:
        headers = measurement.parse_header_lines(header_lines)
        countries = background.country_choices()
        limits = measurement.MeasurementLimits.from_config(current_app.config)
        spec = measurement.validate(spec, limits, [code for code, _name in countries] if countries else None)
        result = _run(spec, headers, limits, quiet=as_json)
    except measurement.MeasurementInputError as exc:
        raise click.ClickException(" ".join(exc.errors.values())) from None
    except measurement.MeasurementFailed as exc:
        raise click.ClickException(str(exc)) from None

    summary = result.summary()
    if keep_draft:
        draft = measurement.save_draft(result)
        db.session.commit()
        summary["draft_id"] = draft.id
        summary["review_url"] = _review_url(draft.id)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        _print_summary(summary)


@gaissa_group.command("hardware-power")
def hardware_power_command():
    """List the accelerators and CPUs whose rated power estimates energy, with each figure's source."""
    for item in hardware_power.HARDWARE:
        click.echo(f"{item.key:28} {item.watts:>6g} W {item.rating:9} {item.name}")
        click.echo(f"{'':28} source: {item.source}")


def _run(spec, headers, limits, quiet: bool):
    policy = background.outbound_policy(current_app.config)

    def progress(done: int, total: int, message: str) -> None:
        if not quiet and sys.stderr.isatty():
            click.echo(f"\r{done}/{total} {message}\033[K", nl=False, err=True)

    with http.SafeHttpClient(policy, max_connections=spec.concurrency) as client:
        outcome = measurement.run_measurement(spec, headers, client, limits=limits, on_progress=progress)
    if not quiet and sys.stderr.isatty():
        click.echo("", err=True)
    return measurement.build_result(spec, outcome, limits, background.carbon_lookup())


def _review_url(draft_id: str) -> str:
    # No request here, so build the path from the URL map instead of url_for (which would need SERVER_NAME).
    adapter = current_app.url_map.bind("localhost", script_name=current_app.config.get("APPLICATION_ROOT") or "/")
    path = adapter.build("labeling.new_evaluation", {"phase": "inference", "draft": draft_id})
    return f"{current_app.config.get('PUBLIC_BASE_URL', '')}{path}"


def _print_summary(summary: dict) -> None:
    latency = summary["latency_ms"]
    energy = summary["energy"]
    co2 = summary["co2"]
    origin = "estimated" if energy["method"] == "estimated" else "reported by the endpoint"
    click.echo(f"Endpoint:     {summary['method']} {summary['url']} ({summary['address']})")
    click.echo(f"Requests:     {summary['requests']} measured, {summary['succeeded']} succeeded, {summary['failed']} failed "
               f"(after {summary['warmup']} warm-up, concurrency {summary['concurrency']})")
    click.echo(f"Latency (ms): mean {latency['mean']:.4g}, p50 {latency['p50']:.4g}, p95 {latency['p95']:.4g}, "
               f"p99 {latency['p99']:.4g}")
    click.echo(f"Throughput:   {summary['throughput_rps']:.4g} requests/s")
    click.echo(f"Response:     mean {summary['response_bytes']['mean']:.4g} bytes")
    click.echo(f"Energy:       {energy['joules_per_inference']:.4g} J per inference ({origin})")
    if energy["method"] == "estimated":
        click.echo(f"              {energy['hardware']}: {energy['power_w']:g} W; source: {energy['power_source']}")
    if "g_per_inference" in co2:
        click.echo(f"CO2:          {co2['g_per_inference']:.4g} g per inference "
                   f"({co2['country_name']}, {co2['g_per_kwh']:.4g} g/kWh in {co2['year']})")
    else:
        click.echo(f"CO2:          {co2['unavailable']}")
    for error in summary["errors"]:
        click.echo(f"Error:        {error['count']} × {error['message']}")
    if "review_url" in summary:
        click.echo(f"Review and save: {summary['review_url']}")
