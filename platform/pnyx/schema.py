"""Every model module, imported once so that ``Base.metadata`` knows every table."""

from billing import models as billing_models  # noqa: F401
from pnyx.consultations import models as consultations_models  # noqa: F401
from pnyx.identity import models as identity_models  # noqa: F401
from pnyx.kernel.db import Base
from pnyx.moderation import integrity_models  # noqa: F401
from pnyx.moderation import models as moderation_models  # noqa: F401
from tenants import models as tenants_models  # noqa: F401
from themes import models as themes_models  # noqa: F401

metadata = Base.metadata
