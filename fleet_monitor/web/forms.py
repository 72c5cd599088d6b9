"""The application's forms (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import EqualTo, InputRequired, Length

from fleet_monitor.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

REQUIRED = _l("This field is required.")


def role_choices() -> list[tuple[str, str]]:
    return [
        ("officer", str(_l("Officer"))),
        ("supervisor", str(_l("Supervisor"))),
        ("admin", str(_l("Administrator"))),
        ("operator", str(_l("Operator staff"))),
    ]


class LoginForm(FlaskForm):
    email = StringField(
        _l("E-mail address"),
        validators=[InputRequired(REQUIRED), Length(max=254)],
        render_kw={"autocomplete": "username", "inputmode": "email", "autofocus": True},
    )
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(REQUIRED), Length(max=MAX_PASSWORD_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )


class UserCreateForm(FlaskForm):
    email = StringField(
        _l("E-mail address"),
        validators=[InputRequired(REQUIRED), Length(max=254)],
        render_kw={"autocomplete": "off", "inputmode": "email"},
    )
    role = SelectField(_l("Role"), validators=[InputRequired(REQUIRED)])
    operator = SelectField(_l("Operator (operator staff only)"), default="")
    password = PasswordField(
        _l("Initial password"),
        validators=[
            InputRequired(REQUIRED),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=MAX_PASSWORD_LENGTH,
                message=_l("At least %(n)s characters.", n=MIN_PASSWORD_LENGTH),
            ),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[InputRequired(REQUIRED), EqualTo("password", _l("Passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class PasswordChangeForm(FlaskForm):
    current = PasswordField(
        _l("Current password"),
        validators=[InputRequired(REQUIRED)],
        render_kw={"autocomplete": "current-password"},
    )
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
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[InputRequired(REQUIRED), EqualTo("new", _l("Passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class ActionForm(FlaskForm):
    """A button posting an action (logout, disable...): only the CSRF token."""
