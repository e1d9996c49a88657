"""Results' background jobs: they take ids and open their own tenant-bound session."""

from __future__ import annotations

from pnyx.kernel.runtime import kernel

from . import service


def refresh_opinion_groups(tenant_id: int, consultation_id: int) -> int:
    """Recompute a consultation's opinion groups (:func:`service.kept_opinion_groups` asks for
    it); returns the number of voters placed. Idempotent."""
    k = kernel()
    with k.db.scope(tenant_id=tenant_id) as session:
        return service.refresh_opinion_groups(session, k.store, consultation_id).placed
