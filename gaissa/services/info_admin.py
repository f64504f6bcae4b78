"""Additional-information fields for QA managers: list, create, edit and delete."""

import logging
from dataclasses import dataclass

from sqlalchemy import func, select

from gaissa.extensions import db
from gaissa.models import InfoField, InfoValue, ToolMapping
from gaissa.services import audit
from gaissa.services.metric_admin import KEY_MAX_LENGTH, NAME_MAX_LENGTH, TEXT_MAX_LENGTH, slugify_key
from gaissa.services.scheme_admin import check_phase
from gaissa.services.text_search import contains_text

logger = logging.getLogger(__name__)
MAX_OPTIONS = 200
OPTION_MAX_LENGTH = 200
FIELD_SNAPSHOT = ("key", "phase", "name", "description", "options")


class InfoInputError(ValueError):
    """Invalid field input; `errors` maps a form field name to a message for users."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))


@dataclass
class InfoInput:
    name: str
    description: str = ""
    # One option per line; empty means users type free text.
    options: str = ""


@dataclass(frozen=True)
class InfoRow:
    field: InfoField
    value_count: int


@dataclass(frozen=True)
class InfoDeletionImpact:
    values: int
    mappings: int


def get_field(field_id: int) -> InfoField | None:
    return db.session.get(InfoField, field_id)


def list_fields(phase: str, text: str = "") -> list[InfoRow]:
    """Return the phase's fields in form order; `text` filters names and keys."""
    check_phase(phase)
    query = select(InfoField).where(InfoField.phase == phase)
    if text.strip():
        needle = text.strip()
        query = query.where(contains_text(InfoField.name, needle) | contains_text(InfoField.key, needle))
    fields = db.session.scalars(query.order_by(InfoField.position, InfoField.name)).all()
    counts = dict(db.session.execute(
        select(InfoValue.field_id, func.count(InfoValue.id))
        .where(InfoValue.field_id.in_([item.id for item in fields]))
        .group_by(InfoValue.field_id)
    ).all()) if fields else {}
    return [InfoRow(item, counts.get(item.id, 0)) for item in fields]


def deletion_impact(info_field: InfoField) -> InfoDeletionImpact:
    values = db.session.scalar(select(func.count(InfoValue.id)).where(InfoValue.field_id == info_field.id)) or 0
    mappings = db.session.scalar(select(func.count(ToolMapping.id)).where(ToolMapping.field_id == info_field.id)) or 0
    return InfoDeletionImpact(values, mappings)


def clean(data: InfoInput, phase: str, info_field: InfoField | None = None) -> tuple[str, str, str, list[str] | None]:
    """Validate the editor's input; return (key, name, description, options) or raise InfoInputError."""
    errors: dict[str, str] = {}
    name = (data.name or "").strip()
    key = info_field.key if info_field is not None else slugify_key(name)[:KEY_MAX_LENGTH]
    if not name:
        errors["name"] = "Enter the field's name, e.g. 'Hardware used'."
    elif len(name) > NAME_MAX_LENGTH:
        errors["name"] = f"The name is {len(name)} characters long; the maximum is {NAME_MAX_LENGTH}."
    elif info_field is None:
        if not key:
            errors["name"] = f"{name!r} gives an empty key; use letters or digits in the name."
        elif db.session.scalar(select(InfoField).where(InfoField.phase == phase, InfoField.key == key)) is not None:
            errors["name"] = f"The key {key!r} is already used by another {phase} field; choose another name."

    description = (data.description or "").strip()
    if len(description) > TEXT_MAX_LENGTH:
        errors["description"] = (f"The description is {len(description)} characters long; "
                                 f"the maximum is {TEXT_MAX_LENGTH}.")

    options = list(dict.fromkeys(line.strip() for line in (data.options or "").splitlines() if line.strip()))
    if len(options) > MAX_OPTIONS:
        errors["options"] = f"{len(options)} options given; the maximum is {MAX_OPTIONS}."
    elif any(len(option) > OPTION_MAX_LENGTH for option in options):
        errors["options"] = f"Each option may have at most {OPTION_MAX_LENGTH} characters."

    if errors:
        raise InfoInputError(errors)
    return key, name, description, (options or None)


def create_field(phase: str, data: InfoInput) -> InfoField:
    """Add an information field at the end of the phase's form."""
    check_phase(phase)
    key, name, description, options = clean(data, phase)
    position = (db.session.scalar(select(func.max(InfoField.position)).where(InfoField.phase == phase)) or 0) + 1
    info_field = InfoField(key=key, phase=phase, name=name, description=description, options=options,
                           position=position)
    db.session.add(info_field)
    db.session.flush()
    audit.record("create", "info_field", f"{phase}.{key}", None, audit.snapshot(info_field, FIELD_SNAPSHOT),
                 f"Created {phase} information field {name!r}")
    return info_field


def update_field(info_field: InfoField, data: InfoInput) -> None:
    """Save the editor's input; stored values stay as they were, also when options change."""
    before = audit.snapshot(info_field, FIELD_SNAPSHOT)
    _, name, description, options = clean(data, info_field.phase, info_field)
    info_field.name = name
    info_field.description = description
    info_field.options = options
    db.session.flush()
    after = audit.snapshot(info_field, FIELD_SNAPSHOT)
    if after != before:
        audit.record("update", "info_field", f"{info_field.phase}.{info_field.key}", before, after,
                     f"Edited {info_field.phase} information field {name!r}: "
                     f"{', '.join(audit.changed_fields(before, after))}")


def delete_field(info_field: InfoField) -> InfoDeletionImpact:
    """Delete the field with its stored values and tool mappings."""
    counts = deletion_impact(info_field)
    before = audit.snapshot(info_field, FIELD_SNAPSHOT)
    label = f"{info_field.phase}.{info_field.key}"
    name = info_field.name
    # Explicit deletes, because SQLite enforces no ON DELETE rule unless foreign keys are switched on.
    db.session.execute(InfoValue.__table__.delete().where(InfoValue.field_id == info_field.id))
    db.session.execute(ToolMapping.__table__.delete().where(ToolMapping.field_id == info_field.id))
    db.session.delete(info_field)
    db.session.flush()
    db.session.expire_all()
    audit.record("delete", "info_field", label, before, None,
                 f"Deleted information field {name!r} with {counts.values} stored values and "
                 f"{counts.mappings} tool mappings")
    logger.info("Deleted information field %s (%d values)", label, counts.values)
    return counts
