"""Identity edge cases."""

from tests.integration.test_api_tenants import problem


def test_a_deleted_accounts_token_never_logs_in_a_newer_account(world):
    """Ids are never given again (AUTOINCREMENT on SQLite, sequences on PostgreSQL)."""
    first = world.client("alpha")
    signed = first.post(
        "/api/v1/participants",
        json={
            "email": "gone@alpha.test",
            "password": "a-long-password",
            "first_name": "A",
            "birth_year": 1980,
            "postal_code": "35000",
        },
    ).get_json()
    first.token = signed["token"]
    assert (
        first.delete("/api/v1/participants/me", json={"password": "a-long-password"}).status_code
        == 204
    )
    second = (
        world.client("alpha")
        .post(
            "/api/v1/participants",
            json={
                "email": "next@alpha.test",
                "password": "a-long-password",
                "first_name": "B",
                "birth_year": 1980,
                "postal_code": "35000",
            },
        )
        .get_json()
    )
    assert second["participant"]["id"] != signed["participant"]["id"]
    stale = world.client("alpha")
    stale.token = signed["token"]
    problem(stale.get("/api/v1/auth/me"), 401, "token_invalid")


def test_client_address_comes_from_trusted_proxies_only(config):
    from flask import request

    from pnyx.app import create_app

    def remote_addr():
        return request.remote_addr or ""

    for hops, expected in ((0, "127.0.0.1"), (1, "203.0.113.5")):
        app = create_app(config.but(proxy_hops=hops))
        app.add_url_rule("/_remote_addr", view_func=remote_addr)
        response = app.test_client().get(
            "/_remote_addr",
            base_url="http://admin.pnyx.test",
            headers={"X-Forwarded-For": "203.0.113.5"},
        )
        assert response.get_data(as_text=True) == expected
        app.extensions["pnyx"].close()


def test_csrf_is_checked_whatever_the_content_type(world):
    """A cross-site form can post text/plain: it must not slip past the token check."""
    client = world.client("alpha")
    client.get("/inscription")
    response = client.post(
        "/inscription", data="email=x@y.z", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 400 and "csrf_failed" in response.get_data(as_text=True)
