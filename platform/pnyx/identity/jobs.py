"""Identity's jobs: they take ids (and plain values), open their own tenant-bound session, and
mail through the kernel's mailer. Retrying one sends the message again, never anything worse."""

from __future__ import annotations

from pnyx.kernel.db import utcnow
from pnyx.kernel.runtime import kernel

from .emails import brand_of, compose, refusal_reason_label
from .models import Account, Participant
from .recovery import issue_reset_token, reset_url


def send_password_reset(tenant_id: int, account_id: int, reset_url_base: str) -> str | None:
    """Mail a fresh one-hour reset link to the account; nothing if it is gone."""
    k = kernel()
    with k.db.scope(tenant_id=tenant_id) as session:
        account = session.get(Account, account_id)
        if account is None:
            return None
        token = issue_reset_token(k.signer, account, utcnow())
        mail = compose(
            session,
            "password_reset",
            to=account.email,
            first_name=account.first_name,
            url=reset_url(reset_url_base, token),
        )
    return k.mailer.send(mail)


def send_proposal_decision(
    tenant_id: int,
    participant_id: int,
    proposal_text: str,
    decision: str,
    reason: str | None = None,
    note: str | None = None,
    url: str | None = None,
) -> str | None:
    """Tell a proposal's author it was accepted or refused (with the reason's label).

    ``decision`` is ``accepted`` or ``refused``. Authors without an account any more (deleted)
    hear nothing.
    """
    if decision not in ("accepted", "refused"):
        raise ValueError(f"decision is accepted or refused, not {decision!r}")
    k = kernel()
    with k.db.scope(tenant_id=tenant_id) as session:
        participant = session.get(Participant, participant_id)
        account_id = participant.account_id if participant else None
        account = session.get(Account, account_id) if account_id is not None else None
        if account is None:
            return None
        brand = brand_of(session)
        refused = decision == "refused"
        mail = compose(
            session,
            "proposal_decision",
            kind=f"proposal_{decision}",
            brand=brand,
            to=account.email,
            first_name=account.first_name,
            proposal=proposal_text,
            reason=refusal_reason_label(reason, brand.locale) if refused else None,
            note=note if refused else None,
            url=url,
        )
    return k.mailer.send(mail)
