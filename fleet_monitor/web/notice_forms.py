"""Forms of the case files, notices and contacts pages (each carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, StopValidation

REQUIRED = _l("This field is required.")
NOTE_MAX = 4000


def not_blank(_form: object, field: Field) -> None:
    """Refuses a text made of white space only (line separators included)."""
    if not (field.data or "").strip():
        raise StopValidation(str(REQUIRED))


class CommentForm(FlaskForm):
    body = TextAreaField(
        _l("Comment"),
        validators=[InputRequired(REQUIRED), not_blank, Length(max=NOTE_MAX)],
        render_kw={"rows": 3},
    )


class OnSiteForm(FlaskForm):
    present = RadioField(
        _l("On site"),
        choices=[
            SelectChoice("yes", _l("The vehicle is there")),
            SelectChoice("no", _l("The vehicle is not there")),
        ],
        validators=[InputRequired(REQUIRED)],
    )
    note = TextAreaField(
        _l("Note"), validators=[Optional(), Length(max=NOTE_MAX)], render_kw={"rows": 2}
    )


class CaseStatusForm(FlaskForm):
    status = SelectField(_l("Status"), validators=[InputRequired(REQUIRED)])
    note = TextAreaField(
        _l("Reason"), validators=[Optional(), Length(max=NOTE_MAX)], render_kw={"rows": 2}
    )


class ResponseForm(FlaskForm):
    action = RadioField(
        _l("Response"),
        choices=[
            SelectChoice("acknowledged", _l("Acknowledge: we are dealing with it")),
            SelectChoice("disputed", _l("Dispute this notice")),
        ],
        validators=[InputRequired(REQUIRED)],
    )
    note = TextAreaField(
        _l("Message to the city"),
        validators=[Optional(), Length(max=NOTE_MAX)],
        render_kw={"rows": 3},
    )


class CancelForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for cancelling"),
        validators=[InputRequired(REQUIRED), not_blank, Length(max=NOTE_MAX)],
        render_kw={"rows": 2},
    )


class ContactForm(FlaskForm):
    operator = SelectField(_l("Operator"), validators=[InputRequired(REQUIRED)])
    channel = SelectField(
        _l("Channel"),
        choices=[SelectChoice("email", _l("E-mail")), SelectChoice("webhook", _l("Webhook"))],
        validators=[InputRequired(REQUIRED)],
    )
    address = StringField(
        _l("E-mail address or webhook URL"),
        validators=[InputRequired(REQUIRED), Length(max=2000)],
        render_kw={"autocomplete": "off"},
    )
    name = StringField(_l("Name (team, person)"), validators=[Optional(), Length(max=200)])
    notices = BooleanField(_l("Notices"), default=True)
    reports = BooleanField(_l("Daily reports"), default=True)
