"""Carbon intensity: parsing every OWID layout, the idempotent import, and lookups with the data year."""

import pytest
from sqlalchemy import func, select

from gaissa.extensions import db
from gaissa.models import CarbonIntensity, Country
from gaissa.services import carbon
from tests.unit.importers_support import case_bytes

SHIPPED = carbon.DEFAULT_FILE


def intensity_rows() -> int:
    return db.session.scalar(select(func.count(CarbonIntensity.id)))


# Parsing (pure)


def test_c20_codes_and_aggregates():
    parsed = carbon.parse_owid_csv(case_bytes("C20-owid-aggregates-and-owid-codes.csv"))

    rows = {row.name: row for row in parsed.rows}
    assert rows["Austria"].code == "AUT"
    assert rows["Austria"].g_per_kwh == 83.0
    assert rows["France"].g_per_kwh == 55.0
    assert rows["France"].year == 2020
    assert rows["EU-27"].code is None
    assert rows["EU27+1"].code is None
    assert rows["World"].code == "OWID_WRL"
    assert rows["World"].g_per_kwh == 475.0
    assert rows["World"].year == 2019


@pytest.mark.parametrize("name, column, unit, year, value", [
    ("C21a-owid-grapher-old-header.csv", "Carbon intensity of electricity (gCO2/kWh)", "g/kWh", 2020, 55.0),
    ("C21b-owid-grapher-short-header.csv", "co2_intensity__gco2_kwh", "g/kWh", 2023, 56.039),
    ("C21c-owid-energy-data-column-order.csv", "carbon_intensity_elec", "g/kWh", 2023, 56.039),
    ("C21d-owid-kg-per-kwh.csv", "Carbon intensity of electricity (kgCO2eq/kWh)", "kg/kWh", 2023, 56.039),
])
def test_c21_header_variants(name, column, unit, year, value):
    parsed = carbon.parse_owid_csv(case_bytes(name))

    assert parsed.value_column == column
    assert parsed.unit == unit
    assert len(parsed.rows) == 1
    france = parsed.rows[0]
    assert (france.name, france.code, france.year) == ("France", "FRA", year)
    assert france.g_per_kwh == value


def test_shipped_file_header():
    parsed = carbon.parse_owid_csv(SHIPPED.read_bytes())

    assert parsed.value_column == "Carbon intensity of electricity - gCO2/kWh"
    assert len(parsed.rows) == 5737
    assert parsed.newest_year == 2024
    assert parsed.warnings == ()


def test_no_known_column():
    with pytest.raises(carbon.CarbonFileError) as error:
        carbon.parse_owid_csv(b"Entity,Code,Year,Share of renewables (%)\nFrance,FRA,2023,30\n")

    message = str(error.value)
    assert message.startswith("no known carbon-intensity column in the header (Entity, Code, Year, Share of renewables (%))")
    assert "'co2_intensity__gco2_kwh'" in message


def test_missing_code_column():
    with pytest.raises(carbon.CarbonFileError, match="has no code column"):
        carbon.parse_owid_csv(b"Entity,Year,co2_intensity__gco2_kwh\nFrance,2023,56\n")


def test_kg_values_under_g_header():
    data = b"Entity,Code,Year,co2_intensity__gco2_kwh\nFrance,FRA,2023,0.056\nSpain,ESP,2023,0.169\n"
    with pytest.raises(carbon.CarbonFileError, match="median of 0.1125, which is a kg/kWh figure"):
        carbon.parse_owid_csv(data)


def test_g_values_under_kg_header():
    data = b"Entity,Code,Year,carbon_intensity_kg_per_kwh\nFrance,FRA,2023,56\n"
    with pytest.raises(carbon.CarbonFileError, match="which is a g/kWh figure"):
        carbon.parse_owid_csv(data)


def test_single_suspect_value_warned():
    data = b"Entity,Code,Year,co2_intensity__gco2_kwh\nFrance,FRA,2023,56\nSpain,ESP,2023,0.169\nItaly,ITA,2023,300\n"
    parsed = carbon.parse_owid_csv(data)

    assert parsed.warnings == ("line 3: Spain 2023 is 0.169 g/kWh, suspiciously low",)
    assert len(parsed.rows) == 3


def test_invalid_rows_listed_with_lines():
    data = (
        b"Entity,Code,Year,co2_intensity__gco2_kwh\n"
        b"France,FRA,twenty,56\n"
        b"Spain,ESP,2023,lots\n"
        b"Italy,ITA,2023,-3\n"
        b"Chile,CHL,2023,400\n"
        b"Chile,CHL,2023,401\n"
        b"Peru,CHL,2022,300\n"
    )
    with pytest.raises(carbon.CarbonFileError) as error:
        carbon.parse_owid_csv(data)

    message = str(error.value)
    assert message.startswith("the carbon-intensity file has invalid rows, so nothing was imported: ")
    assert "line 2: year 'twenty' is not a whole number" in message
    assert "line 3: carbon intensity 'lots' is not a number" in message
    assert "line 4: carbon intensity of Italy 2023 is -3, which is not a value ≥ 0" in message
    assert "line 6: Chile 2023 already appears on line 5" in message
    assert "line 7: code CHL is used by Chile and Peru" in message


def test_empty_and_valueless_files():
    with pytest.raises(carbon.CarbonFileError, match="is empty"):
        carbon.parse_owid_csv(b"")
    with pytest.raises(carbon.CarbonFileError, match="has no values"):
        carbon.parse_owid_csv(b"Entity,Code,Year,co2_intensity__gco2_kwh\nFrance,FRA,2023,\n")


def test_binary_file_rejected():
    with pytest.raises(carbon.CarbonFileError, match="is not UTF-8 text"):
        carbon.parse_owid_csv(b"\x89PNG\r\n\x1a\n\xff\xfe")


def test_text_input_with_bom():
    parsed = carbon.parse_owid_csv("\ufeffEntity,Code,Year,co2_intensity__gco2_kwh\r\nFrance,FRA,2023,56.039\r\n")

    assert parsed.rows[0].g_per_kwh == 56.039
    assert parsed.rows[0].line == 2


def test_aggregate_codes():
    assert carbon.is_aggregate_code(None)
    assert carbon.is_aggregate_code("OWID_WRL")
    assert not carbon.is_aggregate_code("OWID_KOS")
    assert not carbon.is_aggregate_code("FRA")


# Import and lookup (database)


def test_c20_lookup_by_iso_code(app):
    carbon.import_owid(case_bytes("C20-owid-aggregates-and-owid-codes.csv"))

    austria = carbon.intensity_for("AUT")
    assert (austria.g_per_kwh, austria.year, austria.code, austria.name) == (83.0, 2020, "AUT", "Austria")
    assert not austria.is_world_fallback
    france = carbon.intensity_for("fra")
    assert (france.g_per_kwh, france.year) == (55.0, 2020)
    assert carbon.intensity_for("Austria").code == "AUT"


def test_c20_aggregates_never_match(app):
    carbon.import_owid(case_bytes("C20-owid-aggregates-and-owid-codes.csv"))

    for text in ("EU-27", "EU27+1", "OWID_WRL", "World"):
        lookup = carbon.intensity_for(text)
        assert lookup.is_world_fallback
        assert lookup.code == "OWID_WRL"
        assert lookup.g_per_kwh == 475.0
        assert lookup.year == 2019
    eu = db.session.scalar(select(Country).where(Country.name == "EU-27"))
    assert eu.code is None
    assert eu.is_aggregate


def test_unknown_or_missing_country_falls_back(app):
    carbon.import_owid(case_bytes("C20-owid-aggregates-and-owid-codes.csv"))

    for text in (None, "", "  ", "XYZ", "Atlantis"):
        lookup = carbon.intensity_for(text)
        assert lookup.is_world_fallback
        assert lookup.name == "World"


def test_c22_latest_year_per_country(app):
    counts = carbon.import_owid(case_bytes("C22-owid-latest-year-per-country.csv"))
    assert counts == carbon.ImportCounts(created=4, updated=0, unchanged=0, countries_created=4)

    expected = {"FRA": (56.039, 2023, False), "AFG": (132.53, 2022, False),
                "ALB": (24.286, 2022, False), "ESH": (666.667, 2009, True)}
    for code, (value, year, stale) in expected.items():
        lookup = carbon.intensity_for(code)
        assert lookup.g_per_kwh == value
        assert lookup.year == year
        assert lookup.is_stale is stale
        assert not lookup.is_world_fallback


def test_shipped_file_world_and_countries(app):
    counts = carbon.import_owid(SHIPPED.read_bytes())
    assert counts.created == 5737
    assert counts.countries_created == 238

    world = carbon.intensity_for(None)
    assert (world.g_per_kwh, world.year, world.code) == (473.0065, 2024, "OWID_WRL")
    assert world.is_world_fallback
    assert not world.is_stale
    spain = carbon.intensity_for("ESP")
    assert (spain.g_per_kwh, spain.year, spain.name) == (146.15356, 2024, "Spain")
    western_sahara = carbon.intensity_for("ESH")
    assert western_sahara.year == 2009
    assert western_sahara.is_stale
    assert carbon.intensity_for("XKX").code == "OWID_KOS"


def test_countries_with_data_excludes_aggregates(app):
    carbon.import_owid(SHIPPED.read_bytes())
    countries = carbon.countries_with_data()

    assert len(countries) == 214
    names = [name for _, name in countries]
    assert names == sorted(names)
    assert countries[0] == ("AFG", "Afghanistan")
    assert ("OWID_KOS", "Kosovo") in countries
    assert ("ESP", "Spain") in countries
    assert "World" not in names
    assert "Africa (Ember)" not in names
    assert "European Union (27)" not in names


def test_import_is_idempotent(app):
    first = carbon.import_owid(case_bytes("C20-owid-aggregates-and-owid-codes.csv"))
    second = carbon.import_owid(case_bytes("C20-owid-aggregates-and-owid-codes.csv"))

    assert first == carbon.ImportCounts(created=5, updated=0, unchanged=0, countries_created=5)
    assert second == carbon.ImportCounts(created=0, updated=0, unchanged=5, countries_created=0)
    assert intensity_rows() == 5


def test_import_updates_and_adds_years(app):
    carbon.import_owid(case_bytes("C21a-owid-grapher-old-header.csv"))
    counts = carbon.import_owid(b"Entity,Code,Year,co2_intensity__gco2_kwh\nFrance,FRA,2020,54.5\nFrance,FRA,2023,56.039\n")

    assert counts == carbon.ImportCounts(created=1, updated=1, unchanged=0, countries_created=0)
    lookup = carbon.intensity_for("FRA")
    assert (lookup.g_per_kwh, lookup.year) == (56.039, 2023)


def test_kg_file_stored_in_grams(app):
    carbon.import_owid(case_bytes("C21d-owid-kg-per-kwh.csv"))

    assert carbon.intensity_for("FRA").g_per_kwh == 56.039


def test_bad_file_changes_nothing(app):
    carbon.import_owid(case_bytes("C20-owid-aggregates-and-owid-codes.csv"))
    bad = b"Entity,Code,Year,co2_intensity__gco2_kwh\nAustria,AUT,2020,99\nFrance,FRA,2020,oops\n"

    with pytest.raises(carbon.CarbonFileError):
        carbon.import_owid(bad)

    assert carbon.intensity_for("AUT").g_per_kwh == 83.0
    assert intensity_rows() == 5


def test_renamed_entity_keeps_its_code(app):
    carbon.import_owid(b"Entity,Code,Year,co2_intensity__gco2_kwh\nCzech Republic,CZE,2020,400\n")
    counts = carbon.import_owid(b"Entity,Code,Year,co2_intensity__gco2_kwh\nCzechia,CZE,2021,390\n")

    assert counts.countries_created == 0
    lookup = carbon.intensity_for("Czechia")
    assert (lookup.code, lookup.year, lookup.g_per_kwh) == ("CZE", 2021, 390.0)


def test_empty_database_uses_shipped_world_value(app):
    assert intensity_rows() == 0
    lookup = carbon.intensity_for("ESP")

    assert lookup == carbon.IntensityLookup(473.0065, 2024, "OWID_WRL", "World", True, False)
