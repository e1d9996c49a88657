"""Password reset by e-mail (through a real SMTP server), download my data, delete my account."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from pnyx.consultations import proposals, votes
from pnyx.consultations.models import Proposal, ProposalCounter, Vote
from pnyx.consultations.service import create_consultation, get_consultation
from pnyx.identity.models import Account, Participant
from pnyx.identity.participants import participant_of_account, update_profile
from pnyx.identity.recovery import issue_reset_token
from pnyx.identity.service import create_account
from tenants.models import Tenant
from tests.conftest import PASSWORD
from themes.service import tokens_for

NEW_PASSWORD = "a-brand-new-passphrase"
NOW = datetime.now(UTC)
LINK = re.compile(r"http://(?P<host>[\w.-]+)/reset/(?P<token>[\w.-]+)")


@pytest.fixture()
def app(smtp_app):
    """Every test here runs on the app whose mail goes to the local SMTP server."""
    return smtp_app


def problem_code(response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/problem+json"
    return response.get_json()["code"]


def ask_reset(world, slug: str, email: str):
    return world.client(slug).post("/api/v1/auth/password-reset", json={"email": email})


def link_of(message) -> tuple[str, str]:
    text = message.get_body(("plain",)).get_content()
    found = LINK.search(text)
    assert found, text
    return found["host"], found["token"]


def confirm(world, slug: str, token: str, password: str = NEW_PASSWORD):
    return world.client(slug).post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": password}
    )


def login_status(world, slug: str, email: str, password: str) -> int:
    response = world.client(slug).post(
        "/api/v1/auth/token", json={"email": email, "password": password}
    )
    return response.status_code


# --- password reset ---------------------------------------------------------------------------


def test_reset_end_to_end_through_smtp(world, database, mailbox):
    logged_in = world.participant("alpha")
    response = ask_reset(world, "alpha", "Citizen@alpha.test")
    assert response.status_code == 202
    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert message.envelope_to == ["citizen@alpha.test"]
    assert message["To"] == "citizen@alpha.test"
    assert message["From"].addresses[0].display_name == "Tenant Alpha"
    assert "Tenant Alpha" in message["Subject"]
    assert "mot de passe" in message["Subject"]
    html = message.get_body(("html",)).get_content()
    with database.session(tenant_id=world.alpha_id) as s:
        primary = tokens_for(s).primary
    assert primary in html and "Tenant Alpha" in html
    host, token = link_of(message)
    assert host == "alpha.pnyx.test"
    assert f"/reset/{token}" in html

    assert confirm(world, "alpha", token).status_code == 204
    assert login_status(world, "alpha", "citizen@alpha.test", PASSWORD) == 401
    assert login_status(world, "alpha", "citizen@alpha.test", NEW_PASSWORD) == 201
    # Logged out everywhere: the token from before the reset is dead.
    assert problem_code(logged_in.get("/api/v1/auth/me"), 401) == "token_invalid"
    # Single use: the password changed, so the link no longer verifies.
    assert problem_code(confirm(world, "alpha", token, "yet-another-passphrase"), 401) == (
        "reset_token_invalid"
    )
    assert login_status(world, "alpha", "citizen@alpha.test", NEW_PASSWORD) == 201


def test_unknown_email_gets_the_same_answer_and_no_mail(world, mailbox):
    known = ask_reset(world, "alpha", "citizen@alpha.test")
    mailbox.messages.clear()
    for email in ("nobody@alpha.test", "citizen@beta.test", "not an e-mail", ""):
        unknown = ask_reset(world, "alpha", email)
        assert (unknown.status_code, unknown.get_data()) == (known.status_code, known.get_data())
    assert mailbox.messages == []


def test_expired_wrong_tenant_and_garbage_tokens(world, database, config, mailbox):
    from pnyx.kernel.signing import Signer

    signer = Signer(config.secret_key)
    with database.session(tenant_id=world.alpha_id) as s:
        account = s.scalar(select(Account).where(Account.email == "citizen@alpha.test"))
        expired = issue_reset_token(signer, account, NOW - timedelta(hours=1, minutes=1))
        fresh = issue_reset_token(signer, account, NOW - timedelta(minutes=59))
    assert problem_code(confirm(world, "alpha", expired), 401) == "reset_token_expired"
    # A link of alpha's is worth nothing on beta's host.
    assert problem_code(confirm(world, "beta", fresh), 401) == "reset_token_invalid"
    assert problem_code(confirm(world, "alpha", "garbage"), 401) == "reset_token_invalid"
    # A token of another purpose (an API token) is no reset token.
    api_token = world.participant("alpha").token
    assert problem_code(confirm(world, "alpha", api_token), 401) == "reset_token_invalid"
    # A weak password is refused without spending the link.
    assert problem_code(confirm(world, "alpha", fresh, "short"), 422) == "weak_password"
    assert confirm(world, "alpha", fresh).status_code == 204
    assert login_status(world, "alpha", "citizen@alpha.test", PASSWORD) == 401
    assert problem_code(confirm(world, "alpha", fresh), 401) == "reset_token_invalid"


def test_the_reset_page_checks_its_link_before_showing_the_form(world, database, config):
    from pnyx.kernel.signing import Signer

    signer = Signer(config.secret_key)
    with database.session(tenant_id=world.alpha_id) as s:
        account = s.scalar(select(Account).where(Account.email == "citizen@alpha.test"))
        expired = issue_reset_token(signer, account, NOW - timedelta(hours=1, minutes=1))
        fresh = issue_reset_token(signer, account, NOW)
    client = world.client("alpha")
    ask_again = 'href="/mot-de-passe-oublie"'

    opened = client.get(f"/reset/{fresh}")
    page = opened.get_data(as_text=True)
    assert opened.status_code == 200 and 'name="password"' in page and ask_again not in page
    # Too short: said once, beside the field; the link is good, so no new one is offered.
    short = client.post_form(f"/reset/{fresh}", data={"password": "short"})
    page = html.unescape(short.get_data(as_text=True))
    assert short.status_code == 422
    beside = re.search(r'<p class="field-error" id="password-error">(.*?)</p>', page, re.S)
    assert beside and beside[1].strip() == "Un mot de passe a de 10 à 200 caractères."
    assert page.count("10 à 200 caractères") == 1
    assert 'role="alert"' not in page and ask_again not in page
    assert client.post_form(f"/reset/{fresh}", data={"password": NEW_PASSWORD}).status_code == 303

    # A used, an expired or a garbled link says why and links to a new one, with no form.
    for token, why in (
        (fresh, "n'est pas (ou plus) valide"),
        (expired, "a expiré"),
        ("not-a-token", "n'est pas (ou plus) valide"),
    ):
        for response in (
            client.get(f"/reset/{token}"),
            client.post_form(f"/reset/{token}", data={"password": "yet-another-passphrase"}),
        ):
            page = html.unescape(response.get_data(as_text=True))
            assert response.status_code == 401, token
            assert why in page and ask_again in page and 'name="password"' not in page
    # Single use all the same: the password is the one set through the link.
    assert login_status(world, "alpha", "citizen@alpha.test", NEW_PASSWORD) == 201
    assert login_status(world, "alpha", "citizen@alpha.test", "yet-another-passphrase") == 401


def test_an_english_tenant_writes_in_english(world, database, mailbox):
    with database.scope() as s:
        s.get(Tenant, world.beta_id).locale = "en"
    assert ask_reset(world, "beta", "citizen@beta.test").status_code == 202
    [message] = mailbox.messages
    assert message["Subject"] == "Tenant Beta: reset your password"
    assert "valid for one hour" in message.get_body(("plain",)).get_content()
    with database.session(tenant_id=world.beta_id) as s:
        assert tokens_for(s).primary in message.get_body(("html",)).get_content()


def test_reset_routes_are_not_on_the_operator_host(world, mailbox):
    response = world.client().post(
        "/api/v1/auth/password-reset", json={"email": "operator@pnyx.test"}
    )
    assert problem_code(response, 404) == "not_found"
    assert mailbox.messages == []


# --- download my data / delete my account -------------------------------------------------------


def populate(database, tenant_id: int, email: str) -> dict:
    """One consultation; ``email``'s account proposes and votes; a neighbour votes on it too."""
    with database.scope(tenant_id=tenant_id) as s:
        account = s.scalar(select(Account).where(Account.email == email)) or create_account(
            s, email=email, password=PASSWORD, first_name="Camille"
        )
        neighbour = create_account(s, email=f"neighbour-{tenant_id}@example.org", password=PASSWORD)
        consultation = create_consultation(
            s,
            {
                "slug": "territoire",
                "question": f"Comment améliorer la vie ici ({tenant_id}) ?",
                "starts_at": NOW - timedelta(days=1),
                "ends_at": NOW + timedelta(days=30),
            },
        )
        me = participant_of_account(s, account.id)
        update_profile(s, me, NOW, birth_year=1980, postal_code="69003")
        other = participant_of_account(s, neighbour.id)
        update_profile(s, other, NOW, birth_year=2001, postal_code="13016")
        mine = proposals.submit(
            s, consultation, me, f"Il faut plus de pistes cyclables ({tenant_id})", NOW
        )
        proposals.decide(s, mine.id, "accept", by="moderator@pnyx.test", now=NOW)
        theirs = proposals.submit(
            s, consultation, other, "Il faut ouvrir les écoles le samedi", NOW
        )
        proposals.decide(s, theirs.id, "accept", by="moderator@pnyx.test", now=NOW)
        pending = proposals.submit(s, consultation, me, "Il faut des bancs dans les parcs", NOW)
        c = get_consultation(s, consultation.id)
        votes.cast(s, c, theirs.id, me, "agree", ["likeIt", "doable"], trusted=True, now=NOW)
        votes.cast(s, c, mine.id, me, "agree", [], trusted=True, now=NOW)
        votes.cast(s, c, mine.id, other, "disagree", ["noWay"], trusted=True, now=NOW)
        return {
            "account_id": account.id,
            "participant_id": me.id,
            "mine": mine.id,
            "theirs": theirs.id,
            "pending": pending.id,
            "consultation_id": consultation.id,
        }


def counters(database, tenant_id: int) -> list[tuple]:
    with database.session(tenant_id=tenant_id) as s:
        rows = s.scalars(select(ProposalCounter).order_by(ProposalCounter.id))
        return [(r.proposal_id, r.segment, r.counts(True), r.counts(False)) for r in rows]


def test_export_holds_exactly_my_data_of_this_tenant(world, database):
    shared = "shared@example.org"
    with database.scope(tenant_id=world.beta_id) as s:
        create_account(s, email=shared, password=PASSWORD, first_name="Autre")
    alpha = populate(database, world.alpha_id, shared)
    beta = populate(database, world.beta_id, shared)

    client = world.client("alpha").login(shared)
    response = client.get("/api/v1/participants/me/export")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    raw = response.get_data(as_text=True)
    assert "argon2" not in raw and "password" not in raw
    data = json.loads(raw)

    assert data["tenant"] == {"slug": "alpha", "name": "Tenant Alpha"}
    assert data["account"]["id"] == alpha["account_id"] != beta["account_id"]
    assert data["account"]["email"] == shared and data["account"]["first_name"] == "Camille"
    assert data["participant"] == {
        "id": alpha["participant_id"],
        "birth_year": 1980,
        "postal_code": "69003",
        "territory": data["participant"]["territory"],
        "created_at": data["participant"]["created_at"],
    }
    assert data["participant"]["territory"] != "unknown"
    assert {p["id"] for p in data["proposals"]} == {alpha["mine"], alpha["pending"]}
    by_id = {p["id"]: p for p in data["proposals"]}
    assert by_id[alpha["mine"]]["status"] == "accepted"
    assert by_id[alpha["pending"]]["status"] == "pending"
    assert by_id[alpha["mine"]]["content"].endswith(f"({world.alpha_id})")
    assert by_id[alpha["mine"]]["consultation"]["question"].endswith(f"({world.alpha_id}) ?")
    assert by_id[alpha["mine"]]["created_at"]
    assert sorted(
        (v["proposal_id"], v["key"], tuple(v["qualifications"])) for v in data["votes"]
    ) == sorted([(alpha["theirs"], "agree", ("likeIt", "doable")), (alpha["mine"], "agree", ())])
    assert all(v["proposal"] and v["created_at"] for v in data["votes"])
    # Nothing of beta's account with the same e-mail, nor of the neighbour.
    assert str(world.beta_id) not in json.dumps([p["content"] for p in data["proposals"]])
    assert "neighbour" not in raw and "Autre" not in raw


def test_signing_up_records_the_login_as_logging_in_does(world, database):
    """Signing up logs the person in: their export says when, right away, as after a login."""
    client = world.client("alpha")
    signed = client.post(
        "/api/v1/participants",
        json={
            "email": "new@alpha.test",
            "password": PASSWORD,
            "first_name": "Nour",
            "birth_year": 1990,
            "postal_code": "69003",
        },
    )
    assert signed.status_code == 201, signed.get_json()
    client.token = signed.get_json()["token"]
    account = client.get("/api/v1/participants/me/export").get_json()["account"]
    assert account["last_login_at"], account
    signed_up_at = datetime.fromisoformat(account["last_login_at"])
    assert abs(signed_up_at - datetime.fromisoformat(account["created_at"])) < timedelta(minutes=1)
    again = world.client("alpha").login("new@alpha.test")
    later = again.get("/api/v1/participants/me/export").get_json()["account"]["last_login_at"]
    assert datetime.fromisoformat(later) >= signed_up_at
    # An account made without logging in (beta's citizen, by the fixture) has none.
    with database.session(tenant_id=world.beta_id) as s:
        citizen = s.scalar(select(Account).where(Account.email == "citizen@beta.test"))
        assert citizen.last_login_at is None


def test_export_and_delete_need_an_account(world):
    anonymous = world.client("alpha")
    assert problem_code(anonymous.get("/api/v1/participants/me/export"), 401) == "unauthorized"
    response = anonymous.delete("/api/v1/participants/me", json={"password": PASSWORD})
    assert problem_code(response, 401) == "unauthorized"


def test_delete_anonymises_and_keeps_proposals_and_counts(world, database):
    email = "citizen@alpha.test"
    alpha = populate(database, world.alpha_id, email)
    beta = populate(database, world.beta_id, "citizen@beta.test")
    before_alpha, before_beta = (
        counters(database, world.alpha_id),
        counters(database, world.beta_id),
    )
    client = world.client("alpha").login(email)
    second_device = world.client("alpha").login(email)

    wrong = client.delete("/api/v1/participants/me", json={"password": "not-my-password"})
    assert problem_code(wrong, 401) == "invalid_credentials"
    missing = client.delete("/api/v1/participants/me", json={})
    assert problem_code(missing, 422) == "validation_failed"
    assert client.delete("/api/v1/participants/me", json={"password": PASSWORD}).status_code == 204

    # Logged out everywhere, and the account is gone.
    for device in (client, second_device):
        assert problem_code(device.get("/api/v1/auth/me"), 401) == "token_invalid"
    assert login_status(world, "alpha", email, PASSWORD) == 401
    with database.session(tenant_id=world.alpha_id) as s:
        assert s.get(Account, alpha["account_id"]) is None
        participant = s.get(Participant, alpha["participant_id"])
        assert (participant.account_id, participant.birth_year, participant.postal_code) == (
            None,
            None,
            None,
        )
        # The proposals stay, their author now untraceable; the votes keep their segment.
        kept = {p.id: p for p in s.scalars(select(Proposal))}
        assert {alpha["mine"], alpha["pending"], alpha["theirs"]} <= set(kept)
        assert kept[alpha["mine"]].author_id == alpha["participant_id"]
        assert kept[alpha["mine"]].status == "accepted"
        my_votes = s.scalars(select(Vote).where(Vote.participant_id == alpha["participant_id"]))
        assert sorted(
            (v.proposal_id, v.age_band, v.territory != "unknown") for v in my_votes
        ) == sorted([(alpha["mine"], "35_49", True), (alpha["theirs"], "35_49", True)])
    assert counters(database, world.alpha_id) == before_alpha
    # The other tenant's citizen is untouched.
    assert counters(database, world.beta_id) == before_beta
    with database.session(tenant_id=world.beta_id) as s:
        them = s.get(Participant, beta["participant_id"])
        assert them.account_id == beta["account_id"] and them.postal_code == "69003"
    assert world.participant("beta").get("/api/v1/auth/me").status_code == 200

    # The e-mail is free again on alpha: a new account starts with no past.
    with database.scope(tenant_id=world.alpha_id) as s:
        fresh = create_account(s, email=email, password=PASSWORD)
        assert s.scalar(select(Participant).where(Participant.account_id == fresh.id)) is None
    data = world.client("alpha").login(email).get("/api/v1/participants/me/export").get_json()
    assert (data["participant"], data["proposals"], data["votes"]) == (None, [], [])


def test_deleting_my_account_on_its_page_says_it_is_done(world, database):
    alpha = populate(database, world.alpha_id, "citizen@alpha.test")
    client = world.client("alpha")
    client.post_form("/login", data={"email": "citizen@alpha.test", "password": PASSWORD})
    gone = client.post_form("/profil/supprimer?lang=en", data={"password": PASSWORD})
    assert gone.status_code == 303 and gone.headers["Location"].endswith("/compte-supprime")
    landed = client.get("/compte-supprime")
    page = landed.get_data(as_text=True)
    assert landed.status_code == 200 and '<p class="notice" role="status">' in page
    assert "<h1>Account deleted</h1>" in page and "stay, anonymised" in page
    with database.session(tenant_id=world.alpha_id) as s:
        assert s.get(Account, alpha["account_id"]) is None
        assert s.get(Proposal, alpha["mine"]) is not None  # kept, anonymised
    # Said once; nobody else lands there.
    again = client.get("/compte-supprime")
    assert again.status_code == 303 and again.headers["Location"] == "/"
    stranger = world.client("alpha").get("/compte-supprime")
    assert stranger.status_code == 303 and stranger.headers["Location"] == "/"


def test_proposal_decision_mail_for_the_moderation_room(world, database, mailbox):
    from pnyx.kernel.runtime import kernel

    alpha = populate(database, world.alpha_id, "citizen@alpha.test")
    jobs = kernel().jobs
    jobs.enqueue(
        "pnyx.identity.jobs.send_proposal_decision",
        queue="mail",
        tenant_id=world.alpha_id,
        participant_id=alpha["participant_id"],
        proposal_text="Il faut des bancs dans les parcs",
        decision="refused",
        reason="several_ideas",
    )
    [message] = mailbox.messages
    assert message["To"] == "citizen@alpha.test"
    subject = message["Subject"].replace("\u00a0", " ")  # French: a no-break space before ":"
    assert subject == "Tenant Alpha : votre proposition n'a pas été publiée"
    text = message.get_body(("plain",)).get_content()
    assert text.startswith("Bonjour,") and "plusieurs idées" in text and "bancs" in text
    # After erasure the author cannot be reached: nothing is sent.
    with database.scope(tenant_id=world.alpha_id) as s:
        from pnyx.identity.privacy import delete_account

        delete_account(s, alpha["account_id"], NOW)
    mailbox.messages.clear()
    jobs.enqueue(
        "pnyx.identity.jobs.send_proposal_decision",
        queue="mail",
        tenant_id=world.alpha_id,
        participant_id=alpha["participant_id"],
        proposal_text="Il faut des bancs dans les parcs",
        decision="accepted",
    )
    assert mailbox.messages == []
