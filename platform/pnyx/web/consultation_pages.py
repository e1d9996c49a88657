"""Citizen pages of a consultation: home, cards, proposing, exploring, a proposal, results."""

from __future__ import annotations

import csv
import io
from typing import NamedTuple

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask import session as cookie_session
from flask_babel import gettext as _

from billing import partners
from pnyx.consultations import cards, proposals, search, votes
from pnyx.consultations import service as consultations
from pnyx.consultations.models import (
    QUALIFICATIONS,
    SEGMENTS,
    Consultation,
    Proposal,
    ProposalStatus,
)
from pnyx.kernel.errors import Invalid, NotFound, Problem
from pnyx.kernel.i18n import N_
from pnyx.moderation import integrity
from pnyx.results import report
from pnyx.results import service as results_service
from pnyx.results.groups import MIN_VOTES as MIN_GROUP_VOTES
from pnyx.rotation import service as rotation

from .context import (
    anonymous_voter_id,
    current_participant,
    current_principal,
    db,
    kernel,
    require_tenant,
)
from .forms import field_errors, is_htmx, now, say, tenant_zone

blp = Blueprint("consultation", __name__)

DRAFT_LIMIT = 500  # characters of a draft kept in the cookie while the author signs up
# The propose form's buttons for a visitor without an account: where they lead, draft kept.
_ACCOUNT_PAGES = {"signup": "account_pages.signup", "login": "pages.login"}


class MembersOnly(Exception):
    """A members-only consultation asked for by a visitor who has not logged in."""


def load_consultation(slug: str) -> Consultation:
    """The consultation of this host with this slug, if the caller may see it. A members-only
    one sends a visitor to the login page (and back here after); anyone else gets a 404."""
    require_tenant()
    consultation = consultations.by_slug(db(), slug)
    principal = current_principal()
    if not consultations.can_see(consultation, principal):
        if principal is None:
            raise MembersOnly()
        raise NotFound(N_("No such consultation."), code="consultation_not_found")
    return consultation


@blp.errorhandler(MembersOnly)
def _log_in_first(exc: MembersOnly):
    back = request.full_path.rstrip("?") if request.method == "GET" else request.path
    return redirect(url_for("pages.login", next=back, members=1), 303)


def _vote_counts(proposal_ids: list[int]) -> dict[int, dict[str, int]]:
    rows = votes.counters(db(), proposal_ids)
    return {pid: row.counts(trusted=False) for pid, row in rows.items()}


# -- the consultation's home ---------------------------------------------------------------


@blp.route("/c/<slug>")
def consultation_home(slug: str):
    consultation = load_consultation(slug)
    progress = consultations.progress(db(), consultation, kernel().store)
    goals = [
        ("participants", _("Participants"), progress.participants, consultation.goal_participants),
        ("proposals", _("Proposals submitted"), progress.proposals, consultation.goal_proposals),
        ("votes", _("Votes"), progress.votes, consultation.goal_votes),
    ]
    return render_template(
        "consultation/home.html",
        consultation=consultation,
        status=consultation.status_at(now()),
        goals=goals,
        tags=consultations.tags_of(db(), consultation.id),
        coalition=partners.coalition(db()),
    )


# -- the cards ("participer") --------------------------------------------------------------
# Make.org's sequence: an introduction for a voter new to the consultation, then the proposal
# cards the rotation service chose (vote, qualify, next); on the way, a card asking what is
# still unknown of the voter's segment (once per session) and one inviting them to propose;
# at the end, a closing card (more proposals, propose, sign up, share, results). The sequence
# (proposal ids and card keys) and what the voter did with its extra cards are kept in the
# host-only session cookie.

ASK_SEGMENT_AFTER = 3  # proposal cards voted on before the segment card
INVITE_AFTER = 6  # ... before the invitation to propose
_STEP_ACTIONS = {"start", "segment", "skip_segment", "propose", "skip_invite", "continue"}


class Step(NamedTuple):
    """Where a voter is in the sequence: the card to show and the progress."""

    kind: str  # intro | proposal | segment | invite | end | empty
    proposal: Proposal | None = None
    card_key: str | None = None
    number: int = 0  # the proposal card's number (proposal), else how many were voted on
    total: int = 0  # proposal cards in the sequence


def _sequence_state(consultation: Consultation, voter) -> dict | None:
    state = cookie_session.get("sequence")
    if isinstance(state, dict) and state.get("c") == consultation.id and state.get("v") == voter.id:
        return state
    return None


def _new_sequence(consultation: Consultation, voter) -> dict | None:
    served = rotation.sequence(
        db(), kernel().store, kernel().signer, consultation, voter, now=now()
    )
    if not served:
        cookie_session.pop("sequence", None)
        return None
    state = {
        "c": consultation.id,
        "v": voter.id,
        "cards": [[card.proposal.id, card.card_key] for card in served],
    }
    cookie_session["sequence"] = state
    return state


def _segment_unknown(voter) -> bool:
    return voter.birth_year is None or voter.territory in (None, "unknown")


def _step(consultation: Consultation, voter) -> Step:
    """The voter's next card in their sequence (a new sequence once one is over and they ask
    for more, or when they come back to another consultation)."""
    if voter is None:  # a visitor's participant is created when they start
        return Step("intro")
    voted = rotation.voted_ids(db(), consultation.id, voter)
    state = _sequence_state(consultation, voter)
    if state is None:
        if not voted and cookie_session.get("started") != consultation.id:
            return Step("intro")
        state = _new_sequence(consultation, voter)
        if state is None:  # nothing (left) to vote on
            return Step("empty", number=len(voted))
    deck = [(int(pid), str(key)) for pid, key in state.get("cards", [])]
    done = sum(pid in voted for pid, _key in deck)
    following = None
    for index, (pid, key) in enumerate(deck):
        if pid in voted:
            continue
        proposal = db().get(Proposal, pid)
        if proposal is not None and proposal.status == ProposalStatus.accepted:
            following = Step("proposal", proposal, key, index + 1, len(deck))
            break
    asked = cookie_session.get("segment_asked") or not _segment_unknown(voter)
    if done and (following is None or done >= ASK_SEGMENT_AFTER) and not asked:
        return Step("segment", number=done, total=len(deck))
    if done and (following is None or done >= INVITE_AFTER) and not state.get("invited"):
        return Step("invite", number=done, total=len(deck))
    return following or Step("end", number=done, total=len(deck))


def _card(
    consultation: Consultation,
    proposal: Proposal | None,
    voter,
    *,
    place: str,
    state: str | None = None,
    key: str | None = None,
    card_key: str | None = None,
    errors: dict | None = None,
    message: str | None = None,
    position: tuple[int, int] | None = None,
) -> dict:
    """Everything the card partial shows."""
    vote = None
    if proposal is not None and voter is not None:
        vote = votes.votes_of(db(), voter, [proposal.id]).get(proposal.id)
    if proposal is not None and card_key is None and voter is not None:
        card_key = cards.issue(
            kernel().signer,
            tenant_id=consultation.tenant_id,
            proposal_id=proposal.id,
            participant_id=voter.id,
            place=place,
        )
    if state is None:
        state = "voted" if vote is not None and place == "proposal" else "vote"
    key = key or (vote.key if vote else None)
    return {
        "kind": "proposal" if proposal is not None else "empty",
        "consultation": consultation,
        "proposal": proposal,
        "place": place,
        "state": state,
        "key": key if key in QUALIFICATIONS else None,
        "vote": vote,
        "card_key": card_key or "",
        "errors": errors or {},
        "message": message,
        "position": position,
        "qualifications": QUALIFICATIONS,
        "open": consultation.status_at(now()) == "open",
        "counts": _vote_counts([proposal.id]).get(proposal.id) if proposal else None,
        "tags": proposals.tags_by_proposal(db(), [proposal.id]).get(proposal.id, [])
        if proposal
        else [],
    }


def _step_card(consultation: Consultation, voter, step: Step, **extra) -> dict:
    """The card of a step of the sequence (see :func:`_card` for a proposal's)."""
    if step.kind == "proposal":
        return _card(
            consultation,
            step.proposal,
            voter,
            place="participer",
            position=(step.number, step.total),
            card_key=step.card_key,
            **extra,
        )
    return {
        "kind": step.kind,
        "consultation": consultation,
        "proposal": None,
        "place": "participer",
        "position": (step.number, step.total) if step.total else None,
        "voted": step.number,
        "ask_birth_year": voter is not None and voter.birth_year is None,
        "ask_postal_code": voter is not None and voter.territory in (None, "unknown"),
        "share_url": request.url_root.rstrip("/")
        + url_for(".consultation_home", slug=consultation.slug),
        "form": {},
        "errors": {},
        "message": None,
        **extra,
    }


@blp.route("/c/<slug>/participer")
def participate(slug: str):
    consultation = load_consultation(slug)
    status = consultation.status_at(now())
    voter = current_participant()
    card = _qualifying(consultation, voter, "participer") or _step_card(
        consultation, voter, _step(consultation, voter)
    )
    return render_template(
        "consultation/participate.html", consultation=consultation, status=status, card=card
    )


@blp.route("/c/<slug>/participer", methods=["POST"])
def sequence_step(slug: str):
    """The sequence's extra cards: start, give or skip one's segment, go and propose or keep
    voting, and more proposals once a sequence is over."""
    consultation = load_consultation(slug)
    action = request.form.get("action", "")
    if action not in _STEP_ACTIONS:
        raise Invalid(N_("Unknown step of the sequence."), code="unknown_step")
    voter = current_participant(create=True)
    db().commit()
    if action in ("start", "continue"):
        cookie_session["started"] = consultation.id  # the introduction is behind them
        if consultation.status_at(now()) == "open":
            _new_sequence(consultation, voter)
    elif action == "skip_segment":
        cookie_session["segment_asked"] = True
    elif action == "segment":
        form = {name: request.form.get(name, "")[:20] for name in ("birth_year", "postal_code")}
        try:
            if not any(value.strip() for value in form.values()):
                raise Invalid(  # said once, above the fields: it is about both
                    N_("Give your year of birth, your postal code or both, or skip the question."),
                    code="empty_profile",
                )
            integrity.check(
                kernel().store, "profile", tenant_id=consultation.tenant_id, ip=request.remote_addr
            )
            votes.give_segment(
                db(),
                voter,
                now(),
                birth_year=form["birth_year"],
                postal_code=form["postal_code"],
            )
        except Problem as exc:  # Invalid per field; TooManyRequests
            db().rollback()
            step = _step(consultation, voter)
            step = step._replace(kind="segment", proposal=None, card_key=None)
            errors = field_errors(exc)
            card = _step_card(
                consultation,
                voter,
                step,
                form=form,
                errors=errors,
                message=None if errors else say(exc.detail),  # said once: by the fields
            )
            return _card_page(consultation, card, exc.status)
        db().commit()
        cookie_session["segment_asked"] = True
    elif action in ("propose", "skip_invite"):
        state = _sequence_state(consultation, voter)
        if state is not None:
            cookie_session["sequence"] = {**state, "invited": True}
        if action == "propose":
            return redirect(url_for(".propose", slug=slug), 303)
    if not is_htmx():
        return redirect(url_for(".participate", slug=slug), 303)
    card = _step_card(consultation, voter, _step(consultation, voter))
    return render_template("consultation/_card.html", card=card)


@blp.route("/c/<slug>/p/<int:proposal_id>/vote", methods=["POST"])
def vote(slug: str, proposal_id: int):
    consultation = load_consultation(slug)
    place = "participer" if request.form.get("place") == "participer" else "proposal"
    stage = "qualify" if request.form.get("stage") == "qualify" else "vote"
    key = request.form.get("key", "")
    qualifications = request.form.getlist("qualifications") if stage == "qualify" else []
    card_key = request.form.get("card_key", "")[:600]
    principal = current_principal()
    integrity.check(
        kernel().store,
        "vote",
        tenant_id=consultation.tenant_id,
        ip=request.remote_addr,
        session_id=anonymous_voter_id(),
        account_id=principal.id if principal else None,
    )
    voter = current_participant(create=True)
    db().commit()  # the anonymous voter exists from now on, whatever happens to the vote
    proposal = proposals.get(db(), proposal_id, consultation.id)
    if not proposals.visible(proposal, voter):
        raise NotFound(N_("No such proposal."), code="proposal_not_found")
    previous = votes.votes_of(db(), voter, [proposal.id]).get(proposal.id)
    check = rotation.check_card(
        kernel().store,
        kernel().signer,
        card_key,
        tenant_id=consultation.tenant_id,
        proposal_id=proposal.id,
        voter_id=voter.id,
        already_trusted=bool(previous and previous.trusted),
    )
    try:
        votes.cast(
            db(),
            consultation,
            proposal.id,
            voter,
            key,
            qualifications,
            trusted=check.trusted,
            now=now(),
        )
    except Problem as exc:
        db().rollback()
        errors = field_errors(exc)
        state = "qualify" if "qualifications" in errors and key in QUALIFICATIONS else "vote"
        card = _card(
            consultation,
            proposal,
            voter,
            place=place,
            state=state,
            key=key,
            card_key=card_key,
            errors=errors,
            message=say(exc.detail),
        )
        return _card_response(consultation, proposal, card, exc.status)
    db().commit()
    if stage == "vote":
        if not is_htmx():  # post/redirect/get: the address bar never keeps the POST's address
            cookie_session["qualifying"] = [proposal.id, card_key]
            return redirect(_card_address(consultation, proposal, place), 303)
        return _card_response(
            consultation,
            proposal,
            _qualify_card(consultation, proposal, voter, place, key, card_key),
            200,
        )
    # Qualified: on to the next card (or back to the proposal, now showing the vote).
    if place == "participer":
        if not is_htmx():
            return redirect(url_for(".participate", slug=slug), 303)
        card = _step_card(consultation, voter, _step(consultation, voter))
        return render_template("consultation/_card.html", card=card)
    if not is_htmx():
        return redirect(url_for(".proposal_page", slug=slug, proposal_id=proposal.id), 303)
    card = _card(consultation, proposal, voter, place=place, state="voted")
    return render_template("consultation/_card.html", card=card)


def _qualify_card(consultation, proposal, voter, place: str, key: str, card_key: str) -> dict:
    """The card asking why, once the vote is in."""
    card = _card(
        consultation, proposal, voter, place=place, state="qualify", key=key, card_key=card_key
    )
    if place == "participer":
        card["position"] = _position(consultation, voter, proposal.id)
    return card


def _card_address(consultation: Consultation, proposal: Proposal, place: str) -> str:
    if place == "participer":
        return url_for(".participate", slug=consultation.slug)
    return url_for(".proposal_page", slug=consultation.slug, proposal_id=proposal.id)


def _qualifying(consultation: Consultation, voter, place: str) -> dict | None:
    """Without JavaScript, the vote's POST redirects here: the card asking why, once (a reload
    goes on), if the voter's vote on that proposal is still there."""
    found = cookie_session.pop("qualifying", None)
    if voter is None or not (isinstance(found, list) and len(found) == 2):
        return None
    proposal_id, card_key = found
    proposal = db().get(Proposal, proposal_id) if isinstance(proposal_id, int) else None
    if proposal is None or proposal.consultation_id != consultation.id:
        return None
    vote = votes.votes_of(db(), voter, [proposal.id]).get(proposal.id)
    if vote is None or vote.key not in QUALIFICATIONS:
        return None
    return _qualify_card(consultation, proposal, voter, place, vote.key, str(card_key)[:600])


def _card_response(consultation: Consultation, proposal: Proposal, card: dict, status: int):
    if card["place"] == "participer" or is_htmx():
        return _card_page(consultation, card, status)
    return _proposal_page(consultation, proposal, card), status


def _card_page(consultation: Consultation, card: dict, status: int):
    """The card alone for htmx, else the whole "participer" page around it."""
    if is_htmx():
        return render_template("consultation/_card.html", card=card), status
    page = render_template(
        "consultation/participate.html",
        consultation=consultation,
        status=consultation.status_at(now()),
        card=card,
    )
    return page, status


def _position(consultation: Consultation, voter, proposal_id: int) -> tuple[int, int] | None:
    """The proposal's place in the voter's sequence: (its number, the number of cards)."""
    state = _sequence_state(consultation, voter) or {}
    ids = [int(pid) for pid, _key in state.get("cards", [])]
    return (ids.index(proposal_id) + 1, len(ids)) if proposal_id in ids else None


# -- one proposal ----------------------------------------------------------------------------


@blp.route("/c/<slug>/p/<int:proposal_id>")
def proposal_page(slug: str, proposal_id: int):
    consultation = load_consultation(slug)
    proposal = proposals.get(db(), proposal_id, consultation.id)
    viewer = current_participant()
    if not proposals.visible(proposal, viewer):
        raise NotFound(N_("No such proposal."), code="proposal_not_found")
    card = _qualifying(consultation, viewer, "proposal")
    if card is None or card["proposal"].id != proposal.id:
        card = _card(consultation, proposal, viewer, place="proposal")
    return _proposal_page(consultation, proposal, card)


def _proposal_page(consultation: Consultation, proposal: Proposal, card: dict) -> str:
    return render_template(
        "consultation/proposal.html",
        consultation=consultation,
        proposal=proposal,
        card=card,
        share_url=request.url_root.rstrip("/")
        + url_for(".proposal_page", slug=consultation.slug, proposal_id=proposal.id),
    )


# -- proposing -------------------------------------------------------------------------------


def _drafts() -> dict:
    drafts = cookie_session.get("drafts")
    return drafts if isinstance(drafts, dict) else {}


@blp.route("/c/<slug>/proposer", methods=["GET", "POST"])
def propose(slug: str):
    consultation = load_consultation(slug)
    principal = current_principal()
    default = consultation.proposal_prefix + " "
    text = _drafts().get(slug) or default
    errors: dict[str, list[str]] = {}
    message = None
    status = 200
    if request.method == "POST":
        text = request.form.get("content", "")
        if principal is None:
            # Kept in the cookie so that it is still there after signing up or logging in.
            cookie_session["drafts"] = {**_drafts(), slug: text[:DRAFT_LIMIT]}
            then = _ACCOUNT_PAGES.get(request.form.get("then", ""))
            if then is not None:
                return redirect(url_for(then, next=url_for(".propose", slug=slug)), 303)
            message, status = _("Sign up or log in to send your proposal."), 401
        else:
            author = current_participant(create=True)
            try:
                integrity.check(
                    kernel().store,
                    "proposal",
                    tenant_id=consultation.tenant_id,
                    ip=request.remote_addr,
                    account_id=principal.id,
                )
                proposal = proposals.submit(db(), consultation, author, text, now())
            except Invalid as exc:
                db().rollback()
                errors, status = field_errors(exc), exc.status
                message = say(exc.detail) if "content" not in errors else None
            except Problem as exc:  # closed, rate-limited
                db().rollback()
                message, status = say(exc.detail), exc.status
            else:
                db().commit()
                drafts = _drafts()
                drafts.pop(slug, None)
                cookie_session["drafts"] = drafts
                return redirect(url_for(".propose", slug=slug, sent=proposal.id) + "#mine", 303)
    mine = []
    if principal is not None:
        author = current_participant()
        if author is not None:
            mine = proposals.of_author(db(), consultation.id, author)
    next_path = url_for(".propose", slug=slug)
    return render_template(
        "consultation/propose.html",
        consultation=consultation,
        status=consultation.status_at(now()),
        text=text,
        errors=errors,
        message=message,
        mine=mine,
        sent=request.args.get("sent", type=int),
        needs_login=principal is None,
        next_path=next_path,
        max_length=proposals.MAX_LENGTH,
    ), status


# -- exploring -------------------------------------------------------------------------------


@blp.route("/c/<slug>/explorer")
def explore(slug: str):
    consultation = load_consultation(slug)
    q = request.args.get("q", "")[:200]
    tag = request.args.get("tag", "")[:60]
    sort = request.args.get("sort", "recent")
    errors: dict[str, list[str]] = {}
    page_number = request.args.get("page", "1")
    try:
        page_number = int(page_number)
    except ValueError:
        page_number = 0
    status = 200
    try:
        page = search.search(
            db(), consultation.id, q=q, tag=tag or None, sort=sort, page=page_number, per_page=20
        )
    except Invalid as exc:
        errors, status = field_errors(exc), exc.status
        page = search.Page([], 0, 1, 20)
    if page.total and page.page > page.pages:  # past the last page (an old link, a typed URL)
        errors, status = {"page": [say(N_("This page does not exist."))]}, 404
    ids = [p.id for p in page.items]
    tags = consultations.tags_of(db(), consultation.id)
    return render_template(
        "consultation/explore.html",
        consultation=consultation,
        q=q,
        tag=tag,
        sort=sort,
        page=page,
        errors=errors,
        tags=tags,
        tags_by_proposal=proposals.tags_by_proposal(db(), ids),
        counts=_vote_counts(ids),
    ), status


# -- results ---------------------------------------------------------------------------------
# Shown once published (``results_service.publication``): each zone's proposals, those that
# need more votes, and the opinion groups.

SHOWN_PER_ZONE = 50


def _results_shown(consultation: Consultation) -> results_service.Publication:
    return results_service.publication(consultation, current_principal(), now(), tenant_zone())


@blp.route("/c/<slug>/resultats")
def results_page(slug: str):
    consultation = load_consultation(slug)
    shown_now, provisional, published_on = _results_shown(consultation)
    context = {"consultation": consultation, "published": shown_now, "published_on": published_on}
    if not context["published"]:  # the page says when: the end, or the results step's day
        return render_template("consultation/results.html", **context)
    segment = request.args.get("segment", "all")
    errors: dict[str, list[str]] = {}
    status = 200
    try:
        found = results_service.published(db(), kernel().store, consultation.id, segment)
    except Invalid as exc:
        errors, status, segment = field_errors(exc), exc.status, "all"
        found = results_service.published(db(), kernel().store, consultation.id, segment)
    zones, undecided = results_service.by_zone(found)
    shown = [item for items in zones.values() for item in items[:SHOWN_PER_ZONE]]
    shown += undecided[:SHOWN_PER_ZONE]
    named = [item.proposal_id for item in shown]
    groups = None  # opinion groups are found among all voters: shown with segment "all"
    if segment == "all":
        groups = results_service.kept_opinion_groups(
            db(), kernel().store, kernel().jobs, consultation.id
        )
    if groups is not None:
        named += [item.proposal_id for item in groups.consensus + groups.division]
        named += [pid for group in groups.groups for pid, _rate, _others in group.distinctive]
    return render_template(
        "consultation/results.html",
        **context,
        provisional=provisional,
        segment=segment,
        segments=SEGMENTS,
        errors=errors,
        zones=zones,
        shown=SHOWN_PER_ZONE,
        undecided=undecided,
        groups=groups,
        groups_shown=segment == "all",
        min_votes=MIN_GROUP_VOTES,
        contents=proposals.contents(db(), named),
    ), status


@blp.route("/c/<slug>/rapport")
def report_page(slug: str):
    """The consultation's report, to print or save as PDF: published as the results are."""
    consultation = load_consultation(slug)
    shown = _results_shown(consultation)
    if not shown.shown:  # a page saying when, as the results page does
        return render_template(
            "consultation/report.html",
            consultation=consultation,
            report=None,
            published_on=shown.on,
        )
    built = report.build(db(), kernel().store, kernel().jobs, consultation)
    return render_template(
        "consultation/report.html",
        consultation=consultation,
        report=built,
        provisional=shown.provisional,
        generated=now(),
        min_votes=MIN_GROUP_VOTES,
        min_segment_votes=report.MIN_SEGMENT_VOTES,
    )


CSV_COLUMNS = (
    "proposal_id",
    "proposal",
    "segment",
    "result",
    "zone",
    "zone_probability",
    "votes",
    "agree",
    "agree_low",
    "agree_high",
    "disagree",
    "disagree_low",
    "disagree_high",
    "neutral",
    "neutral_low",
    "neutral_high",
    "top_score",
    "controversy",
    "rejection",
)


def _cell(text: str) -> str:
    """A text a spreadsheet will not take for a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@blp.route("/c/<slug>/resultats.csv")
def results_csv(slug: str):
    """The results of every segment, a row per proposal and segment, for reports."""
    consultation = load_consultation(slug)
    results_service.require_published(consultation, current_principal(), now(), tenant_zone())
    found = results_service.published_by_segment(db(), kernel().store, consultation.id)
    rows = [(segment, item) for segment in SEGMENTS for item in found[segment]]
    texts = proposals.contents(db(), sorted({item.proposal_id for _segment, item in rows}))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for segment, item in rows:
        writer.writerow(
            (
                item.proposal_id,
                _cell(texts.get(item.proposal_id, "")),
                segment,
                item.result,
                item.zone,
                f"{item.zone_probability:.4f}",
                f"{item.votes:.3f}",
                *(
                    f"{value:.4f}"
                    for rate, interval in (
                        (item.agree, item.agree_interval),
                        (item.disagree, item.disagree_interval),
                        (item.neutral, item.neutral_interval),
                    )
                    for value in (rate, *interval)
                ),
                f"{item.top_score:.4f}",
                f"{item.controversy:.4f}",
                f"{item.rejection:.4f}",
            )
        )
    filename = f"{consultation.slug}-resultats-{now():%Y-%m-%d}.csv"
    return Response(
        "\ufeff" + out.getvalue(),  # a BOM: spreadsheets then read the accents right
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
