"""Forms of the account pages: two-factor codes, password reset."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, Length

from fleet_monitor.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from fleet_monitor.web.forms import REQUIRED


class CodeForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[InputRequired(REQUIRED), Length(max=40)],
        render_kw={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"},
    )


class ForgotForm(FlaskForm):
    email = StringField(
        _l("E-mail address"),
        validators=[InputRequired(REQUIRED), Length(max=254)],
        render_kw={"autocomplete": "username", "inputmode": "email", "autofocus": True},
    )


class NewPasswordForm(FlaskForm):
    new = PasswordField(
        _l("New password"),
        validators=[
            InputRequired(REQUIRED),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=MAX_PASSWORD_LENGTH,
                message=_l("At least %(n)s characters.", n=MIN_PASSWORD_LENGTH),
            ),
        ],
        render_kw={"autocomplete": "new-password", "autofocus": True},
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[InputRequired(REQUIRED), EqualTo("new", _l("Passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )
