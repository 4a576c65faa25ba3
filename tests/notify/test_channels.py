"""The channels against real servers: e-mail to a local SMTP server (plain, STARTTLS with AUTH,
TLS), SMS to a local provider with Vonage's API; what each failure means for the sender."""

import pytest

from services.notify.channels import Email, Sms, e164
from shared.sender import Delivery, Permanent, Transient
from shared.settings import Settings
from tests.thirdparties import MailServer, SmsProvider, certificate, html_of, text_of

MAIL = {
    "subject": "Zamówienie R-1 przyjęte",
    "text": "Dzień dobry,\n\nTwoje zamówienie R-1 zostało przyjęte.",
    "html": "<p>Dzień dobry, &lt;b&gt;</p>",
    "message_id": "<n1.1.1@example.com>",
}


def mail(recipient="ada@example.com", **content) -> Delivery:
    return Delivery("n1:1", 1, "email", recipient, {**MAIL, **content})


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    return certificate(tmp_path_factory.mktemp("tls"))


def test_an_email_goes_out_as_text_and_html_with_its_message_id(tmp_path):
    with MailServer(tmp_path) as server:
        email = Email(Settings.load(server.settings(MAIL_FROM="Desk <desk@example.com>")))
        answer, reference = email(mail())
        email.close()
        (message,) = server.messages()
    assert answer.startswith("250 ") and "queued as" in answer
    assert reference == message["Message-ID"] == "<n1.1.1@example.com>"
    assert message["Subject"] == MAIL["subject"] and message["To"] == "ada@example.com"
    assert message["From"] == "Desk <desk@example.com>"
    assert message["Auto-Submitted"] == "auto-generated" and "List-Unsubscribe" not in message
    assert message.get_content_type() == "multipart/alternative"
    assert text_of(message).strip() == MAIL["text"] and html_of(message).strip() == MAIL["html"]


def test_an_operators_own_message_is_not_marked_auto_generated(tmp_path):
    with MailServer(tmp_path) as server:
        Email(Settings.load(server.settings()))(mail(automatic=False))
        (message,) = server.messages()
    assert "Auto-Submitted" not in message


def test_starttls_with_auth_and_tls_are_spoken(tmp_path, cert):
    cert_file, key_file = cert
    secure = {"SMTP_CA_FILE": cert_file, "SMTP_USER": "desk", "SMTP_PASSWORD": "s3cret"}
    options = ("--auth", "desk:s3cret")
    with MailServer(tmp_path / "starttls", "--starttls", *cert, *options) as server:
        Email(Settings.load(server.settings(SMTP_SECURITY="starttls", **secure)))(mail())
        assert len(server.messages()) == 1
        plain = Email(Settings.load(server.settings()))  # no STARTTLS: the server refuses
        with pytest.raises(Permanent, match="530"):
            plain(mail())
        wrong = dict(secure, SMTP_PASSWORD="guess")
        with pytest.raises(Permanent, match="535"):
            Email(Settings.load(server.settings(SMTP_SECURITY="starttls", **wrong)))(mail())
    with MailServer(tmp_path / "tls", "--tls", *cert, *options) as server:
        Email(Settings.load(server.settings(SMTP_SECURITY="tls", **secure)))(mail())
        assert len(server.messages()) == 1


def test_an_untrusted_certificate_is_a_failure_to_retry_not_a_send(tmp_path, cert):
    with MailServer(tmp_path, "--starttls", *cert) as server:
        with pytest.raises(Transient, match="CERTIFICATE_VERIFY_FAILED"):
            Email(Settings.load(server.settings(SMTP_SECURITY="starttls")))(mail())
        assert server.messages() == []


def test_smtp_4xx_and_a_dead_server_are_transient_5xx_is_permanent(tmp_path):
    with MailServer(tmp_path) as server:
        email = Email(Settings.load(server.settings()))
        server.script("451 4.3.0 Mailbox busy, try later", "550 5.1.1 No such user")
        with pytest.raises(Transient, match="451 4.3.0"):
            email(mail())
        with pytest.raises(Permanent, match="550 5.1.1"):
            email(mail())
        email(mail())  # the connection is opened again after each failure
        assert len(server.messages()) == 1
        port = server.port
    with pytest.raises(Transient, match="ConnectionRefused"):
        Email(Settings.load({"SMTP_PORT": port}))(mail())


def test_a_kept_connection_the_server_dropped_is_opened_again(tmp_path):
    server = MailServer(tmp_path)
    email = Email(Settings.load(server.settings()))
    email(mail())
    server.close()  # the kept connection dies with it
    with MailServer(tmp_path / "again") as again:
        email.settings = Settings.load(again.settings())
        email(mail())
        assert len(again.messages()) == 1


def sms(recipient="+48 600 100 200", text="Order R-1 accepted. http://x/track/t") -> Delivery:
    return Delivery("n1:1", 2, "sms", recipient, {"text": text})


def test_an_sms_goes_to_the_provider_in_e164_with_the_attempt_as_client_ref(tmp_path):
    with SmsProvider(tmp_path, "--key", "k1") as provider:
        answer, reference = Sms(Settings.load(provider.settings(SMS_KEY="k1")))(sms())
        (message,) = provider.messages()
    assert message["to"] == "48600100200" and message["text"].endswith("/track/t")
    assert message["client-ref"] == "n1:1.2" and message["api_key"] == "k1"
    assert reference == message["message-id"] and answer.startswith("HTTP 200")


@pytest.mark.parametrize(
    "step, kind",
    [
        ("http 503", Transient),
        ("http 429", Transient),
        ("status 1", Transient),  # throttled
        ("http 400", Permanent),
        ("status 3", Permanent),  # invalid message
        ("hang 3", Transient),  # slower than the timeout
    ],
)
def test_what_each_sms_failure_means(tmp_path, step, kind):
    with SmsProvider(tmp_path) as provider:
        provider.script(step)
        channel = Sms(Settings.load(provider.settings(SEND_TIMEOUT_SECONDS=1)))
        with pytest.raises(kind):
            channel(sms())
        assert provider.messages() == []


def test_a_wrong_key_is_permanent_and_a_national_number_is_never_sent(tmp_path):
    with SmsProvider(tmp_path, "--key", "right") as provider:
        channel = Sms(Settings.load(provider.settings(SMS_KEY="wrong")))
        with pytest.raises(Permanent, match="401"):
            channel(sms())
        with pytest.raises(Permanent, match="international format"):
            Sms(Settings.load(provider.settings(SMS_KEY="right")))(sms("600 100 200"))
        assert provider.messages() == []


@pytest.mark.parametrize(
    "number, normalised",
    [("+48 600 100 200", "+48600100200"), ("+44 20 7946 0000", "+442079460000"),
     ("+33 6 12 34 56 78", "+33612345678")],
)  # fmt: skip
def test_numbers_are_normalised_to_e164(number, normalised):
    assert e164(number) == normalised
