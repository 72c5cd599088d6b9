"""Password policy: long enough, not common, not built on a common password.

A new password (account creation, change, reset) must:

* have at least ``MIN_PASSWORD_LENGTH`` (12) and at most ``MAX_PASSWORD_LENGTH``
  characters;
* not be, ignoring case, one of the 40,101 common passwords bundled in
  ``fleet_monitor/data/common-passwords.txt.gz`` (origin and licences in
  ``fleet_monitor/data/README.md``);
* not be a common password padded with digits, punctuation or spaces
  (``dragon2024!!!``, ``Password123456``);
* not repeat a few characters (``abababababab``: fewer than 5 different ones);
* not be the account's e-mail address or its local part.

No composition rules (NIST SP 800-63B): a long passphrase of plain words is fine.
"""

from __future__ import annotations

import gzip
from functools import cache
from importlib import resources

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # hashing cost is bounded by argon2, but refuse absurd inputs
MIN_DISTINCT_CHARACTERS = 5
PADDING = "0123456789 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


class PasswordRejected(ValueError):
    """The reason is in ``code``: ``too_short``, ``too_long``, ``common``, ``repetitive``,
    ``is_email``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@cache
def common_passwords() -> frozenset[str]:
    data = resources.files("fleet_monitor").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(gzip.decompress(data).decode("utf-8").split("\n")) - {""}


def is_common(password: str) -> bool:
    """``password`` or its core (padding of digits/punctuation removed) is a common one."""
    lowered = password.strip().lower()
    common = common_passwords()
    if lowered in common:
        return True
    core = lowered.strip(PADDING)
    return len(core) >= 4 and core in common


def check_password(password: str, email: str | None = None) -> None:
    """Raise :class:`PasswordRejected` if ``password`` breaks the policy."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRejected(
            "too_short", f"password must be at least {MIN_PASSWORD_LENGTH} characters"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordRejected("too_long", "password is too long")
    lowered = password.strip().lower()
    if email is not None:
        address = email.strip().lower()
        if lowered in (address, address.partition("@")[0]):
            raise PasswordRejected("is_email", "password must not be the e-mail address")
    if len(set(lowered)) < MIN_DISTINCT_CHARACTERS:
        raise PasswordRejected("repetitive", "password repeats too few characters")
    if is_common(password):
        raise PasswordRejected("common", "password is too common (found in a list of leaked ones)")
