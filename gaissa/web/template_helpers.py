"""Jinja filters and globals available in every template."""

from flask import Flask, request, url_for
from flask_login import current_user

from gaissa.web import formatting, page_cache


def register(app: Flask) -> None:
    app.jinja_env.filters["number"] = formatting.format_number
    app.jinja_env.filters["quantity"] = formatting.format_quantity
    app.jinja_env.filters["human"] = formatting.humanize_quantity
    app.jinja_env.filters["unit_label"] = formatting.unit_label
    app.jinja_env.filters["date"] = formatting.format_date
    app.jinja_env.filters["source_label"] = _source_label
    app.jinja_env.globals["has_endpoint"] = lambda name: name in app.view_functions
    app.jinja_env.globals["pictogram"] = _pictogram
    page_cache.register(app)

    @app.context_processor
    def inject_site_state():
        from gaissa.services import site

        settings = site.get_settings_or_defaults()
        is_manager = bool(getattr(current_user, "is_authenticated", False) and current_user.is_manager)
        return {
            "label_enabled": settings.label_enabled,
            "roi_enabled": settings.roi_enabled,
            "is_manager": is_manager,
            "current_path": request.path,
            "url_for": url_for,
        }


def _source_label(source: str) -> str:
    from gaissa.services.labels import SOURCE_LABELS

    return SOURCE_LABELS.get(source, source)


def _pictogram(name: str, colour: str):
    from gaissa.services.labels import pictogram_markup

    return pictogram_markup(name, colour)
