"""Citizen and admin pages: each bad input shows its message beside the field and keeps what
was typed; votes, proposals and moderation through the forms; two tenants stay apart."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from sqlalchemy import select

from tests import factories
from tests.conftest import PASSWORD

SLUG = "vivre-ici"


def make_consultation(database, tenant_id, *, slug=SLUG, visibility="public", closed=False):
    """A consultation with a theme, two accepted proposals, one pending and one refused."""
    from pnyx.consultations import proposals
    from pnyx.consultations import service as consultations
    from pnyx.identity.models import Account
    from pnyx.identity.participants import participant_of_account

    now = datetime.now(UTC)
    start = now - timedelta(days=10)
    with database.scope(tenant_id=tenant_id) as s:
        c = consultations.create_consultation(
            s,
            {
                "slug": slug,
                "question": "Comment améliorer la vie ici ?",
                "starts_at": start,
                "ends_at": now + timedelta(days=30),
                "visibility": visibility,
                "goal_participants": 1000,
                "goal_proposals": 100,
                "goal_votes": 10000,
                "steps": [{"kind": "results", "title": "Résultats", "date": "2027-03-01"}],
            },
        )
        tag = consultations.add_tag(s, c.id, "mobilite", "Mobilité")
        account = s.scalar(select(Account).where(Account.email.like("citizen@%")))
        author = participant_of_account(s, account)
        # A second author: a sequence shows at most one proposal per author.
        other = participant_of_account(
            s, s.scalar(select(Account).where(Account.email.like("admin@%")))
        )
        ids = {}
        texts = {
            "a1": "Il faut plus de trains le soir",
            "a2": "Il faut des pistes cyclables sûres",
            "pending": "Il faut des bancs dans les parcs",
            "refused": "Il faut voter pour mon parti",
        }
        for i, (name, text) in enumerate(texts.items()):
            by_whom = other if name == "a2" else author
            p = proposals.submit(s, c, by_whom, text, start + timedelta(hours=i))
            ids[name] = p.id
        by = "moderator@test"
        proposals.decide(s, ids["a1"], "accept", by=by, now=now, tag_ids=[tag.id])
        proposals.decide(s, ids["a2"], "accept", by=by, now=now)
        proposals.decide(s, ids["refused"], "refuse", by=by, now=now, reason="partisan")
        if closed:  # ended, and the day its steps announce the results for has come
            c.ends_at = now - timedelta(days=1)
            c.steps = [
                {"kind": "results", "title": "Résultats", "date": c.ends_at.date().isoformat()}
            ]
        ids["consultation"], ids["tag"] = c.id, tag.id
    return ids


def csrf(client, path="/inscription") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def page_login(client, email, password=PASSWORD):
    response = client.post_form("/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def field_error(page: str, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', page, re.S)
    assert found, f"no error beside {field}"
    return found.group(1).strip()


@pytest.fixture()
def alpha(world, database):
    return make_consultation(database, world.alpha_id)


# -- proposing -------------------------------------------------------------------------------

BAD_PROPOSALS = [
    ("", "Écrivez votre proposition."),
    ("Il faut abc", "Au moins 12 caractères."),  # 11 characters
    ("Il faut " + "x" * 133, "Au plus 140 caractères."),  # 141 characters
    ("Des trains le soir, vite", "Commencez par «\u00a0Il faut\u00a0»."),  # as the hint says
    ("Il faut <b>des</b> trains", "Texte simple seulement\u00a0: pas de HTML."),
]


@pytest.mark.parametrize(("text", "message"), BAD_PROPOSALS)
def test_bad_proposals_show_the_message_beside_the_field_and_keep_the_text(
    world, alpha, text, message
):
    client = page_login(world.client("alpha"), "citizen@alpha.test")
    token = csrf(client, f"/c/{SLUG}/proposer")
    response = client.post(f"/c/{SLUG}/proposer", data={"csrf_token": token, "content": text})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert field_error(page, "content") == message
    assert 'aria-describedby="content-hint content-counter content-error"' in page
    kept = text.replace("<", "&lt;").replace(">", "&gt;")
    assert f">{kept}</textarea>" in page


def test_a_proposal_is_pending_for_its_author_then_accepted_by_the_admin(world, alpha):
    citizen = page_login(world.client("alpha"), "citizen@alpha.test")
    token = csrf(citizen, f"/c/{SLUG}/proposer")
    text = "Il faut des navettes vers la gare le dimanche"
    sent = citizen.post(f"/c/{SLUG}/proposer", data={"csrf_token": token, "content": text})
    assert sent.status_code == 303
    mine = citizen.get(sent.headers["Location"]).get_data(as_text=True)
    assert text in mine and "en attente" in mine

    admin = page_login(world.client("alpha"), "admin@alpha.test")
    queue = admin.get(f"/admin/consultations/{alpha['consultation']}/moderation")
    assert queue.status_code == 200 and text in queue.get_data(as_text=True)
    proposal_id = int(
        re.search(
            rf'id="proposal-(\d+)">\s*<h2 class="proposal-text" lang="fr">{text}',
            queue.get_data(as_text=True),
        ).group(1)
    )
    action = f"/admin/consultations/{alpha['consultation']}/proposals/{proposal_id}/decision"
    token = csrf(admin, f"/admin/consultations/{alpha['consultation']}/moderation")
    # A refusal without a reason says so beside the reason, and nothing changes.
    refused = admin.post(action, data={"csrf_token": token, "decision": "refuse"})
    assert refused.status_code == 422
    assert field_error(refused.get_data(as_text=True), f"p{proposal_id}-reason")
    accepted = admin.post(
        action,
        data={"csrf_token": token, "decision": "accept", "tag_ids": [str(alpha["tag"])]},
    )
    assert accepted.status_code == 303
    # Published, with its theme, and votable.
    found = citizen.get(f"/c/{SLUG}/explorer?tag=mobilite").get_data(as_text=True)
    assert text in found
    assert "acceptée" in citizen.get(f"/c/{SLUG}/proposer").get_data(as_text=True)
    # Deciding twice is a message, not a crash.
    again = admin.post(action, data={"csrf_token": token, "decision": "accept"})
    assert again.status_code == 409 and "déjà" in again.get_data(as_text=True)


def test_refusal_with_a_reason_is_shown_to_the_author(world, alpha):
    citizen = page_login(world.client("alpha"), "citizen@alpha.test")
    admin = page_login(world.client("alpha"), "admin@alpha.test")
    token = csrf(admin, "/admin/")
    action = f"/admin/consultations/{alpha['consultation']}/proposals/{alpha['pending']}/decision"
    response = admin.post(
        action,
        data={
            "csrf_token": token,
            "decision": "refuse",
            "reason": "off_topic",
            "note": "Déjà traité par le réseau de bus.",
        },
    )
    assert response.status_code == 303
    mine = html.unescape(citizen.get(f"/c/{SLUG}/proposer").get_data(as_text=True))
    assert "refusée" in mine and "(Hors sujet)" in mine
    assert "Note de la modération\u00a0: Déjà traité par le réseau de bus." in mine
    own = citizen.get(f"/c/{SLUG}/p/{alpha['pending']}").get_data(as_text=True)
    assert "Refusée par la modération\u00a0: Hors sujet." in html.unescape(own)
    assert "Déjà traité par le réseau de bus." in html.unescape(own)


def test_a_refusal_without_a_reason_says_so_once_and_keeps_the_note(world, alpha, database):
    from pnyx.consultations.models import Proposal

    admin = page_login(world.client("alpha"), "admin@alpha.test")
    path = f"/admin/consultations/{alpha['consultation']}/moderation"
    token = csrf(admin, path)
    note = "Merci de préciser « où » et <quand>"
    refused = admin.post(
        f"/admin/consultations/{alpha['consultation']}/proposals/{alpha['pending']}/decision",
        data={"csrf_token": token, "decision": "refuse", "reason": "", "note": note},
    )
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    pid = f"p{alpha['pending']}"
    assert field_error(page, f"{pid}-reason") == "Donnez un motif de refus."
    assert page.count("Donnez un motif de refus.") == 1
    assert f'id="{pid}-message"' not in page and 'role="alert"' not in page
    assert f'aria-describedby="{pid}-reason-error" aria-invalid="true"' in page
    assert html.unescape(re.search(rf'id="{pid}-note"[^>]*value="([^"]*)"', page)[1]) == note
    with database.session(tenant_id=world.alpha_id) as s:
        assert s.get(Proposal, alpha["pending"]).status == "pending"
    # A problem without a field of its own is still said, above the proposal's forms.
    forged = admin.post(
        f"/admin/consultations/{alpha['consultation']}/proposals/{alpha['pending']}/decision",
        data={"csrf_token": token, "decision": "publish"},
    )
    assert forged.status_code == 422
    assert f'id="{pid}-message"' in forged.get_data(as_text=True)


def test_anonymous_proposal_asks_to_sign_up_and_keeps_the_text_through_sign_up(world, alpha):
    client = world.client("alpha")
    token = csrf(client, f"/c/{SLUG}/proposer")
    text = "Il faut des trains jusqu'à minuit"
    response = client.post(f"/c/{SLUG}/proposer", data={"csrf_token": token, "content": text})
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert 'name="then" value="signup"' in page
    assert f">{text.replace(chr(39), '&#39;')}</textarea>" in page
    signed = client.post(
        "/inscription",
        data={
            "csrf_token": token,
            "next": f"/c/{SLUG}/proposer",
            "email": "new@alpha.test",
            "password": "long-enough-password",
            "first_name": "Anne",
            "birth_year": "1990",
            "postal_code": "35000",
        },
    )
    assert signed.status_code == 303 and signed.headers["Location"].endswith("/proposer")
    form = client.get(f"/c/{SLUG}/proposer").get_data(as_text=True)
    assert f">{text.replace(chr(39), '&#39;')}</textarea>" in form


def test_the_sign_up_button_beside_a_draft_takes_it_along(world, alpha):
    """The propose form's "Sign up" is a button of the form: what was typed goes with it."""
    client = world.client("alpha")
    token = csrf(client, f"/c/{SLUG}/proposer")
    text = "Il faut un marché le dimanche"
    going = client.post(
        f"/c/{SLUG}/proposer", data={"csrf_token": token, "content": text, "then": "signup"}
    )
    assert going.status_code == 303
    assert going.headers["Location"] == f"/inscription?next=/c/{SLUG}/proposer"
    to_login = client.post(
        f"/c/{SLUG}/proposer", data={"csrf_token": token, "content": text, "then": "login"}
    )
    assert to_login.headers["Location"].startswith("/login?next=")
    page_login(client, "citizen@alpha.test")
    assert f">{text}</textarea>" in client.get(f"/c/{SLUG}/proposer").get_data(as_text=True)


# -- voting ----------------------------------------------------------------------------------


def vote(
    client,
    proposal_id,
    key,
    qualifications=(),
    stage="vote",
    place="participer",
    headers=None,
    **extra,
):
    token = csrf(client)
    data = {"csrf_token": token, "key": key, "stage": stage, "place": place, **extra}
    data["qualifications"] = list(qualifications)
    return client.post(f"/c/{SLUG}/p/{proposal_id}/vote", data=data, headers=headers or {})


def step(client, action, headers=None, slug=SLUG, **fields):
    """One of the sequence's extra cards' buttons (start, segment, skip_segment, ...)."""
    data = {"csrf_token": csrf(client), "action": action, **fields}
    return client.post(f"/c/{slug}/participer", data=data, headers=headers or {})


def card_key_of(page: str) -> str:
    return re.search(r'name="card_key" value="([^"]+)"', page).group(1)


def test_the_cards_vote_then_qualify_then_next_with_a_trusted_key(world, alpha, database):
    from pnyx.consultations.models import Vote

    client = world.client("alpha")
    intro = client.get(f"/c/{SLUG}/participer").get_data(as_text=True)
    assert "Comment ça marche" in intro and "Carte 1" not in intro
    assert step(client, "start").status_code == 303
    first = client.get(f"/c/{SLUG}/participer").get_data(as_text=True)
    assert "Carte 1 sur 2" in first and "Il faut plus de trains le soir" in first
    card_key = re.search(r'name="card_key" value="([^"]+)"', first).group(1)
    voted = vote(client, alpha["a1"], "agree", card_key=card_key)
    # Without JavaScript: post/redirect/get (the address bar never keeps the POST's address).
    assert voted.status_code == 303 and voted.headers["Location"] == f"/c/{SLUG}/participer"
    page = client.get(voted.headers["Location"]).get_data(as_text=True)
    assert "Coup de cœur" in page and "Réaliste" in page and "Surtout pas" not in page
    assert "Carte 1 sur 2" in page and f'value="{card_key}"' in page
    with_htmx = vote(
        client, alpha["a1"], "agree", card_key=card_key, headers={"HX-Request": "true"}
    )
    assert with_htmx.status_code == 200 and "Coup de cœur" in with_htmx.get_data(as_text=True)
    done = vote(
        client, alpha["a1"], "agree", ["likeIt", "doable"], stage="qualify", card_key=card_key
    )
    assert done.status_code == 303
    second = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Carte 2 sur 2" in second and "Il faut des pistes cyclables sûres" in second
    with database.session(tenant_id=world.alpha_id) as s:
        row = s.scalar(select(Vote).where(Vote.proposal_id == alpha["a1"]))
        assert row.key == "agree" and row.trusted is True and row.qualifications


def test_a_sequence_asks_the_segment_invites_to_propose_and_ends(world, alpha, database):
    from pnyx.consultations import votes
    from pnyx.identity.models import Participant

    client = world.client("alpha")
    client.get(f"/c/{SLUG}/participer")
    step(client, "start")
    for proposal in ("a1", "a2"):
        page = client.get(f"/c/{SLUG}/participer").get_data(as_text=True)
        key = card_key_of(page)
        assert (
            vote(client, alpha[proposal], "agree", stage="qualify", card_key=key).status_code == 303
        )

    # The sequence is over: what is unknown of the voter's segment is asked once.
    asked = client.get(f"/c/{SLUG}/participer").get_data(as_text=True)
    assert "Une question sur vous" in asked
    assert 'name="birth_year"' in asked and 'name="postal_code"' in asked
    assert "35000" not in postal_code_hint(asked)  # no one city's code as the example
    empty = step(client, "segment", birth_year=" ", postal_code="")
    assert empty.status_code == 422
    assert empty.get_data(as_text=True).count("votre code postal ou les deux") == 1  # said once
    wrong = step(client, "segment", birth_year="1990", postal_code="350")
    assert wrong.status_code == 422
    page = wrong.get_data(as_text=True)
    assert "5 chiffres" in field_error(page, "postal_code")
    assert 'value="1990"' in page and 'value="350"' in page
    with database.session(tenant_id=world.alpha_id) as s:
        assert s.scalar(select(Participant.birth_year).order_by(Participant.id.desc())) is None
    assert step(client, "segment", birth_year="1990", postal_code="35000").status_code == 303
    with database.session(tenant_id=world.alpha_id) as s:
        urban = votes.counters(s, [alpha["a1"], alpha["a2"]], "territory:urban")
        assert [row.counts(trusted=True)["agree"] for row in urban.values()] == [1, 1]

    invited = client.get(f"/c/{SLUG}/participer").get_data(as_text=True)
    assert "Vous avez une idée" in invited
    assert '«\u00a0<span lang="fr">Il faut</span>\u00a0»' in invited  # as the propose page
    assert step(client, "skip_invite").status_code == 303
    end = client.get(f"/c/{SLUG}/participer").get_data(as_text=True)
    assert "Merci" in end and "Propositions votées dans cette série\u00a0: 2" in end
    assert f"http://alpha.pnyx.test/c/{SLUG}" in end and "Une question sur vous" not in end
    step(client, "continue")
    after = client.get(f"/c/{SLUG}/participer").get_data(as_text=True)
    assert "Vous avez voté sur toutes les propositions" in after


def test_the_invitation_leads_to_the_propose_page_and_skipping_the_segment_is_final(world, alpha):
    client = world.client("alpha")
    step(client, "start")
    page = client.get(f"/c/{SLUG}/participer").get_data(as_text=True)
    vote(client, alpha["a1"], "neutral", stage="qualify", card_key=card_key_of(page))
    page = client.get(f"/c/{SLUG}/participer").get_data(as_text=True)
    vote(client, alpha["a2"], "neutral", stage="qualify", card_key=card_key_of(page))
    skipped = step(client, "skip_segment", headers={"HX-Request": "true"})
    body = skipped.get_data(as_text=True)
    assert skipped.status_code == 200 and body.lstrip().startswith('<div id="card"')
    assert "Vous avez une idée" in body
    gone = step(client, "propose")
    assert gone.status_code == 303 and gone.headers["Location"].endswith(f"/c/{SLUG}/proposer")
    end = client.get(f"/c/{SLUG}/participer").get_data(as_text=True)
    assert "Merci" in end and "Une question sur vous" not in end
    assert step(client, "dance").status_code == 422


def test_starting_a_consultation_with_nothing_to_vote_on_says_so_instead_of_looping(
    world, database
):
    """The walk: "Start" on a consultation without accepted proposals showed the introduction
    again, for ever."""
    factories.consultation(database, world.alpha_id, slug="vide")
    client = world.client("alpha")
    assert "Comment ça marche" in client.get("/c/vide/participer").get_data(as_text=True)
    started = step(client, "start", slug="vide")
    assert started.status_code == 303
    page = client.get("/c/vide/participer").get_data(as_text=True)
    assert "Comment ça marche" not in page
    assert "Aucune proposition à voter pour l’instant" in page
    assert 'href="/c/vide/proposer"' in page
    htmx = step(client, "start", slug="vide", headers={"HX-Request": "true"})
    assert "Aucune proposition à voter" in htmx.get_data(as_text=True)


def test_the_segment_card_is_rate_limited_and_says_so_beside_the_form(world, alpha, monkeypatch):
    from pnyx.moderation.integrity import RateLimit
    from tests.integration.test_integrity import PUBLIC_IP, use_limits

    use_limits(monkeypatch, RateLimit("profile_ip", "profile", "ip", 1, 60))
    client = world.client("alpha")
    fields = {"birth_year": "1990", "postal_code": "3500"}
    first = client.post(
        f"/c/{SLUG}/participer",
        data={"csrf_token": csrf(client), "action": "segment", **fields},
        environ_base=PUBLIC_IP,
    )
    assert first.status_code == 422  # counted, then refused for its postal code
    second = client.post(
        f"/c/{SLUG}/participer",
        data={"csrf_token": csrf(client), "action": "segment", **fields},
        environ_base=PUBLIC_IP,
    )
    page = second.get_data(as_text=True)
    assert second.status_code == 429 and 'role="alert"' in page and 'value="3500"' in page


def test_a_visit_to_the_cards_creates_no_participant(world, alpha, database):
    from sqlalchemy import func

    from pnyx.identity.models import Participant

    def participants():
        with database.session(tenant_id=world.alpha_id) as s:
            return s.scalar(select(func.count()).select_from(Participant))

    before = participants()
    for _ in range(3):
        assert "Comment ça marche" in world.client("alpha").get(f"/c/{SLUG}/participer").get_data(
            as_text=True
        )
    assert participants() == before


def test_a_signed_up_voter_is_not_asked_their_segment(world, alpha):
    client = world.client("alpha")
    signed = client.post(
        "/inscription",
        data={
            "csrf_token": csrf(client),
            "email": "placed@alpha.test",
            "password": "long-enough-password",
            "first_name": "Lou",
            "birth_year": "1980",
            "postal_code": "56000",
        },
    )
    assert signed.status_code == 303
    step(client, "start")
    for _ in range(2):
        page = client.get(f"/c/{SLUG}/participer").get_data(as_text=True)
        match = re.search(r"/p/(\d+)/vote", page)
        vote(client, int(match.group(1)), "agree", stage="qualify", card_key=card_key_of(page))
    assert "Vous avez une idée" in client.get(f"/c/{SLUG}/participer").get_data(as_text=True)


def test_htmx_vote_answers_the_card_alone(world, alpha):
    client = world.client("alpha")
    response = vote(client, alpha["a1"], "disagree", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.lstrip().startswith('<div id="card"')
    assert "Surtout pas" in body


def test_unknown_vote_key_and_foreign_qualification_are_explained(world, alpha):
    client = world.client("alpha")
    bad_key = vote(client, alpha["a1"], "maybe")
    assert bad_key.status_code == 422
    assert field_error(bad_key.get_data(as_text=True), "key")
    foreign = vote(client, alpha["a1"], "agree", ["noWay"], stage="qualify")
    assert foreign.status_code == 422
    page = foreign.get_data(as_text=True)
    assert "Pas une qualification" in field_error(page, "qualifications")
    assert 'aria-describedby="qualifications-error"' in page


def test_voting_twice_is_idempotent(world, alpha, database):
    from pnyx.consultations import votes

    client = world.client("alpha")
    for _ in range(2):
        assert vote(client, alpha["a1"], "agree", ["likeIt"], stage="qualify").status_code == 303
    with database.session(tenant_id=world.alpha_id) as s:
        counts = votes.counters(s, [alpha["a1"]])[alpha["a1"]].counts(trusted=False)
    assert counts["agree"] == 1 and counts["likeIt"] == 1
    page = client.get(f"/c/{SLUG}/p/{alpha['a1']}").get_data(as_text=True)
    assert "Votre vote" in page


def test_votes_on_pending_refused_and_closed_items_show_the_message(world, alpha, database):
    author = page_login(world.client("alpha"), "citizen@alpha.test")
    pending = vote(author, alpha["pending"], "agree", place="proposal")
    assert pending.status_code == 409 and "en attente" in pending.get_data(as_text=True)
    refused = vote(author, alpha["refused"], "agree", place="proposal")
    assert refused.status_code == 409 and "refusée" in refused.get_data(as_text=True)
    # Others do not see them at all.
    stranger = world.client("alpha")
    assert stranger.get(f"/c/{SLUG}/p/{alpha['pending']}").status_code == 404
    assert vote(stranger, alpha["pending"], "agree").status_code == 404
    closed = make_consultation(database, world.alpha_id, slug="fermee", closed=True)
    token = csrf(stranger)
    response = stranger.post(
        f"/c/fermee/p/{closed['a1']}/vote",
        data={"csrf_token": token, "key": "agree", "stage": "vote"},
    )
    assert response.status_code == 409
    assert "pas ouverte aux votes" in response.get_data(as_text=True)


def test_a_finished_consultation_takes_no_proposal_and_keeps_what_was_typed(world, database):
    make_consultation(database, world.alpha_id, slug="fermee", closed=True)
    citizen = page_login(world.client("alpha"), "citizen@alpha.test")
    page = citizen.get("/c/fermee/proposer").get_data(as_text=True)
    assert "ne prend plus de propositions" in page and 'href="/c/fermee/resultats"' in page
    assert "<textarea" not in page and "Envoyer ma proposition" not in page
    # Sent from a page loaded while it was open: refused once, the text shown to be kept.
    text = "Il faut des navettes entre les villages le dimanche"
    sent = citizen.post_form("/c/fermee/proposer", {"content": text})
    answer = sent.get_data(as_text=True)
    assert sent.status_code == 409
    assert answer.count("ne prend plus de propositions") == 1 and "pas ouverte" not in answer
    assert text in answer


def test_another_tenants_consultation_and_proposal_are_404(world, alpha, database):
    beta = make_consultation(database, world.beta_id, slug="chez-beta")
    alpha_client = world.client("alpha")
    assert alpha_client.get("/c/chez-beta").status_code == 404
    assert alpha_client.get(f"/c/{SLUG}/p/{beta['a1']}").status_code == 404
    assert vote(alpha_client, beta["a1"], "agree").status_code == 404
    assert world.client("beta").get(f"/c/{SLUG}").status_code == 404
    admin = page_login(world.client("alpha"), "admin@alpha.test")
    assert admin.get(f"/admin/consultations/{beta['consultation']}").status_code == 404
    token = csrf(admin, "/admin/")
    decision = admin.post(
        f"/admin/consultations/{alpha['consultation']}/proposals/{beta['pending']}/decision",
        data={"csrf_token": token, "decision": "accept"},
    )
    assert decision.status_code == 404


def test_restricted_consultations_ask_anonymous_visitors_to_log_in(world, database):
    ids = make_consultation(database, world.beta_id, slug="interne", visibility="restricted")
    anonymous = world.client("beta")
    for path in ("/c/interne", "/c/interne/participer?x=1"):
        response = anonymous.get(path)
        assert response.status_code == 303
        assert response.headers["Location"].startswith("/login?")
        assert "members=1" in response.headers["Location"]
        assert "Comment" not in response.get_data(as_text=True)  # nor its question
    login = anonymous.get(anonymous.get("/c/interne").headers["Location"] + "&lang=fr")
    page = login.get_data(as_text=True)
    assert "réservée aux membres" in page and 'name="next" value="/c/interne"' in page
    home = anonymous.get("/?lang=fr").get_data(as_text=True)
    assert "interne" not in home and "Comment" not in home
    assert "1 consultation est réservée aux membres" in home and 'href="/login"' in home
    assert "Aucune consultation n" not in home
    problem = anonymous.get(f"/api/v1/consultations/{ids['consultation']}")  # API: none such
    assert problem.status_code == 404
    member = page_login(world.client("beta"), "citizen@beta.test")
    assert "/c/interne" in member.get("/").get_data(as_text=True)  # listed for members
    assert member.get("/c/interne").status_code == 200
    assert world.client("alpha").get("/c/interne").status_code == 404  # another tenant's


# -- account pages ---------------------------------------------------------------------------


def test_sign_up_with_a_malformed_postal_code_keeps_what_was_typed(world):
    client = world.client("alpha")
    token = csrf(client)
    response = client.post(
        "/inscription",
        data={
            "csrf_token": token,
            "email": "anne@alpha.test",
            "password": "secret-password-1",
            "first_name": "Anne",
            "birth_year": "1990",
            "postal_code": "350",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert field_error(page, "postal_code") == "Un code postal français a 5 chiffres."
    assert 'aria-describedby="postal_code-hint postal_code-error"' in page
    assert 'value="anne@alpha.test"' in page and 'value="350"' in page and 'value="Anne"' in page
    assert "secret-password-1" not in page


def postal_code_hint(page: str) -> str:
    found = re.search(r'<p class="hint" id="postal_code-hint">(.*?)</p>', page, re.S)
    assert found, "no hint beside the postal code"
    return found.group(1).strip()


def test_the_postal_code_hint_names_no_citys_code_on_any_tenant(world):
    for slug in ("alpha", "beta"):
        client = world.client(slug)
        citizen = page_login(world.client(slug), f"citizen@{slug}.test")
        for who, path in ((client, "/inscription"), (citizen, "/profil")):
            hint = postal_code_hint(who.get(path).get_data(as_text=True))
            assert "35000" not in hint and not re.search(r"\d{5}", hint), (slug, path, hint)
            english = postal_code_hint(who.get(f"{path}?lang=en").get_data(as_text=True))
            assert english == "5 digits.", (slug, path)


def test_profile_shows_the_territory_type(world):
    client = page_login(world.client("alpha"), "citizen@alpha.test")
    token = csrf(client, "/profil")
    bad = client.post("/profil", data={"csrf_token": token, "postal_code": "abcde"})
    assert bad.status_code == 422 and 'value="abcde"' in bad.get_data(as_text=True)
    ok = client.post(
        "/profil", data={"csrf_token": token, "birth_year": "1980", "postal_code": "75011"}
    )
    assert ok.status_code == 200
    assert "Grande ville" in ok.get_data(as_text=True)


def test_forms_without_the_csrf_token_are_refused(world, alpha):
    client = world.client("alpha")
    response = client.post("/inscription", data={"email": "x@alpha.test"})
    assert response.status_code == 400 and "csrf_failed" in response.get_data(as_text=True)


# -- admin -----------------------------------------------------------------------------------


def test_admin_is_for_tenant_admins_of_tenant_hosts(world):
    assert world.client("alpha").get("/admin/").status_code == 302
    citizen = page_login(world.client("alpha"), "citizen@alpha.test")
    assert citizen.get("/admin/").status_code == 403
    assert world.client().get("/admin/").status_code == 404


def test_admin_creates_and_edits_a_consultation_with_messages_beside_fields(world):
    admin = page_login(world.client("alpha"), "admin@alpha.test")
    token = csrf(admin, "/admin/consultations/new")
    form = {
        "csrf_token": token,
        "question": "Comment mieux vivre ensemble ?",
        "slug": "Pas Un Slug!",
        "proposal_prefix": "Il faut",
        "starts_at": "2026-01-01T09:00",
        "ends_at": "pas une date",
        "visibility": "public",
        "goal_votes": "beaucoup",
        "step_results_date": "2027-02-01",
        "step_results_title": "Résultats",
    }
    bad = admin.post("/admin/consultations/new", data=form)
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    for field in ("slug", "ends_at", "goal_votes"):
        assert field_error(page, field)
    assert 'value="Pas Un Slug!"' in page and 'value="beaucoup"' in page
    assert "la page sera /c/&lt;slug&gt;." in page  # shown, not taken for a tag
    form.update(slug="mieux-vivre", ends_at="2030-01-01T18:00", goal_votes="5000")
    created = admin.post("/admin/consultations/new", data=form)
    assert created.status_code == 303
    edit_url = created.headers["Location"]
    page = admin.get(edit_url).get_data(as_text=True)
    assert 'value="mieux-vivre"' in page and 'value="5000"' in page
    consultation_id = int(re.search(r"/consultations/(\d+)", edit_url).group(1))
    tag = admin.post(
        f"/admin/consultations/{consultation_id}/tags",
        data={"csrf_token": token, "tag_label": "Santé", "tag_slug": "sante"},
    )
    assert tag.status_code == 303
    dup = admin.post(
        f"/admin/consultations/{consultation_id}/tags",
        data={"csrf_token": token, "tag_label": "Santé", "tag_slug": "sante"},
    )
    assert dup.status_code == 409 and field_error(dup.get_data(as_text=True), "tag_slug")
    home = world.client("alpha").get("/c/mieux-vivre").get_data(as_text=True)
    assert "Comment mieux vivre ensemble ?" in home and "Santé" in home


def test_consultation_home_shows_progress_steps_and_tags(world, alpha):
    page = world.client("alpha").get(f"/c/{SLUG}").get_data(as_text=True)
    assert "Comment améliorer la vie ici ?" in page
    assert "<progress" in page and 'aria-labelledby="goal-votes"' in page
    assert "Résultats" in page and "Mobilité" in page
    assert 'id="partners"' not in page  # no partner yet: no empty block (test_partners.py)
    home = world.client("alpha").get("/")
    assert home.status_code == 200 and f'href="/c/{SLUG}"' in home.get_data(as_text=True)


def test_the_steps_read_as_french_writes_them(world, alpha):
    page = world.client("alpha").get(f"/c/{SLUG}").get_data(as_text=True)
    step = re.search(r'<li class="step step-results">(.*?)</li>', page, re.S)[1]
    # The label's colon after a no-break space; the first of the month an ordinal.
    assert '<strong>Résultats</strong>\u00a0: <span lang="fr">Résultats</span>' in step
    assert "1er mars 2027" in step and "mardi" not in step
    english = world.client("alpha").get(f"/c/{SLUG}?lang=en").get_data(as_text=True)
    step = re.search(r'<li class="step step-results">(.*?)</li>', english, re.S)[1]
    assert '<strong>Results</strong>: <span lang="fr">Résultats</span>' in step
    assert "March 1, 2027" in step


def test_local_date_writes_the_first_of_the_month_as_an_ordinal_in_french(app):
    from datetime import date

    from flask_babel import force_locale

    from pnyx.web.forms import local_date

    first, second = date(2026, 12, 1), date(2026, 12, 2)
    with app.test_request_context("/"):
        with force_locale("fr"):
            assert local_date(first) == "1er décembre 2026"
            assert local_date(first, "full") == "mardi 1er décembre 2026"
            assert local_date(first, "medium") == "1er déc. 2026"
            assert local_date(first, "short") == "01/12/2026"  # figures only: no ordinal
            assert local_date(second) == "2 décembre 2026"
            assert local_date("2027-01-01") == "1er janvier 2027"
        with force_locale("en"):
            assert local_date(first) == "December 1, 2026"


def test_english_pages_mark_the_french_content_as_french(world, database, alpha):
    client = world.client("alpha")
    home = client.get(f"/c/{SLUG}?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in home
    assert '<h1 lang="fr">Comment améliorer la vie ici ?</h1>' in home
    assert '<ul class="tags" lang="fr">' in home and "Mobilité" in home
    explore = client.get(f"/c/{SLUG}/explorer").get_data(as_text=True)
    assert '<p class="lead" lang="fr">Comment améliorer la vie ici ?</p>' in explore
    assert f'/p/{alpha["a1"]}" lang="fr">Il faut plus de trains le soir</a>' in explore
    card = client.get(f"/c/{SLUG}/p/{alpha['a1']}").get_data(as_text=True)
    assert (
        f'<blockquote class="proposal-text" id="proposal-{alpha["a1"]}-text" lang="fr">'
        "Il faut plus de trains le soir</blockquote>"
    ) in card
    # An English consultation is marked English, on a French page too.
    from pnyx.consultations.models import Consultation

    with database.scope(tenant_id=world.alpha_id) as s:
        s.get(Consultation, alpha["consultation"]).language = "en"
    french = client.get(f"/c/{SLUG}?lang=fr").get_data(as_text=True)
    assert '<html lang="fr">' in french and '<h1 lang="en">' in french


def test_explore_never_500s_on_bad_input(world, alpha):
    client = world.client("alpha")
    for query in ("?page=abc", "?sort=best", "?page=-3", "?q=%3Cscript%3E", "?tag=nope"):
        response = client.get(f"/c/{SLUG}/explorer{query}")
        assert response.status_code in (200, 422), query
    assert "Il faut plus de trains" in client.get(f"/c/{SLUG}/explorer?q=trains").get_data(
        as_text=True
    )
    past = client.get(f"/c/{SLUG}/explorer?page=99")  # 2 proposals: one page
    page = html.unescape(past.get_data(as_text=True))
    assert past.status_code == 404 and "Cette page n'existe pas." in page
    assert "Page 99" not in page and "Première page" in page


def test_my_data_right_after_signing_up_says_when_i_logged_in(world):
    client = world.client("alpha")
    signed = client.post(
        "/inscription",
        data={
            "csrf_token": csrf(client),
            "email": "lou@alpha.test",
            "password": "long-enough-password",
            "first_name": "Lou",
            "birth_year": "1980",
            "postal_code": "56000",
        },
    )
    assert signed.status_code == 303
    account = client.get("/profil/donnees").get_json()["account"]
    assert account["email"] == "lou@alpha.test"
    assert account["last_login_at"] and datetime.fromisoformat(account["last_login_at"])


def test_my_data_reset_request_and_deleting_my_account(world, alpha):
    client = page_login(world.client("alpha"), "citizen@alpha.test")
    data = client.get("/profil/donnees")
    assert data.status_code == 200 and "attachment" in data.headers["Content-Disposition"]
    assert "citizen@alpha.test" in data.get_data(as_text=True)
    token = csrf(client, "/profil/supprimer")
    wrong = client.post("/profil/supprimer", data={"csrf_token": token, "password": "nope"})
    assert wrong.status_code == 401 and field_error(wrong.get_data(as_text=True), "password")
    gone = client.post("/profil/supprimer", data={"csrf_token": token, "password": PASSWORD})
    assert gone.status_code == 303
    assert client.get("/profil").status_code == 302  # logged out, the account is no more
    anonymous = world.client("alpha")
    token = csrf(anonymous, "/mot-de-passe-oublie")
    asked = anonymous.post(
        "/mot-de-passe-oublie", data={"csrf_token": token, "email": "nobody@alpha.test"}
    )
    assert asked.status_code == 200 and 'value="nobody@alpha.test"' in asked.get_data(as_text=True)
    slip = anonymous.post("/mot-de-passe-oublie", data={"csrf_token": token, "email": "nobody"})
    assert slip.status_code == 422 and field_error(slip.get_data(as_text=True), "email")
    assert 'value="nobody"' in slip.get_data(as_text=True)
    bad = anonymous.post("/reset/not-a-token", data={"csrf_token": token, "password": "x" * 12})
    assert bad.status_code == 401 and "pas (ou plus) valide" in bad.get_data(as_text=True)


def test_explore_says_when_nothing_matches_and_a_finished_home_links_its_results(
    world, alpha, database
):
    client = world.client("alpha")
    none = client.get(f"/c/{SLUG}/explorer?q=zeppelins").get_data(as_text=True)
    assert "Aucune proposition publiée ne correspond à cette recherche." in html.unescape(none)
    assert f'href="/c/{SLUG}/explorer"' in none
    make_consultation(database, world.alpha_id, slug="fermee", closed=True)
    home = client.get("/c/fermee").get_data(as_text=True)
    assert 'href="/c/fermee/resultats"' in home and "Voir les résultats" in home


def test_error_pages_speak_the_readers_language(world, alpha):
    def text(response) -> str:
        return html.unescape(response.get_data(as_text=True)).replace("’", "'")

    client = world.client("alpha")
    missing = client.get("/c/pas-une-consultation")
    assert missing.status_code == 404
    page = text(missing)
    assert "<h1>Introuvable</h1>" in page and "Cette consultation n'existe pas." in page
    assert "Cette page n'existe pas." in text(client.get("/pas/une/page"))  # Werkzeug's 404
    english = text(client.get("/c/pas-une-consultation?lang=en"))
    assert "<h1>Not found</h1>" in english and "No such consultation." in english


def test_the_language_chosen_in_the_header_stays_chosen(world, alpha):
    client = world.client("alpha")
    home = client.get("/").get_data(as_text=True)
    assert '<html lang="fr">' in home
    switch = re.search(r'<a href="([^"]+)" lang="en" hreflang="en"', home)
    assert switch and "lang=en" in switch.group(1)
    chosen = client.get(switch.group(1).replace("&amp;", "&"))
    assert '<html lang="en">' in chosen.get_data(as_text=True)
    assert "lang=en" in chosen.headers.get("Set-Cookie", "")
    again = client.get(f"/c/{SLUG}").get_data(as_text=True)  # no ?lang: the cookie says
    assert '<html lang="en">' in again and 'hreflang="fr"' in again


def test_a_wrong_password_is_said_in_french(world):
    response = world.client("alpha").post_form(
        "/login", data={"email": "citizen@alpha.test", "password": "pas le bon mot de passe"}
    )
    page = response.get_data(as_text=True)
    assert "Wrong e-mail or password." not in page
    assert 'value="citizen@alpha.test"' in page


def test_every_tenant_page_links_its_moderation_charter(world, alpha):
    page = world.client("alpha").get(f"/c/{SLUG}").get_data(as_text=True)
    assert '<a href="/charte">Charte de modération</a>' in page


def _voted_then_closed(database, tenant_id, slug):
    """A consultation whose two proposals got 40 trusted votes each, then ended: everyone
    agrees with "a1", everyone disagrees with "a2", half of the voters live in rural areas."""
    from pnyx.consultations import service as consultations
    from pnyx.consultations import votes
    from pnyx.identity.participants import new_participant

    ids = make_consultation(database, tenant_id, slug=slug)
    now = datetime.now(UTC)
    with database.scope(tenant_id=tenant_id) as s:
        c = consultations.get_consultation(s, ids["consultation"])
        for i in range(40):
            voter = new_participant(s)
            voter.territory = "rural" if i % 2 else "urban"
            s.flush()
            for name, key in (("a1", "agree"), ("a2", "disagree")):
                votes.cast(s, c, ids[name], voter, key, [], trusted=True, now=now)
        c.ends_at = now - timedelta(minutes=1)
        c.steps = []  # no later day announced for the results: out at the end
    return ids


def test_results_show_each_zone_once_the_consultation_has_ended(world, database):
    ids = _voted_then_closed(database, world.alpha_id, "bilan")
    client = world.client("alpha")
    page = html.unescape(client.get("/c/bilan/resultats").get_data(as_text=True))
    consensus = page[page.index('id="zone-consensus"') : page.index('id="zone-controversy"')]
    rejection = page[page.index('id="zone-rejection"') : page.index('id="zone-limbo"')]
    assert "Il faut plus de trains le soir" in consensus
    assert re.search(r"9\d\s% d’accord · [0-5]\s% neutre · [0-5]\s% pas d’accord", consensus)
    assert "Il faut des pistes cyclables sûres" in rejection
    assert "Il faut des bancs" not in page  # pending: not published
    rural = client.get("/c/bilan/resultats", query_string={"segment": "territory:rural"})
    assert rural.status_code == 200 and 'value="territory:rural" selected' in rural.get_data(
        as_text=True
    )
    wrong = client.get("/c/bilan/resultats", query_string={"segment": "planet:mars"})
    assert wrong.status_code == 422 and 'id="segment-error"' in wrong.get_data(as_text=True)
    assert client.get("/c/bilan/resultats").status_code == 200
    assert ids["a1"] != ids["a2"]


def test_results_wait_for_the_end_except_for_the_tenants_admins(world, alpha, database):
    from pnyx.consultations.models import Consultation

    with database.session(tenant_id=world.alpha_id) as s:
        ends_at = s.get(Consultation, alpha["consultation"]).ends_at
    # The end, or the day the steps announce the results for (1 March 2027), if later.
    paris = ZoneInfo("Europe/Paris")
    day = max(ends_at.astimezone(paris).date(), datetime(2027, 3, 1, tzinfo=paris).date())
    on = re.sub(r"^1 ", "1er ", format_date(day, "long", locale="fr"))
    citizen = world.client("alpha").get(f"/c/{SLUG}/resultats").get_data(as_text=True)
    assert f"Les résultats seront publiés le {on}." in html.unescape(citizen)
    assert 'id="zone-consensus"' not in citizen
    admin = page_login(world.client("alpha"), "admin@alpha.test")
    assert f'href="/c/{SLUG}/resultats"' in admin.get("/admin/").get_data(as_text=True)
    provisional = admin.get(f"/c/{SLUG}/resultats").get_data(as_text=True)
    assert "Résultats provisoires" in provisional and 'id="zone-consensus"' in provisional
    assert world.client("beta").get(f"/c/{SLUG}/resultats").status_code == 404


def test_results_wait_for_the_day_the_steps_announce_when_it_is_after_the_end(world, database):
    """The walk: the steps announced the results for a later day, the results page said they
    came out at the end. They now come out on the later of the two."""
    from pnyx.consultations.models import Consultation

    ids = _voted_then_closed(database, world.alpha_id, "bilan")
    later = (datetime.now(UTC) + timedelta(days=10)).date()

    def announce(day):
        with database.scope(tenant_id=world.alpha_id) as s:
            c = s.get(Consultation, ids["consultation"])
            c.steps = [{"kind": "results", "title": "Publication", "date": day.isoformat()}]

    announce(later)
    visitor = world.client("alpha")
    page = html.unescape(visitor.get("/c/bilan/resultats?lang=fr").get_data(as_text=True))
    expected = format_date(later, "long", locale="fr")
    assert f"Les résultats seront publiés le {re.sub(r'^1 ', '1er ', expected)}." in page
    assert 'id="zone-consensus"' not in page
    api = visitor.get(f"/api/v1/consultations/{ids['consultation']}/results")
    assert api.status_code == 404 and api.get_json()["code"] == "results_not_published"
    admin = page_login(world.client("alpha"), "admin@alpha.test")
    assert "Résultats provisoires" in admin.get("/c/bilan/resultats").get_data(as_text=True)
    announce((datetime.now(UTC) - timedelta(days=1)).date())  # the day has come
    assert 'id="zone-consensus"' in visitor.get("/c/bilan/resultats").get_data(as_text=True)
    assert visitor.get(f"/api/v1/consultations/{ids['consultation']}/results").status_code == 200


def test_signing_up_with_a_registered_e_mail_points_to_logging_in(world):
    client = world.client("alpha")
    form = {
        "csrf_token": csrf(client),
        "email": "citizen@alpha.test",
        "password": "long-enough-password",
        "first_name": "Anne",
        "birth_year": "1990",
        "postal_code": "35000",
    }
    response = client.post("/inscription", data=form)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 409
    assert page.count("Un compte existe déjà avec cet e-mail.") == 1
    assert field_error(response.get_data(as_text=True), "email") == "Déjà inscrit."
    assert 'href="/mot-de-passe-oublie"' in page and 'value="citizen@alpha.test"' in page


def test_results_are_kept_and_recomputed_by_one_reader_at_a_time(world, database):
    """Results are read from the store while fresh; stale, one reader recomputes them while
    the others get the previous copy."""
    from pnyx.consultations import service as consultations
    from pnyx.consultations import votes
    from pnyx.identity.participants import new_participant
    from pnyx.kernel.store import MemoryStore
    from pnyx.results.service import published, published_by_segment, results

    ids = _voted_then_closed(database, world.alpha_id, "bilan")
    store = MemoryStore()
    with database.scope(tenant_id=world.alpha_id) as s:
        first = published(s, store, ids["consultation"])
        assert {p.proposal_id: p.result for p in first}[ids["a1"]] == "consensus"
        c = consultations.get_consultation(s, ids["consultation"])
        c.ends_at = datetime.now(UTC) + timedelta(days=1)  # reopened for one more vote
        voter = new_participant(s)
        s.flush()
        votes.cast(s, c, ids["a1"], voter, "disagree", [], trusted=True, now=datetime.now(UTC))
    with database.scope(tenant_id=world.alpha_id) as s:
        assert published(s, store, ids["consultation"]) == first  # fresh: the kept copy
        key = f"results:{world.alpha_id}:{ids['consultation']}:all"
        store.set(key + ":computing", "1", ttl=60)  # another reader is recomputing
        assert published(s, store, ids["consultation"], fresh_for=0) == first
        # Every segment at once (the CSV, the report): the others' copies are computed in one
        # reading of the votes, "all" is still the previous copy (being recomputed elsewhere).
        every = published_by_segment(s, store, ids["consultation"], fresh_for=0)
        assert every["all"] == first
        for segment in ("territory:urban", "age:unknown"):
            assert every[segment] == results(s, ids["consultation"], segment)
            assert published(s, store, ids["consultation"], segment) == every[segment]  # kept
        store.delete(key + ":computing")
        again = published(s, store, ids["consultation"], fresh_for=0)
    before, after = ({p.proposal_id: p.votes for p in rows}[ids["a1"]] for rows in (first, again))
    assert after > before  # recomputed with the new vote


def test_results_download_as_csv_once_published(world, database):
    import csv
    import io

    ids = _voted_then_closed(database, world.alpha_id, "bilan")
    response = world.client("alpha").get("/c/bilan/resultats.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="bilan-resultats-' in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    by_segment = {(int(r["proposal_id"]), r["segment"]): r for r in rows}
    overall = by_segment[(ids["a1"], "all")]
    assert overall["proposal"] == "Il faut plus de trains le soir"
    assert overall["result"] == "consensus" and float(overall["agree"]) > 0.9
    assert (ids["a2"], "territory:rural") in by_segment  # every segment
    assert float(overall["agree_low"]) <= float(overall["agree"]) <= float(overall["agree_high"])
    assert world.client("beta").get("/c/bilan/resultats.csv").status_code == 404  # alpha's
    # Not published yet (an open consultation): only its tenant's admins may download them.
    make_consultation(database, world.alpha_id, slug="ouverte")
    closed = world.client("alpha").get("/c/ouverte/resultats.csv")
    assert closed.status_code == 404
    admin = page_login(world.client("alpha"), "admin@alpha.test")
    assert admin.get("/c/ouverte/resultats.csv").status_code == 200
