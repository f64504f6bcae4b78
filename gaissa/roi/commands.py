"""The `gaissa roi` command: money, ROI, break-even and emissions of a tactic without the web pages."""

import json
import math

import click
from sqlalchemy.exc import SQLAlchemyError

from gaissa.cli import gaissa_group
from gaissa.services import roi
from gaissa.services import roi_catalogue as catalogue
from gaissa.roi.forms import NumberFormatError, parse_number, read_inferences
from gaissa.services.roi_admin import MAX_REDUCTION, MIN_REDUCTION


def _number(param: click.Parameter, text: str) -> float:
    try:
        return parse_number(text)
    except NumberFormatError as error:
        raise click.BadParameter(str(error), param=param) from None


def _reduction(_context: click.Context, param: click.Parameter, text: str) -> float:
    """Read a reduction as a fraction ("0.3") or a percentage ("30%")."""
    cleaned = text.strip()
    is_percent = cleaned.endswith("%")
    value = _number(param, cleaned[:-1]) if is_percent else _number(param, cleaned)
    fraction = value / 100 if is_percent else value
    if MIN_REDUCTION <= fraction <= MAX_REDUCTION:
        return fraction
    message = (f"must be a fraction from {MIN_REDUCTION:g} to {MAX_REDUCTION:g} (0.3 = 30 % less energy, "
               f"negative = more energy); got {text!r}.")
    if not is_percent and 1 < value <= 100:
        message += f" For {value:g} % write {value / 100:.2f} or {value:g}%."
    raise click.BadParameter(message, param=param)


def _baseline_energy(_context: click.Context, param: click.Parameter, text: str) -> float:
    value = _number(param, text)
    message = catalogue.energy_error(value)
    if message:
        raise click.BadParameter(message, param=param)
    return value


def _energy_price(_context: click.Context, param: click.Parameter, text: str) -> float:
    value = _number(param, text)
    message = catalogue.energy_price_error(value)
    if message:
        raise click.BadParameter(message, param=param)
    return value


def _implementation_cost(_context: click.Context, param: click.Parameter, text: str) -> float:
    value = _number(param, text)
    message = catalogue.implementation_cost_error(value)
    if message:
        raise click.BadParameter(message, param=param)
    return value


def _inferences(_context: click.Context, param: click.Parameter, text: str) -> int:
    value, message = read_inferences(text, roi.DEFAULT_INFERENCES)
    if message:
        raise click.BadParameter(message, param=param)
    return value


def _ratio(value: float | None):
    if value is None:
        return None
    if math.isinf(value):
        return "unbounded"
    return value


@gaissa_group.command("roi")
@click.option("--baseline-energy-j", required=True, callback=_baseline_energy,
              help=f"Energy of one inference without the tactic, in joules "
                   f"({catalogue.MIN_ENERGY_J_PER_INFERENCE:g} to {catalogue.MAX_ENERGY_J_PER_INFERENCE:,.0f}).")
@click.option("--reduction", required=True, callback=_reduction,
              help="Expected energy reduction: a fraction (0.3) or a percentage (30%); negative for an increase.")
@click.option("--energy-price", required=True, callback=_energy_price,
              help=f"Electricity price in €/kWh (more than 0, at most {catalogue.MAX_ENERGY_PRICE_EUR_PER_KWH:g}).")
@click.option("--implementation-cost", required=True, callback=_implementation_cost,
              help="One-off cost of applying the tactic, in € (0 or more; 10,000 and 10000 both work).")
@click.option("--inferences", default=str(roi.DEFAULT_INFERENCES), show_default=True, callback=_inferences,
              help="Number of inferences the money and emissions are computed for (1 to 10^15).")
@click.option("--country", default=None,
              help="ISO 3166-1 alpha-3 code of the deployment country (e.g. ESP); the world average when omitted.")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON. roi and infinite_roi are numbers, null when undefined or \"unbounded\"; "
                   "break_even_inferences is a whole number or \"never\"; country is null for the world average.")
def roi_command(baseline_energy_j: float, reduction: float, energy_price: float, implementation_cost: float,
                inferences: int, country: str | None, as_json: bool) -> None:
    """Print the money, ROI, break-even point and emissions of applying a tactic.

    The limits are those of the web calculator.
    """
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

    result = roi.energy_roi(baseline_energy_j, reduction, energy_price, implementation_cost, inferences, intensity)

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


def _mass(grams: float) -> str:
    """Format a mass of CO2 in g, kg or t: "394.17 kg"."""
    size = abs(grams)
    if size >= 1e6:
        return f"{grams / 1e6:,.2f} t"
    if size >= 1e3:
        return f"{grams / 1e3:,.2f} kg"
    if size >= 1 or size == 0:
        return f"{grams:,.2f} g"
    return f"{grams:.3g} g"


def _as_text(result: roi.EnergyRoi) -> str:
    emissions = result.emissions
    if result.break_even is None:
        break_even = "never"
    else:
        break_even = f"{roi.format_count(result.break_even)} {_inference_noun(result.break_even)}"
    change = f"{abs(result.reduction) * 100:g} % {'less' if result.reduction >= 0 else 'more'}"
    lines = [
        f"Energy per inference     {result.baseline_energy_j:g} J -> {result.new_energy_j:g} J ({change})",
        f"Cost per inference       {_money(result.baseline_cost_per_inference, 6)} -> "
        f"{_money(result.new_cost_per_inference, 6)}",
        f"For {result.inferences:,} {_inference_noun(result.inferences)}:",
        f"  cost without the tactic  {_money(result.total_baseline_cost)}",
        f"  cost with the tactic     {_money(result.total_new_cost)} "
        f"(incl. {_money(result.implementation_cost)} implementation)",
        f"  savings                  {_money(result.total_savings)}",
        f"  ROI                      {_percent(result.roi)}",
        f"ROI in the long run      {_percent(result.infinite_roi)}",
        f"Break-even point         {break_even}",
        f"Carbon intensity         {emissions.intensity.g_per_kwh:.7g} g CO2e/kWh "
        f"({emissions.intensity.label}, {emissions.intensity.year})",
        f"Emissions                {_mass(emissions.baseline_g)} -> {_mass(emissions.new_g)} CO2e "
        f"({'saved' if emissions.saved_g >= 0 else 'added'}: {_mass(abs(emissions.saved_g))})",
    ]
    return "\n".join(lines)


def _inference_noun(count: int) -> str:
    return "inference" if count == 1 else "inferences"
