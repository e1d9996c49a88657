"""Branded e-mails: the tenant's name and primary colour, in the tenant's language (fr, else en).

Jobs send mail outside any request, so this module renders with a small Jinja environment of its
own rather than Flask's ``render_template``. Each template under ``templates/mail/`` is one
message: its ``subject`` and ``text`` blocks give the subject and the plain-text part, the whole
template (which extends ``layout.html``) the HTML part. The words live in ``STRINGS`` below, one
dict per language, so that a template holds no language. French words are typeset as the pages'
are (see :func:`typeset`): a no-break space before ``: ; ! ?`` and inside « », written as plain
spaces in ``STRINGS`` for legibility.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from pnyx.kernel.db import TenantSession
from pnyx.kernel.mail import Mail, single_line
from tenants.models import Tenant
from themes.service import tokens_for

TEMPLATES = Path(__file__).resolve().parent / "templates"
LOCALES = ("fr", "en")

REFUSAL_REASONS: dict[str, dict[str, str]] = {
    "fr": {
        "incomprehensible": "proposition incompréhensible",
        "off_topic": "hors sujet",
        "partisan": "propos partisan",
        "illegal": "contenu illégal",
        "advertising": "publicité",
        "several_ideas": "plusieurs idées dans une même proposition",
        "invalid_language": "langue non valide",
        "insulting": "propos insultant",
        "test": "proposition de test",
        "other": "autre motif",
    },
    "en": {
        "incomprehensible": "the proposal cannot be understood",
        "off_topic": "off topic",
        "partisan": "partisan",
        "illegal": "illegal content",
        "advertising": "advertising",
        "several_ideas": "several ideas in one proposal",
        "invalid_language": "invalid language",
        "insulting": "insulting",
        "test": "test proposal",
        "other": "other reason",
    },
}

STRINGS: dict[str, dict[str, dict[str, str]]] = {
    "fr": {
        "common": {
            "greeting": "Bonjour {first_name},",
            "greeting_anonymous": "Bonjour,",
            "footer": "Message automatique envoyé par {tenant}. Merci de ne pas y répondre.",
        },
        "password_reset": {
            "subject": "{tenant} : réinitialisation de votre mot de passe",
            "intro": "Vous avez demandé à réinitialiser le mot de passe de votre compte sur "
            "{tenant}. Choisissez-en un nouveau avec ce lien :",
            "button": "Choisir un nouveau mot de passe",
            "fallback": "Si le bouton ne fonctionne pas, copiez ce lien dans votre navigateur :",
            "validity": "Ce lien est valable une heure et ne sert qu'une fois.",
            "ignore": "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : "
            "votre mot de passe ne change pas.",
        },
        "proposal_accepted": {
            "subject": "{tenant} : votre proposition est publiée",
            "quote_open": "« ",
            "quote_close": " »",
            "intro": "Votre proposition a été acceptée par la modération ; elle est maintenant "
            "soumise au vote :",
            "outro": "Merci pour votre participation !",
            "button": "Voir la consultation",
            "reason_label": "Motif :",
        },
        "proposal_refused": {
            "subject": "{tenant} : votre proposition n'a pas été publiée",
            "quote_open": "« ",
            "quote_close": " »",
            "intro": "Votre proposition n'a pas pu être publiée :",
            "outro": "Vous pouvez en écrire une nouvelle, dans le respect de la charte de "
            "modération.",
            "button": "Proposer à nouveau",
            "reason_label": "Motif :",
        },
    },
    "en": {
        "common": {
            "greeting": "Hello {first_name},",
            "greeting_anonymous": "Hello,",
            "footer": "Automatic message sent by {tenant}. Please do not reply.",
        },
        "password_reset": {
            "subject": "{tenant}: reset your password",
            "intro": "You asked to reset the password of your account on {tenant}. "
            "Choose a new one with this link:",
            "button": "Choose a new password",
            "fallback": "If the button does not work, copy this link into your browser:",
            "validity": "This link is valid for one hour and works only once.",
            "ignore": "If you did not ask for this, ignore this message: your password "
            "does not change.",
        },
        "proposal_accepted": {
            "subject": "{tenant}: your proposal is published",
            "quote_open": "“",
            "quote_close": "”",
            "intro": "Your proposal was accepted by the moderators; it is now open for votes:",
            "outro": "Thank you for taking part!",
            "button": "See the consultation",
            "reason_label": "Reason:",
        },
        "proposal_refused": {
            "subject": "{tenant}: your proposal was not published",
            "quote_open": "“",
            "quote_close": "”",
            "intro": "Your proposal could not be published:",
            "outro": "You are welcome to write a new one that follows the moderation charter.",
            "button": "Propose again",
            "reason_label": "Reason:",
        },
    },
}


@dataclass(frozen=True)
class Brand:
    """What a message shows of its tenant."""

    name: str
    locale: str
    primary: str
    primary_text: str


def brand_of(session: TenantSession) -> Brand:
    """The brand of the tenant the session is bound to."""
    tenant = session.get(Tenant, session.tenant_id) if session.tenant_id else None
    if tenant is None:
        raise LookupError("a branded e-mail needs a session bound to one tenant")
    tokens = tokens_for(session)
    locale = tenant.locale if tenant.locale in LOCALES else "fr"
    return Brand(tenant.name, locale, tokens.primary, tokens.primary_text)


def _environment(autoescape: bool) -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(("html",)) if autoescape else False,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


_html = _environment(autoescape=True)
_text = _environment(autoescape=False)


NO_BREAK_SPACE = "\u00a0"
_FRENCH_SPACES = re.compile(r" +(?=[:;!?»])|(?<=«) +")


def typeset(text: str, locale: str) -> str:
    """French typography: the spaces before ``: ; ! ?`` and inside « » become no-break spaces
    (the pages' catalogue writes them so), so that a mail client never breaks the line there.
    Other languages are left as they are."""
    if locale != "fr":
        return text
    return _FRENCH_SPACES.sub(NO_BREAK_SPACE, text)


def strings(kind: str, locale: str, **values: str) -> dict[str, str]:
    """The words of one kind of message in one language, typeset, with the values filled in
    (the values as they are: a tenant's name or a proposal is not ours to respace)."""
    locale = locale if locale in STRINGS else "fr"
    table = STRINGS[locale]
    words = {**table["common"], **table[kind]}
    if not values.get("first_name"):
        words["greeting"] = words["greeting_anonymous"]
    return {key: typeset(text, locale).format(**values) for key, text in words.items()}


def render(template: str, kind: str, brand: Brand, **context: object) -> tuple[str, str, str]:
    """(subject, text, html) of ``mail/<template>.html`` for this brand."""
    words = strings(
        kind,
        brand.locale,
        tenant=brand.name,
        first_name=str(context.pop("first_name", None) or ""),
    )
    variables = {"t": words, "brand": brand, "locale": brand.locale, **context}
    name = f"mail/{template}.html"
    text_template = _text.get_template(name)
    subject = "".join(text_template.blocks["subject"](text_template.new_context(variables)))
    text = "".join(text_template.blocks["text"](text_template.new_context(variables)))
    html = _html.get_template(name).render(variables)
    return single_line(subject), text, html


def compose(
    session: TenantSession,
    template: str,
    *,
    to: str,
    kind: str | None = None,
    brand: Brand | None = None,
    **context: object,
) -> Mail:
    """A message of the session's tenant, in its language and colours, from its name."""
    brand = brand or brand_of(session)
    subject, text, html = render(template, kind or template, brand, **context)
    return Mail(to=to, subject=subject, text=text, html=html, sender_name=brand.name)


def refusal_reason_label(reason: str | None, locale: str) -> str | None:
    if not reason:
        return None
    return REFUSAL_REASONS.get(locale, REFUSAL_REASONS["fr"]).get(reason, reason)
