"""Countries and aggregates with the carbon intensity of their electricity per year."""

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gaissa.extensions import db

WORLD_CODE = "OWID_WRL"


class Country(db.Model):
    """A country (ISO 3166-1 alpha-3 code) or an aggregate such as the world (OWID_ code or none)."""

    __tablename__ = "countries"

    id: Mapped[int] = mapped_column(primary_key=True)
    # ISO alpha-3 for countries, OWID_* for OWID aggregates, None for aggregates without a code.
    code: Mapped[str | None] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    is_aggregate: Mapped[bool] = mapped_column(Boolean, default=False)

    intensities: Mapped[list["CarbonIntensity"]] = relationship(
        back_populates="country", cascade="all, delete-orphan", order_by="CarbonIntensity.year"
    )

    def __repr__(self) -> str:
        return f"<Country {self.code} {self.name!r}>"


class CarbonIntensity(db.Model):
    """Carbon intensity of electricity generation in g CO2eq/kWh for one country and year."""

    __tablename__ = "carbon_intensities"
    __table_args__ = (UniqueConstraint("country_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    country_id: Mapped[int] = mapped_column(ForeignKey("countries.id", ondelete="CASCADE"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    g_per_kwh: Mapped[float] = mapped_column(Float)

    country: Mapped[Country] = relationship(back_populates="intensities")

    def __repr__(self) -> str:
        return f"<CarbonIntensity {self.country_id} {self.year} {self.g_per_kwh} g/kWh>"
