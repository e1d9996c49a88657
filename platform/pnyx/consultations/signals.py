"""What consultations tell the rooms above them (rotation, moderation, results), after commit."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# sender: the consultation id; kwargs: tenant_id, proposal_id
vote_changed = _signals.signal("vote-changed")
# sender: the consultation id; kwargs: tenant_id, proposal_id, status
proposal_changed = _signals.signal("proposal-changed")
