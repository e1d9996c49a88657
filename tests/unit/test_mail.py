"""Outgoing mail on the embedded default (an .eml outbox), SMTP_URL parsing, branded templates."""

from __future__ import annotations

import re
from email import message_from_bytes
from email.policy import default

import pytest

from pnyx.identity.emails import Brand, render
from pnyx.kernel.config import Config
from pnyx.kernel.mail import Mail, OutboxMailer, SmtpMailer, SmtpSettings, make_mailer
from pnyx.kernel.runtime import Kernel


@pytest.fixture()
def embedded(tmp_path) -> Config:
    return Config.from_env({"PNYX_VAR_DIR": str(tmp_path), "SECRET_KEY": "k"})


def test_without_smtp_url_each_message_is_an_eml_file_in_var_mail(embedded, tmp_path, caplog):
    mailer = Kernel(embedded).mailer
    assert isinstance(mailer, OutboxMailer)
    caplog.set_level("INFO", logger="pnyx.kernel.mail")
    where = mailer.send(
        Mail(
            to="lea@example.org",
            subject="Région Bretagne : réinitialisation",
            text="Bonjour,\nle lien : http://bretagne.localhost:8000/reset/abc\n",
            html="<p>Bonjour, <a href='http://bretagne.localhost:8000/reset/abc'>lien</a></p>",
            sender_name="Région Bretagne",
        )
    )
    [path] = (tmp_path / "mail").glob("*.eml")
    assert str(path) == where and where in caplog.text
    message = message_from_bytes(path.read_bytes(), policy=default)
    sender = message["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ("Région Bretagne", "no-reply@pnyx.localhost")
    assert message["To"] == "lea@example.org"
    assert message["Subject"] == "Région Bretagne : réinitialisation"
    assert message.get_content_type() == "multipart/alternative"
    assert "/reset/abc" in message.get_body(("plain",)).get_content()
    assert "<a href=" in message.get_body(("html",)).get_content()
    assert message["Message-ID"]


def test_the_platform_name_signs_when_no_tenant_is_given(embedded, tmp_path):
    OutboxMailer(tmp_path / "out", embedded.mail_sender).send(
        Mail(to="a@example.org", subject="Hi", text="Hi")
    )
    [path] = (tmp_path / "out").glob("*.eml")
    message = message_from_bytes(path.read_bytes(), policy=default)
    assert message["From"].addresses[0].display_name == "Pnyx"
    assert message.get_content_type() == "text/plain"


def test_header_injection_is_flattened(embedded, tmp_path):
    OutboxMailer(tmp_path, embedded.mail_sender).send(
        Mail(to="a@example.org", subject="Hi\r\nBcc: victim@example.org", text="x")
    )
    [path] = tmp_path.glob("*.eml")
    message = message_from_bytes(path.read_bytes(), policy=default)
    assert message["Bcc"] is None and "Bcc" in message["Subject"]


def test_smtp_url_is_parsed():
    plain = SmtpSettings.parse("smtp://127.0.0.1:2525")
    assert (plain.host, plain.port, plain.implicit_tls, plain.starttls, plain.username) == (
        "127.0.0.1",
        2525,
        False,
        False,
        None,
    )
    tls = SmtpSettings.parse("smtps://user%40x:p%2Fss@mail.example.org")
    assert (tls.port, tls.implicit_tls, tls.username, tls.password) == (465, True, "user@x", "p/ss")
    upgraded = SmtpSettings.parse("smtp://mail.example.org:587?starttls=1")
    assert (upgraded.port, upgraded.starttls) == (587, True)
    with pytest.raises(ValueError):
        SmtpSettings.parse("http://mail.example.org")
    assert isinstance(
        make_mailer(Config.from_env({"SECRET_KEY": "k", "SMTP_URL": "smtp://localhost:25"})),
        SmtpMailer,
    )


def test_templates_are_branded_in_french_and_english():
    brand = Brand("Ville <de> Lyon", "fr", "#c8102e", "#ffffff")
    subject, text, html = render(
        "password_reset", "password_reset", brand, first_name="Léa", url="https://l/reset/t"
    )
    assert subject == "Ville <de> Lyon\u00a0: réinitialisation de votre mot de passe"
    assert text.startswith("Bonjour Léa,") and "https://l/reset/t" in text
    assert "#c8102e" in html and "Ville &lt;de&gt; Lyon" in html and 'lang="fr"' in html
    english = Brand("Acme", "en", "#111111", "#ffffff")
    subject, text, html = render(
        "proposal_decision",
        "proposal_refused",
        english,
        first_name=None,
        proposal="Il faut <script>",
        reason="off topic",
        note=None,
        url=None,
    )
    assert subject == "Acme: your proposal was not published"
    assert text.startswith("Hello,") and "Reason: off topic" in text
    assert "&lt;script&gt;" in html and "<script>" not in html


def test_french_mails_keep_their_no_break_spaces_english_ones_have_none():
    french = Brand("Ville de Lyon", "fr", "#c8102e", "#ffffff")
    decision = dict(first_name="Léa", proposal="Il faut des bancs", reason="hors sujet", url=None)
    subject, text, html = render(
        "proposal_decision", "proposal_accepted", french, note=None, **decision
    )
    # Before ":" and "!", inside « »: a no-break space, never a plain one (nor none).
    assert subject == "Ville de Lyon\u00a0: votre proposition est publiée"
    assert "«\u00a0Il faut des bancs\u00a0»" in text
    assert "soumise au vote\u00a0:" in text and "participation\u00a0!" in text
    assert "Motif\u00a0:" in html and "soumise au vote\u00a0:" in html
    for part in (subject, text, html):
        assert not re.search(r" [:;!?»]|« ", part), part
    subject, text, html = render(
        "password_reset", "password_reset", french, first_name=None, url="https://l/reset/t"
    )
    assert "avec ce lien\u00a0:" in text and "ignorez ce message\u00a0:" in html
    # The values are left as they are: a proposal's own spaces are its author's.
    _, text, _ = render(
        "proposal_decision",
        "proposal_refused",
        french,
        first_name=None,
        proposal="Il faut : des bancs",
        reason=None,
        note=None,
        url=None,
    )
    assert "«\u00a0Il faut : des bancs\u00a0»" in text

    english = Brand("Acme", "en", "#111111", "#ffffff")
    subject, text, html = render(
        "proposal_decision", "proposal_accepted", english, note=None, **decision
    )
    assert subject == "Acme: your proposal is published"
    assert "“Il faut des bancs”" in text and "«" not in text
    assert "\u00a0" not in subject + text + html


def test_a_header_stays_on_one_line_with_its_no_break_spaces(embedded, tmp_path):
    OutboxMailer(tmp_path, embedded.mail_sender).send(
        Mail(to="a@example.org", subject="Lyon\u00a0:\r\n  publiée\u2028Bcc: x", text="x")
    )
    [path] = tmp_path.glob("*.eml")
    message = message_from_bytes(path.read_bytes(), policy=default)
    assert message["Subject"] == "Lyon\u00a0: publiée Bcc: x" and message["Bcc"] is None
