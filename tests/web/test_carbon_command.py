"""The `flask gaissa import-carbon-intensity` command on SQLite."""

from sqlalchemy import func, select

from gaissa.extensions import db
from gaissa.models import CarbonIntensity, Country
from gaissa.services import carbon
from tests.unit.importers_support import CASES

COMMAND = ["gaissa", "import-carbon-intensity"]


def count_values() -> int:
    return db.session.scalar(select(func.count(CarbonIntensity.id)))


def test_default_file_imported_then_unchanged(runner):
    result = runner.invoke(args=COMMAND)

    assert result.exit_code == 0, result.output
    assert "owid-carbon-intensity-electricity.csv" in result.output
    assert "5737 created, 0 updated, 0 unchanged; 238 countries and aggregates created." in result.output
    assert count_values() == 5737
    assert carbon.intensity_for(None).g_per_kwh == 473.0065

    again = runner.invoke(args=COMMAND)
    assert again.exit_code == 0, again.output
    assert "0 created, 0 updated, 5737 unchanged; 0 countries and aggregates created." in again.output
    assert count_values() == 5737


def test_file_option(runner):
    result = runner.invoke(args=[*COMMAND, "--file", str(CASES / "C22-owid-latest-year-per-country.csv")])

    assert result.exit_code == 0, result.output
    assert "4 created, 0 updated, 0 unchanged; 4 countries and aggregates created." in result.output
    lookup = carbon.intensity_for("ESH")
    assert (lookup.year, lookup.is_stale) == (2009, True)


def test_bad_file_exits_2_and_writes_nothing(runner, tmp_path):
    runner.invoke(args=[*COMMAND, "--file", str(CASES / "C20-owid-aggregates-and-owid-codes.csv")])
    bad = tmp_path / "renewables.csv"
    bad.write_text("Entity,Code,Year,Share of renewables (%)\nAustria,AUT,2020,80\n")

    result = runner.invoke(args=[*COMMAND, "--file", str(bad)])

    assert result.exit_code == 2
    assert "was not imported: no known carbon-intensity column" in result.stderr
    assert count_values() == 5
    assert db.session.scalar(select(func.count(Country.id))) == 5


def test_missing_file_exits_2(runner, tmp_path):
    result = runner.invoke(args=[*COMMAND, "--file", str(tmp_path / "absent.csv")])

    assert result.exit_code == 2
    assert "cannot read" in result.stderr
    assert "No such file or directory" in result.stderr
    assert count_values() == 0
