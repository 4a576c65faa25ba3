"""The message templates and the tracking links, with no infrastructure: languages and their
fallbacks, escaping, templates an operator overrides without code, and links that rotate keys,
refuse tampering and die with a revocation."""

from services.notify.templates import Templates
from services.notify.tracking import TrackingLinks
from shared.settings import Settings

ORDER = "0b6f5d9c-2f43-4a57-9c6a-1b8f2f0b7e11"
DATA = {"reference": "2026-000042", "client": {"name": "Zoë <Ops> & Co"}, "reason": "no stock"}


def test_each_language_is_written_and_html_escapes_what_came_from_outside():
    templates = Templates()
    link = "https://shop.example.com/track/t"
    subjects = {
        lang: templates.render("orders.order_declined", DATA, lang, link).subject
        for lang in ("en", "pl", "fr")
    }
    assert subjects == {
        "en": "Order 2026-000042 declined",
        "pl": "Zamówienie 2026-000042 odrzucone",
        "fr": "Commande 2026-000042 refusée",
    }
    rendered = templates.render("orders.order_declined", DATA, "en", link)
    assert rendered.text.startswith("Hello Zoë <Ops> & Co,")  # text is text
    assert "Zoë &lt;Ops&gt; &amp; Co" in rendered.html and "<Ops>" not in rendered.html
    assert f'href="{link}"' in rendered.html and rendered.sms.endswith(link)


def test_an_unknown_language_falls_back_to_the_default_then_english():
    templates = Templates(default_language="fr")
    assert templates.render("orders.order_declined", DATA, "de", None).language == "fr"
    missing_in_french = templates.render("billing.credit_note_issued", DATA, "fr", None)
    assert missing_in_french.sms  # fr writes no SMS for it: the subject stands in


def test_an_operator_changes_wording_in_a_directory_of_their_own(tmp_path):
    (tmp_path / "en.toml").write_text(
        '["orders.order_declined"]\nsubject = "Sorry: {{ reference }} cannot be made"\n'
    )
    templates = Templates(directory=str(tmp_path))
    rendered = templates.render("orders.order_declined", DATA, "en", None)
    assert rendered.subject == "Sorry: 2026-000042 cannot be made"
    assert "no stock" in rendered.text  # the parts not overridden stay as built in


def test_notes_are_sent_only_when_meant_for_the_client():
    templates = Templates()
    assert templates.render("orders.note_added", {**DATA, "kind": "internal"}, "en", None) is None
    assert templates.render(
        "orders.note_added", {**DATA, "kind": "client", "text": "Hi"}, "en", None
    )


def links(keys: str) -> TrackingLinks:
    return TrackingLinks(Settings.load({"TRACKING_KEYS": keys, "PUBLIC_URL": "https://x.example"}))


def test_a_link_names_its_order_and_generation_and_nothing_else_opens_it():
    signer = links("k1:" + "a" * 32)
    token = signer.token(ORDER, 1)
    assert signer.url(ORDER, 1) == f"https://x.example/track/{token}"
    assert signer.read(token) == (ORDER, 1)
    kid, order, generation, mac = token.split(".")
    assert signer.read(f"{kid}.{order}.2.{mac}") is None  # another generation
    assert signer.read(f"{kid}.{order}.{generation}.{mac[:-1]}A") is None  # tampered
    assert signer.read("k9." + ".".join(token.split(".")[1:])) is None  # unknown key
    assert signer.read("nonsense") is None and signer.read(None) is None


def test_keys_rotate_old_links_keep_working_until_their_key_is_retired():
    old = links("k1:" + "a" * 32).token(ORDER, 1)
    rotated = links("k2:" + "b" * 32 + ",k1:" + "a" * 32)
    assert rotated.read(old) == (ORDER, 1)  # still listed: still verifies
    assert rotated.token(ORDER, 1).startswith("k2.")  # new links use the new key
    assert links("k2:" + "b" * 32).read(old) is None  # retired: refused
