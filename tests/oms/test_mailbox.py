"""`oms mail` and `oms sms` over what make run's stand-ins keep (no broker needed)."""

from email.message import EmailMessage

from oms import cli


def test_oms_mail_lists_and_shows_and_oms_sms_lists(tmp_path, capsys):
    mail, sms = tmp_path / "mail", tmp_path / "sms"
    mail.mkdir()
    sms.mkdir()
    for n, subject in enumerate(("Order 2026-000001 received", "Order 2026-000001 accepted")):
        message = EmailMessage()
        message["To"], message["Subject"] = "ada@example.com", subject
        message["Date"] = f"Wed, 02 Dec 2026 07:00:0{n} +0000"
        message.set_content(f"{subject}\n\nFollow your order: http://x/track/t{n}\n")
        (mail / f"1764658800.00000{n}-q{n}.eml").write_bytes(bytes(message))
    (sms / "sms.jsonl").write_text(
        '{"to": "48600100200", "text": "Your order is accepted.", "received": 1764658800.0}\n'
    )
    assert cli.main(["mail", "--dir", str(mail)]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[-1] for line in listed] == ["received", "accepted"]
    assert cli.main(["mail", "--dir", str(mail), "--show", "-1"]) == 0
    shown = capsys.readouterr().out
    assert "Subject: Order 2026-000001 accepted" in shown and "http://x/track/t1" in shown
    assert cli.main(["mail", "--dir", str(mail), "--show", "3"]) == 1
    capsys.readouterr()
    assert cli.main(["sms", "--dir", str(sms)]) == 0
    assert "+48600100200" in capsys.readouterr().out
