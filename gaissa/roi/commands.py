"""The `gaissa roi` command: money, ROI, break-even and emissions of a tactic without the web pages."""

import json
import math

import click
from sqlalchemy.exc import SQLAlchemyError

from gaissa.cli import gaissa_group
from gaissa.services import roi
from gaissa.services import roi_catalogue as catalogue

MAX_REDUCTION = 1.0
MIN_REDUCTION = -10.0


def _reduction(text: str) -> float:
    """Read a reduction as a fraction ("0.3") or a percentage ("30%")."""
    cleaned = text.strip()
    try:
        value = float(cleaned[:-1]) / 100 if cleaned.endswith("%") else float(cleaned)
    except ValueError:
        raise click.BadParameter(f"expected a fraction such as 0.3 or a percentage such as 30%; got {text!r}.")
    if not math.isfinite(value) or not MIN_REDUCTION <= value <= MAX_REDUCTION:
        raise click.BadParameter(f"must be between {MIN_REDUCTION:g} and {MAX_REDUCTION:g} "
                                 f"(1 = 100 % less energy, negative = more energy); got {text!r}.")
    return value


def _ratio(value: float | None):
    if value is None:
        return None
    if math.isinf(value):
        return "unbounded"
    return value


@gaissa_group.command("roi")
@click.option("--baseline-energy-j", type=float, required=True,
              help="Energy of one inference without the tactic, in joules.")
@click.option("--reduction", required=True,
              help="Expected energy reduction: a fraction (0.3) or a percentage (30%); negative for an increase.")
@click.option("--energy-price", type=float, required=True, help="Electricity price in €/kWh.")
@click.option("--implementation-cost", type=float, required=True, help="One-off cost of applying the tactic, in €.")
@click.option("--inferences", type=click.IntRange(min=0), default=roi.DEFAULT_INFERENCES, show_default=True,
              help="Number of inferences the money and emissions are computed for.")
@click.option("--country", default=None,
              help="ISO 3166-1 alpha-3 code of the deployment country (e.g. ESP); the world average when omitted.")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON. roi and infinite_roi are numbers, null when undefined or \"unbounded\"; "
                   "break_even_inferences is a whole number or \"never\"; country is null for the world average.")
def roi_command(baseline_energy_j: float, reduction: str, energy_price: float, implementation_cost: float,
                inferences: int, country: str | None, as_json: bool) -> None:
    """Print the money, ROI, break-even point and emissions of applying a tactic."""
    fraction = _reduction(reduction)
    if not math.isfinite(baseline_energy_j) or baseline_energy_j <= 0:
        raise click.BadParameter(f"must be a positive number of joules; got {baseline_energy_j}.",
                                 param_hint="--baseline-energy-j")
    if not math.isfinite(energy_price) or energy_price <= 0 or energy_price > catalogue.MAX_ENERGY_PRICE_EUR_PER_KWH:
        raise click.BadParameter(
            f"must be a positive price of at most {catalogue.MAX_ENERGY_PRICE_EUR_PER_KWH:g} €/kWh; got {energy_price}. "
            "For a price in €/MWh, divide it by 1,000.", param_hint="--energy-price")
    if not math.isfinite(implementation_cost) or implementation_cost < 0:
        raise click.BadParameter(f"must be 0 € or more; got {implementation_cost}.",
                                 param_hint="--implementation-cost")
    code = country.strip().upper() if country else None
    try:
        intensity = _intensity(code)
    except SQLAlchemyError as error:
        if code:
            raise click.ClickException(f"Cannot read the carbon-intensity data for {code}: {error.__class__.__name__}. "
                                       "Create the database with `flask --app wsgi db upgrade` first.")
        click.echo(f"No database to read the carbon intensity from ({error.__class__.__name__}); using the built-in "
                   f"world average of {roi.WORLD_AVERAGE.g_per_kwh:.7g} g/kWh ({roi.WORLD_AVERAGE.year}).", err=True)
        intensity = roi.WORLD_AVERAGE

    result = roi.energy_roi(baseline_energy_j, fraction, energy_price, implementation_cost, inferences, intensity)

    if as_json:
        click.echo(json.dumps(_as_dict(result, None if intensity.is_world_average else code), indent=2))
    else:
        click.echo(_as_text(result))


def _intensity(code: str | None) -> roi.IntensityFigure:
    if code and not catalogue.country_known(code):
        raise click.BadParameter(
            f"no carbon-intensity data for {code!r}. Use an ISO 3166-1 alpha-3 code such as ESP, "
            "after importing the data with `flask --app wsgi gaissa import-carbon-intensity`.",
            param_hint="--country")
    return catalogue.intensity_figure(code)


def _money(value: float, significant: int | None = None) -> str:
    sign = "-" if value < 0 else ""
    amount = f"{abs(value):.{significant}g}" if significant else f"{abs(value):,.2f}"
    return f"{sign}€{amount}"


def _percent(value: float | None) -> str:
    if value is None:
        return "n/a (nothing spent yet)"
    if math.isinf(value):
        return "unbounded"
    return f"{value * 100:,.2f} %"


def _as_dict(result: roi.EnergyRoi, country: str | None) -> dict:
    emissions = result.emissions
    return {
        "baseline_cost_per_inference": result.baseline_cost_per_inference,
        "new_cost_per_inference": result.new_cost_per_inference,
        "total_baseline_cost": result.total_baseline_cost,
        "total_new_cost": result.total_new_cost,
        "total_savings": result.total_savings,
        "roi": _ratio(result.roi),
        "infinite_roi": _ratio(result.infinite_roi),
        "break_even_inferences": "never" if result.break_even is None else result.break_even,
        "baseline_emissions_g": emissions.baseline_g,
        "new_emissions_g": emissions.new_g,
        "emissions_saved_g": emissions.saved_g,
        "carbon_intensity_g_per_kwh": emissions.intensity.g_per_kwh,
        "carbon_intensity_year": emissions.intensity.year,
        "country": country,
    }


def _as_text(result: roi.EnergyRoi) -> str:
    emissions = result.emissions
    break_even = "never" if result.break_even is None else f"{result.break_even:,} inferences"
    lines = [
        f"Energy per inference     {result.baseline_energy_j:g} J -> {result.new_energy_j:g} J "
        f"({result.reduction * 100:g} % less)",
        f"Cost per inference       {_money(result.baseline_cost_per_inference, 6)} -> "
        f"{_money(result.new_cost_per_inference, 6)}",
        f"For {result.inferences:,} inferences:",
        f"  cost without the tactic  {_money(result.total_baseline_cost)}",
        f"  cost with the tactic     {_money(result.total_new_cost)} "
        f"(incl. {_money(result.implementation_cost)} implementation)",
        f"  savings                  {_money(result.total_savings)}",
        f"  ROI                      {_percent(result.roi)}",
        f"ROI in the long run      {_percent(result.infinite_roi)}",
        f"Break-even point         {break_even}",
        f"Carbon intensity         {emissions.intensity.g_per_kwh:.7g} g CO2e/kWh "
        f"({emissions.intensity.label}, {emissions.intensity.year})",
        f"Emissions                {emissions.baseline_g:,.1f} g -> {emissions.new_g:,.1f} g CO2e "
        f"({'saved' if emissions.saved_g >= 0 else 'added'}: {abs(emissions.saved_g):,.1f} g)",
    ]
    return "\n".join(lines)
