"""The channels notify sends through, each a callable the shared sender calls outside any
transaction: e-mail over SMTP (smtplib: plain, STARTTLS or TLS, with AUTH) and SMS over a
Vonage-style HTTP API. Each raises `Transient` (try again later) or `Permanent` (never) and
answers (what the provider said, its id for the message)."""

import base64
import email.policy
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

import phonenumbers
import requests

from services.notify.targets import allowed, target_problem
from shared.sender import Delivery, Permanent, Transient, check_http
from shared.settings import Settings


class BadNumber(ValueError):
    """A number SMS cannot go to; the message says why."""


def e164(number: str) -> str:
    """The number in E.164 (`+48600100200`), or BadNumber: SMS needs the international form, so a
    national number (no `+` and country code) is refused rather than guessed."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            raise BadNumber(
                "Must be in the international format with its country code, e.g. +48 600 100 200."
            ) from None
        raise BadNumber(f"Not a phone number: {exc._msg}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise BadNumber("Not a valid phone number for its country.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class Email:
    """One SMTP connection, kept open between sends and opened again after any failure."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __call__(self, delivery: Delivery) -> tuple[str, str]:
        message = self.message(delivery)
        try:
            return self._send(message, delivery.recipient), message["Message-ID"]
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            code, reply = next(iter(exc.recipients.values()))
            raise _by_code(code, reply) from None
        except smtplib.SMTPResponseException as exc:
            self.close()
            raise _by_code(exc.smtp_code, exc.smtp_error) from None
        except (OSError, smtplib.SMTPException) as exc:  # refused, reset, timed out, TLS failed
            self.close()
            raise Transient(f"{type(exc).__name__}: {exc}") from None

    def message(self, delivery: Delivery) -> EmailMessage:
        content = delivery.content
        message = EmailMessage()
        message["From"] = self.settings.mail_from
        message["To"] = delivery.recipient
        message["Subject"] = content["subject"]
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = content["message_id"]
        if content.get("automatic", True):
            message["Auto-Submitted"] = "auto-generated"  # no vacation replies to these
        message["X-OMS-Notification"] = delivery.send_id
        message.set_content(content["text"])
        if content.get("html"):
            message.add_alternative(content["html"], subtype="html")
        for attached in content.get("attachments", ()):
            maintype, _, subtype = attached["content_type"].partition("/")
            message.add_attachment(
                base64.b64decode(attached["content"]),
                maintype=maintype,
                subtype=subtype,
                filename=attached["filename"],
            )
        return message

    def _send(self, message: EmailMessage, recipient: str) -> str:
        """MAIL, RCPT, DATA one by one, so the server's answer to DATA (its queue id) is kept."""
        fresh = self._smtp is None
        smtp = self._connection()
        try:
            code, reply = smtp.mail(_address(self.settings.mail_from))
        except smtplib.SMTPServerDisconnected:
            if fresh:
                raise
            self.close()  # the kept connection had timed out: nothing was sent on it yet
            smtp = self._connection()
            code, reply = smtp.mail(_address(self.settings.mail_from))
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, self.settings.mail_from)
        code, reply = smtp.rcpt(recipient)
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
        # CRLF line ends: smtplib sends bytes as they are, and a server reads lines by CRLF
        code, reply = smtp.data(message.as_bytes(policy=email.policy.SMTP))
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)
        return f"{code} {reply.decode(errors='replace')}"

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        s = self.settings
        context = ssl.create_default_context(cafile=s.smtp_ca_file or None)
        if s.smtp_security == "tls":
            smtp = smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=s.send_timeout_seconds, context=context
            )
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.send_timeout_seconds)
        try:
            smtp.ehlo()
            if s.smtp_security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password)
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        return smtp

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None


def _by_code(code: int, reply) -> Exception:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    kind = Permanent if 500 <= code < 600 else Transient
    return kind(f"{code} {text}")


def _address(mailbox: str) -> str:
    """`Order desk <orders@example.com>` -> `orders@example.com` (the envelope sender)."""
    return mailbox.rsplit("<", 1)[-1].rstrip(">").strip()


# Vonage's SMS API answers 200 with a status per message: "0" sent, "1" throttled (try later);
# the others are permanent (invalid number, barred, no credit…).
TRY_LATER = {"1"}


class Sms:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.session = requests.Session()

    def __call__(self, delivery: Delivery) -> tuple[str, str | None]:
        try:
            to = e164(delivery.recipient)
        except BadNumber as exc:
            raise Permanent(f"invalid number: {exc}") from None  # kept: no number in it
        s = self.settings
        body = {
            "api_key": s.sms_key,
            "api_secret": s.sms_secret,
            "from": s.sms_from,
            "to": to.lstrip("+"),
            "text": delivery.content["text"],
            "client-ref": delivery.key,  # the same on a repeat after a crash
        }
        try:
            response = self.session.post(s.sms_url, json=body, timeout=s.send_timeout_seconds)
        except requests.RequestException as exc:
            raise Transient(f"{type(exc).__name__}: {exc}") from None
        answer = f"HTTP {response.status_code}: {response.text[:500]}"
        if response.status_code >= 500 or response.status_code == 429:
            raise Transient(answer)
        if response.status_code >= 400:
            raise Permanent(answer)
        try:
            message = response.json()["messages"][0]
            status = str(message["status"])
        except (ValueError, KeyError, IndexError, TypeError):
            raise Transient(f"an answer that is not the provider's: {answer}") from None
        if status == "0":
            return answer, message.get("message-id")
        raise (Transient if status in TRY_LATER else Permanent)(answer)


class Webhook:
    """`POST` a signed event (Standard Webhooks) to a subscription's URL. The target is checked
    again first (its name may point elsewhere now); redirects are not followed. 2xx: delivered;
    408, 409, 425, 429 and 5xx, refused connections and timeouts: try again; anything else:
    refused for good (a dead letter)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.allow = allowed(settings.webhook_allow)
        self.session = requests.Session()

    def __call__(self, delivery: Delivery) -> tuple[str, None]:
        content = delivery.content
        problem = target_problem(content["url"], self.allow)
        if problem:
            raise Permanent(f"not sent: {problem}")
        try:
            response = self.session.post(
                content["url"],
                data=content["body"].encode(),
                headers=content["headers"],
                timeout=self.settings.send_timeout_seconds,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise Transient(f"{type(exc).__name__}: {exc}") from None
        answer = f"HTTP {response.status_code}: {response.text[:500]}"
        check_http(response.status_code, answer)
        return answer, None

    def close(self) -> None:
        self.session.close()
