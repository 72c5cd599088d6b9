"""Send one e-mail over SMTP and say precisely how it went.

The SMTP dialogue is driven step by step (rather than ``smtplib.sendmail``) so
that a failure can be classified by *when* it happened:

* before the final ``.`` of ``DATA`` was sent: nothing was delivered. A 4xx
  reply, a refused or dropped connection, a timeout are transient; a 5xx reply
  to ``MAIL``, ``RCPT`` or ``DATA`` is permanent (bad recipient, message
  refused). Authentication and TLS problems are the city's configuration:
  transient, so that deliveries resume once it is fixed;
* after the message was handed over and before the server's reply: the server
  may have accepted it. That is ``unknown``, never retried automatically
  (at most once).
"""

from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, make_msgid

from fleet_monitor.outbox.message import DeliveryError, EmailMessageSpec, SendReceipt
from fleet_monitor.settings import MailSettings

_LEADING_DOT = re.compile(rb"(?m)^\.")


def message_id_for(key: str, from_address: str) -> str:
    """A stable Message-ID for one delivery: the same key always gives the same id."""
    domain = from_address.rpartition("@")[2] or "localhost"
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def build_message(
    mail: MailSettings, to: str, spec: EmailMessageSpec, *, message_id: str, date: float
) -> EmailMessage:
    """A multipart/mixed message: text and HTML alternatives, then the attachments."""
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = mail.from_address
    msg["To"] = to
    if mail.reply_to:
        msg["Reply-To"] = mail.reply_to
    msg["Subject"] = spec.subject
    msg["Date"] = formatdate(date, localtime=False, usegmt=True)
    msg["Message-ID"] = message_id or make_msgid()
    msg["Auto-Submitted"] = "auto-generated"
    for name, value in spec.headers:
        msg[name] = value
    msg.set_content(spec.text, subtype="plain", charset="utf-8")
    msg.add_alternative(spec.html, subtype="html", charset="utf-8")
    for att in spec.attachments:
        maintype, _, subtype = att.content_type.partition("/")
        msg.add_attachment(att.data, maintype=maintype, subtype=subtype, filename=att.filename)
    return msg


def _classify_reply(code: int, reply: bytes | str, step: str) -> DeliveryError:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    detail = f"{step}: {code} {text}".strip()
    if 400 <= code < 500:
        return DeliveryError("transient", detail, code)
    return DeliveryError("permanent", detail, code)


def _connect(mail: MailSettings) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if mail.smtp_ssl:
        return smtplib.SMTP_SSL(
            mail.smtp_host, mail.smtp_port, timeout=mail.smtp_timeout_s, context=context
        )
    smtp = smtplib.SMTP(mail.smtp_host, mail.smtp_port, timeout=mail.smtp_timeout_s)
    if mail.smtp_starttls:
        smtp.ehlo()
        code, reply = smtp.starttls(context=context)
        if code != 220:
            raise _classify_reply(code, reply, "STARTTLS")
    return smtp


def send_email(mail: MailSettings, to: str, msg: EmailMessage) -> SendReceipt:
    """Send ``msg`` to ``to``; raises :class:`DeliveryError` (see the module docstring)."""
    if not mail.smtp_host:
        raise DeliveryError("transient", "no SMTP server configured ([mail] smtp_host)")
    handed_over = False
    smtp: smtplib.SMTP | None = None
    try:
        smtp = _connect(mail)
        smtp.ehlo_or_helo_if_needed()
        if mail.smtp_username:
            password = mail.smtp_password.reveal() if mail.smtp_password else ""
            try:
                smtp.login(mail.smtp_username, password)
            except smtplib.SMTPAuthenticationError as exc:
                raise DeliveryError(
                    "transient", f"AUTH: {exc.smtp_code} (check [mail] credentials)", exc.smtp_code
                ) from None
        code, reply = smtp.mail(mail.from_address)
        if code != 250:
            raise _classify_reply(code, reply, "MAIL FROM")
        code, reply = smtp.rcpt(to)
        if code not in (250, 251):
            raise _classify_reply(code, reply, "RCPT TO")
        code, reply = smtp.docmd("DATA")
        if code != 354:
            raise _classify_reply(code, reply, "DATA")
        data = _LEADING_DOT.sub(b"..", msg.as_bytes(policy=SMTP_POLICY))
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        smtp.send(data + b".\r\n")
        handed_over = True
        code, reply = smtp.getreply()
        if code != 250:
            raise _classify_reply(code, reply, "end of DATA")
        detail = reply.decode(errors="replace")
    except DeliveryError:
        raise
    except (TimeoutError, smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        if handed_over:
            raise DeliveryError(
                "unknown", f"connection lost after the message was sent: {exc!r}"
            ) from None
        raise DeliveryError("transient", f"{type(exc).__name__}: {exc}") from None
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
    return SendReceipt(code=250, detail=detail[:500], message_id=msg["Message-ID"])
