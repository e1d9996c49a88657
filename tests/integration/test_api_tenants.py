"""The operator's tenant API, a tenant describing itself, and bad input answered as problems."""

import json

from tests.conftest import OPERATOR_HOST


def problem(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == code, body
    assert body["status"] == status
    return body


NEW = {"slug": "gamma", "kind": "city", "name": "Ville Gamma", "theme_pack": "lyon"}


def test_operator_creates_lists_and_suspends_tenants(world):
    op = world.operator()
    created = op.post("/api/v1/tenants", json=NEW)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["host"] == "gamma.pnyx.test" and body["status"] == "active"

    listing = op.get("/api/v1/tenants").get_json()
    assert listing["total"] == 3
    assert [t["slug"] for t in listing["items"]] == ["alpha", "beta", "gamma"]

    home = world.client("gamma").get("/")
    assert home.status_code == 200 and "Ville Gamma" in home.get_data(as_text=True)
    assert "--pnyx-primary:#c8102e" in home.get_data(as_text=True)

    suspended = op.post(f"/api/v1/tenants/{body['id']}/suspend")
    assert suspended.get_json()["status"] == "suspended"
    problem(world.client("gamma").get("/api/v1/tenant"), 403, "tenant_suspended")
    assert world.client("gamma").get("/").status_code == 403
    op.post(f"/api/v1/tenants/{body['id']}/reactivate")
    assert world.client("gamma").get("/").status_code == 200


def test_tenant_routes_need_an_operator(world):
    anonymous = world.client()
    problem(anonymous.get("/api/v1/tenants"), 401, "unauthorized")
    problem(anonymous.post("/api/v1/tenants", json=NEW), 401, "unauthorized")
    # On a tenant host the operator's routes do not exist, even for the tenant's admin.
    problem(world.admin("alpha").get("/api/v1/tenants"), 404, "not_found")


def test_duplicate_and_reserved_slugs(world):
    op = world.operator()
    assert op.post("/api/v1/tenants", json=NEW).status_code == 201
    problem(op.post("/api/v1/tenants", json=NEW), 409, "slug_taken")
    problem(op.post("/api/v1/tenants", json={**NEW, "slug": "www"}), 422, "reserved_name")
    problem(op.post("/api/v1/tenants", json={**NEW, "slug": "Bad Slug"}), 422, "invalid_slug")
    assert op.get("/api/v1/tenants").get_json()["total"] == 3


def test_bad_input_is_a_problem_and_writes_nothing(world):
    op = world.operator()
    body = problem(op.post("/api/v1/tenants", json={**NEW, "colour": "red"}), 422, "unknown_field")
    assert "colour" in body["errors"]
    body = problem(op.post("/api/v1/tenants", json={"slug": "x"}), 422, "validation_failed")
    assert {"kind", "name"} <= set(body["errors"])
    problem(
        op.post("/api/v1/tenants", data="{not json", headers={"Content-Type": "application/json"}),
        400,
        "invalid_json",
    )
    problem(op.post("/api/v1/tenants", json=[1, 2]), 422, "validation_failed")
    problem(
        op.post("/api/v1/tenants", json={**NEW, "timezone": "Mars/Olympus"}),
        422,
        "validation_failed",
    )
    problem(
        op.post("/api/v1/tenants", json={**NEW, "theme_pack": "nope"}), 422, "unknown_theme_pack"
    )
    big = json.dumps({**NEW, "name": "x" * 2_000_000})
    problem(
        op.post("/api/v1/tenants", data=big, headers={"Content-Type": "application/json"}),
        413,
        "payload_too_large",
    )
    assert op.get("/api/v1/tenants").get_json()["total"] == 2
    assert world.client("gamma").get("/").status_code == 404


def test_custom_domains_route_once_verified(world):
    op = world.operator()
    host = op.post(
        f"/api/v1/tenants/{world.alpha_id}/hosts", json={"host": "Consultation.Alpha-Region.FR"}
    )
    assert host.status_code == 201, host.get_json()
    assert host.get_json() | {"id": 0} == {
        "id": 0,
        "host": "consultation.alpha-region.fr",
        "kind": "custom",
        "verified": False,
    }
    from tests.conftest import HostClient

    custom = HostClient(world.app, "consultation.alpha-region.fr")
    problem(custom.get("/api/v1/tenant"), 404, "unknown_host")
    op.post(f"/api/v1/tenants/{world.alpha_id}/hosts/{host.get_json()['id']}/verify")
    assert custom.get("/api/v1/tenant").get_json()["slug"] == "alpha"
    problem(
        op.post(
            f"/api/v1/tenants/{world.beta_id}/hosts", json={"host": "consultation.alpha-region.fr"}
        ),
        409,
        "host_taken",
    )
    problem(
        op.post(f"/api/v1/tenants/{world.beta_id}/hosts", json={"host": "beta.pnyx.test"}),
        422,
        "reserved_name",
    )


def test_a_tenant_host_describes_itself(world):
    body = world.client("alpha").get("/api/v1/tenant").get_json()
    assert (
        body["slug"] == "alpha"
        and body["kind"] == "region"
        and body["hosts"] == ["alpha.pnyx.test"]
    )
    assert body["theme"]["primary"].startswith("#")
    assert world.client("beta").get("/api/v1/tenant").get_json()["name"] == "Tenant Beta"


def test_hosts(world):
    from tests.conftest import HostClient

    problem(HostClient(world.app, "nobody.pnyx.test").get("/api/v1/tenant"), 404, "unknown_host")
    unknown_page = HostClient(world.app, "nobody.pnyx.test").get("/")
    assert unknown_page.status_code == 404 and "unknown_host" in unknown_page.get_data(as_text=True)
    assert 'href="/login"' not in unknown_page.get_data(as_text=True)  # nothing to log in to
    nobody = HostClient(world.app, "nobody.pnyx.test")
    assert nobody.get("/static/pnyx.css").status_code == 200  # the error page's own styles
    assert nobody.get("/favicon.ico").status_code == 301
    assert nobody.get("/c/anything").status_code == 404
    problem(HostClient(world.app, "bad_host!").get("/api/v1/tenant"), 400, "invalid_host")
    problem(HostClient(world.app, "ALPHA.pnyx.test:8000").get("/api/v1/nothing"), 404, "not_found")
    assert HostClient(world.app, "ALPHA.pnyx.test:8000").get("/api/v1/tenant").status_code == 200


def test_tokens_are_bound_to_their_host(world):
    alpha = world.participant("alpha")
    assert alpha.get("/api/v1/auth/me").get_json()["email"] == "citizen@alpha.test"
    stolen = world.client("beta")
    stolen.token = alpha.token
    problem(stolen.get("/api/v1/auth/me"), 401, "token_invalid")
    on_operator = world.client()
    on_operator.token = alpha.token
    problem(on_operator.get("/api/v1/tenants"), 401, "token_invalid")
    problem(
        world.client("alpha").post(
            "/api/v1/auth/token",
            json={"email": "citizen@beta.test", "password": "correct-horse-battery"},
        ),
        401,
        "invalid_credentials",
    )
    # Log out everywhere: the token stops working.
    assert alpha.delete("/api/v1/auth/token").status_code == 204
    problem(alpha.get("/api/v1/auth/me"), 401, "token_invalid")


def test_openapi_and_docs(world):
    client = world.client()
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    assert "/api/v1/tenants" in spec["paths"]
    docs = client.get("/api/docs").get_data(as_text=True)
    assert "/vendor/swagger-ui-dist/" in docs
    asset = client.get("/vendor/swagger-ui-dist/swagger-ui-bundle.js")
    assert asset.status_code == 200
    assert client.get("/vendor/left-pad/index.js").status_code == 404


def test_operator_host_is_not_a_tenant(world):
    assert OPERATOR_HOST.startswith("admin.")
    problem(world.client().get("/api/v1/tenant"), 404, "not_found")
