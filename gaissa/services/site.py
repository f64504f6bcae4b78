"""The tool switches (GAISSALabel and ROI Analyzer on or off)."""

from dataclasses import dataclass

from flask import g, has_request_context
from sqlalchemy.exc import SQLAlchemyError

from gaissa.extensions import db
from gaissa.models import SiteSettings

TOOLS = ("label", "roi")


@dataclass(frozen=True)
class SettingsView:
    label_enabled: bool = True
    roi_enabled: bool = True


def get_settings() -> SiteSettings:
    """Return the settings row, creating it with both tools enabled when it does not exist yet."""
    settings = db.session.get(SiteSettings, 1)
    if settings is None:
        settings = SiteSettings(id=1, label_enabled=True, roi_enabled=True)
        db.session.add(settings)
        db.session.flush()
    return settings


def get_settings_or_defaults() -> SettingsView:
    """Read the switches without writing, once per request; an empty or missing table means both tools are on."""
    if has_request_context() and "site_settings" in g:
        return g.site_settings
    view = _read_settings()
    if has_request_context():
        g.site_settings = view
    return view


def _read_settings() -> SettingsView:
    try:
        settings = db.session.get(SiteSettings, 1)
    except SQLAlchemyError:
        db.session.rollback()
        return SettingsView()
    if settings is None:
        return SettingsView()
    return SettingsView(settings.label_enabled, settings.roi_enabled)


def forget_cached_settings() -> None:
    """Drop this request's copy of the switches after changing them."""
    if has_request_context():
        g.pop("site_settings", None)


def is_enabled(tool: str) -> bool:
    if tool not in TOOLS:
        raise ValueError(f"unknown tool {tool!r}; expected one of {TOOLS}")
    view = get_settings_or_defaults()
    return view.label_enabled if tool == "label" else view.roi_enabled
