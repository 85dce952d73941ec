"""The base of every HTML form: the one text rule (core.text) applied to each text field, nested
rows included, so that no form can forget it. What a field must hold beyond that (length, format)
is its own form's business."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FieldList, FormField, PasswordField, StringField, TextAreaField
from wtforms.validators import StopValidation

from community.core.text import is_clean_text, is_single_line

CONTROL_CHARACTERS_MESSAGE = _l("Remove the control characters from this field.")


def _allowed(field) -> bool:
    # A password is hashed, never shown or sent: whatever a person chose is theirs to keep.
    if not isinstance(field.data, str) or isinstance(field, PasswordField):
        return True
    return (
        is_clean_text(field.data)
        if isinstance(field, TextAreaField)
        else is_single_line(field.data)
    )


class NoControlCharacters:
    """Refuses control characters and line separators (a text area keeps its line breaks)."""

    def __call__(self, form, field) -> None:
        if not _allowed(field):
            raise StopValidation(CONTROL_CHARACTERS_MESSAGE)


def text_fields(form):
    """Every text field of `form`, inside its lists of rows and sub-forms too."""
    for field in form:
        if isinstance(field, FieldList):
            for entry in field:
                if isinstance(entry, FormField):
                    yield from text_fields(entry.form)
                elif isinstance(entry, StringField | TextAreaField):
                    yield entry
        elif isinstance(field, FormField):
            yield from text_fields(field.form)
        elif isinstance(field, StringField | TextAreaField):
            yield field


class CheckedForm(FlaskForm):
    """FlaskForm whose text fields all follow the text rule, with the message on the field."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in text_fields(self):
            if not field.errors and not _allowed(field):
                field.errors = [*field.errors, str(CONTROL_CHARACTERS_MESSAGE)]
                valid = False
        return valid
