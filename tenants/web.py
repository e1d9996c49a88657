"""Host → tenant for every request: normalise, look up (cached), bind the request to it."""

from __future__ import annotations

from flask import Flask, g, request

from pnyx.kernel.errors import Forbidden, NotFound
from pnyx.kernel.i18n import N_
from pnyx.web.context import close_db, kernel, note_read_answered

from .hosts import normalise_host
from .service import HostResolver

# The same on every host: the unknown host's error page needs its styles and icon too.
HOSTLESS_ENDPOINTS = frozenset({"static", "pages.vendor", "pages.favicon"})


def init_app(app: Flask) -> HostResolver:
    resolver = HostResolver(ttl=kernel_config(app).host_cache_ttl)
    app.extensions["pnyx.hosts"] = resolver

    @app.before_request
    def _bind_tenant():
        host = normalise_host(request.host)  # InvalidHost → 400 invalid_host
        g.host = host
        config = app.extensions["pnyx"].config
        if host == config.operator_host:
            g.tenant, g.realm = None, "operator"
            return None
        found, tenant = resolver.cached(host)
        if not found:
            with kernel().db.session() as lookup:
                tenant = resolver.resolve(lookup, host)
        if tenant is None:
            g.tenant, g.realm = None, "unknown"
            if request.endpoint in HOSTLESS_ENDPOINTS:  # the error page's own styles and icon
                return None
            raise NotFound(
                N_("No consultation platform answers at %(host)s.", host=host), code="unknown_host"
            )
        g.tenant, g.realm = tenant, "tenant"
        if not tenant.is_active:
            raise Forbidden(N_("This platform is suspended."), code="tenant_suspended")
        return None

    app.after_request(note_read_answered)
    app.teardown_request(close_db)
    return resolver


def kernel_config(app: Flask):
    return app.extensions["pnyx"].config
