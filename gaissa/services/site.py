"""The tool switches (GAISSALabel and ROI Analyzer on or off)."""

from dataclasses import dataclass

from flask import g, has_request_context
from sqlalchemy.exc import SQLAlchemyError

from gaissa.extensions import db
from gaissa.models import SiteSettings
from gaissa.services import content_version

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
    """Read the switches without writing, once per request; an empty or missing table means both tools are on.

    Processes keep the last copy they read under the content token, so most requests read no settings row.
    """
    if has_request_context() and "site_settings" in g:
        return g.site_settings
    view = _read_settings()
    if has_request_context():
        g.site_settings = view
    return view


def _read_settings() -> SettingsView:
    token = content_version.current_token()
    cached = _process_copy
    if token is not None and cached is not None and cached[0] == token:
        return cached[1]
    view = _read_settings_row()
    if token is not None:
        _remember(token, view)
    return view


# The switches as of a content token; every process keeps its own copy (see services/content_version.py).
_process_copy: tuple[int, SettingsView] | None = None


def _remember(token: int, view: SettingsView) -> None:
    global _process_copy
    _process_copy = (token, view)


def _read_settings_row() -> SettingsView:
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
