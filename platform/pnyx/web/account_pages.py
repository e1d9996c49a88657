"""Citizens' account pages: sign-up and profile (log in and out live in pages.py)."""

from __future__ import annotations

import json

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask import session as cookie_session
from flask_babel import gettext as _

from pnyx.consultations import votes
from pnyx.consultations.privacy import export_account
from pnyx.identity import accounts, privacy, recovery
from pnyx.identity.models import Account
from pnyx.identity.service import principal_of, validate_email
from pnyx.kernel.errors import Invalid, Problem, Unauthorized
from pnyx.moderation import integrity

from .context import current_participant, current_principal, db, kernel, log_in, require_tenant
from .forms import field_errors, now, safe_next, say

blp = Blueprint("account_pages", __name__)

SIGNUP_FIELDS = ("email", "first_name", "birth_year", "postal_code")


@blp.route("/inscription", methods=["GET", "POST"])
def signup():
    require_tenant()
    next_path = safe_next(request.values.get("next"), "/")
    form = {name: request.form.get(name, "")[:254] for name in SIGNUP_FIELDS}
    errors: dict[str, list[str]] = {}
    message = None
    email_taken = False
    status = 200
    if request.method == "POST":
        try:
            integrity.check(
                kernel().store, "signup", tenant_id=require_tenant().id, ip=request.remote_addr
            )
            account, participant = accounts.signup(
                db(),
                email=form["email"],
                password=request.form.get("password", ""),
                first_name=form["first_name"],
                birth_year=form["birth_year"],
                postal_code=form["postal_code"],
                now=now(),
                anonymous=current_participant(),
            )
            votes.place_earlier_votes(db(), participant)
        except Problem as exc:  # Invalid per field; Conflict when the e-mail is registered
            db().rollback()
            errors, status = field_errors(exc), exc.status
            message = say(exc.detail)
            email_taken = exc.code == "email_taken"
        else:
            db().commit()
            drafts = cookie_session.get("drafts")
            log_in(principal_of(account))
            if isinstance(drafts, dict):
                cookie_session["drafts"] = drafts  # a proposal typed before signing up
            return redirect(next_path, 303)
    return render_template(
        "account/signup.html",
        form=form,
        errors=errors,
        message=message,
        email_taken=email_taken,
        next_path=next_path,
    ), status


@blp.route("/profil", methods=["GET", "POST"])
def profile():
    require_tenant()
    principal = current_principal()
    if principal is None:
        return redirect(url_for("pages.login", next=request.path))
    participant = current_participant(create=True)
    account = db().get(Account, principal.id)
    form = {
        "birth_year": participant.birth_year or "",
        "postal_code": participant.postal_code or "",
    }
    errors: dict[str, list[str]] = {}
    saved = False
    status = 200
    if request.method == "POST":
        form = {name: request.form.get(name, "")[:20] for name in ("birth_year", "postal_code")}
        try:
            votes.give_segment(
                db(),
                participant,
                now(),
                birth_year=form["birth_year"],
                postal_code=form["postal_code"],
            )
        except Invalid as exc:
            db().rollback()
            errors, status = field_errors(exc), exc.status
        else:
            db().commit()
            saved = True
    else:
        db().commit()  # the account's participant, created on first visit
    return render_template(
        "account/profile.html",
        account=account,
        participant=participant,
        form=form,
        errors=errors,
        saved=saved,
    ), status


# -- password reset, my data, deleting my account (services in pnyx.identity) ------------------


@blp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
def forgotten_password():
    require_tenant()
    email = request.form.get("email", "")[:254]
    sent = False
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        from pnyx.api.account import reset_url_base  # the same link the API mails

        try:
            validate_email(email)  # a typing slip is said; whether the account exists is not
        except Invalid as exc:
            errors = field_errors(exc)
        else:
            recovery.request_reset(db(), kernel().jobs, email, reset_url_base=reset_url_base())
            sent = True  # said whether or not the account exists
    status = 422 if errors else 200
    return render_template("account/forgotten.html", email=email, sent=sent, errors=errors), status


@blp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    """A reset link's page: the form while the link is good; when it is not (used, expired,
    garbled), why, and a link to ask for a new one instead of a form that cannot work."""
    require_tenant()
    token = token[:1000]
    errors: dict[str, list[str]] = {}
    message = link_problem = None
    status = 200
    if request.method == "POST":
        try:
            recovery.reset_password(
                db(), kernel().signer, token, request.form.get("password", ""), now()
            )
        except Unauthorized as exc:  # the link itself: reset_token_invalid / _expired
            db().rollback()
            link_problem, status = say(exc.detail), exc.status
        except Problem as exc:  # the new password: said beside its field
            db().rollback()
            errors, status = field_errors(exc), exc.status
            message = None if errors else say(exc.detail)
        else:
            db().commit()
            cookie_session.clear()
            return redirect(url_for("pages.login", reset=1), 303)
    else:
        try:
            recovery.check_reset_token(db(), kernel().signer, token, now())
        except Unauthorized as exc:
            link_problem, status = say(exc.detail), exc.status
    return render_template(
        "account/reset.html",
        errors=errors,
        message=message,
        link_problem=link_problem,
        token=token,
    ), status


@blp.route("/profil/donnees")
def my_data():
    require_tenant()
    principal = current_principal()
    if principal is None:
        return redirect(url_for("pages.login", next=request.path))
    data = export_account(db(), principal.id)
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="mes-donnees-{require_tenant().slug}.json"',
            "Cache-Control": "no-store",
        },
    )


@blp.route("/profil/supprimer", methods=["GET", "POST"])
def delete_me():
    require_tenant()
    principal = current_principal()
    if principal is None:
        return redirect(url_for("pages.login", next=request.path))
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        try:
            privacy.confirm_password(db(), principal.id, request.form.get("password", ""))
        except Problem:
            errors, status = {"password": [_("Wrong password.")]}, 401
        else:
            privacy.delete_account(db(), principal.id, now())
            db().commit()
            cookie_session.clear()
            cookie_session["account_deleted"] = True  # for the next page only
            return redirect(url_for(".account_deleted"), 303)
    return render_template("account/delete.html", errors=errors), status


@blp.route("/compte-supprime")
def account_deleted():
    """Where deleting one's account lands: says it is done (once; a visitor who did not delete
    an account just now is sent home)."""
    require_tenant()
    if not cookie_session.pop("account_deleted", False):
        return redirect("/", 303)
    return render_template("account/deleted.html")
