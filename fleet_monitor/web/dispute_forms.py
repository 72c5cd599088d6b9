"""Forms of the respond page and of the supervisors' dispute decisions (CSRF tokens)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from fleet_monitor.web.notice_forms import NOTE_MAX, REQUIRED, not_blank


class AcknowledgeForm(FlaskForm):
    note = TextAreaField(
        _l("Message to the city"),
        validators=[Optional(), Length(max=NOTE_MAX)],
        render_kw={"rows": 2},
    )


class DisputeForm(FlaskForm):
    item = IntegerField(validators=[InputRequired(REQUIRED), NumberRange(min=1)])
    reason = TextAreaField(
        _l("Why this vehicle is not in breach"),
        validators=[InputRequired(REQUIRED), not_blank, Length(max=NOTE_MAX)],
        render_kw={"rows": 3},
    )


class DecisionForm(FlaskForm):
    decision = RadioField(
        _l("Decision"),
        choices=[
            SelectChoice("upheld", _l("Upheld: the operator is right, no penalty")),
            SelectChoice("rejected", _l("Rejected: the breach and its penalty stand")),
        ],
        validators=[InputRequired(REQUIRED)],
    )
    reason = TextAreaField(
        _l("Reasons"),
        validators=[InputRequired(REQUIRED), not_blank, Length(max=NOTE_MAX)],
        render_kw={"rows": 3},
    )
