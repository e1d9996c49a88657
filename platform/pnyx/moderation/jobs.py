"""Moderation's jobs (RQ, or inline on the embedded default): ids in, idempotent."""

from __future__ import annotations


def detect_lockstep(tenant_id: int, consultation_id: int) -> dict:
    """Find and store the consultation's lockstep groups (see :mod:`.integrity`)."""
    from . import integrity

    run = integrity.run_detection(int(tenant_id), int(consultation_id))
    return {
        "consultation_id": run.consultation_id,
        "votes": run.votes,
        "found": run.found,
        "flagged": run.flagged,
        "cleared": run.cleared,
        "dropped": run.dropped,
        "skipped": run.skipped,
    }
