"""The WSGI entry point: ``gunicorn pnyx.wsgi:app`` (production, and the benchmarks).

The app is built once per process from the environment (see :mod:`pnyx.kernel.config`);
run it with ``platform/`` on ``PYTHONPATH`` (and the repository root, for ``tenants``,
``themes`` and ``billing``).
"""

from __future__ import annotations

from pnyx.app import create_app

app = create_app()
