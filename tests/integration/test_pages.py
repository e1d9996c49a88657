"""Pages: each tenant's home in its own name and colours; the themed 404; login; i18n."""


def test_each_tenant_home_shows_its_name_and_colours(world):
    alpha = world.client("alpha").get("/").get_data(as_text=True)
    beta = world.client("beta").get("/").get_data(as_text=True)
    assert "Tenant Alpha" in alpha and "Tenant Beta" not in alpha
    assert "--pnyx-primary:#111111" in alpha  # bretagne pack
    assert "--pnyx-primary:" in beta and "--pnyx-primary:#111111" not in beta
    assert '<html lang="fr">' in alpha and "Aller au contenu" in alpha


def test_english_on_request(world):
    page = world.client("alpha").get("/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in page and "Skip to content" in page


def test_unknown_host_gets_a_themed_404(world):
    from tests.conftest import HostClient

    response = HostClient(world.app, "nobody.pnyx.test").get("/")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "--pnyx-primary" in page and "unknown_host" in page


def test_login_keeps_the_typed_email_on_error_and_cookie_is_host_only(world):
    client = world.client("alpha")
    failed = client.post_form("/login", data={"email": "citizen@alpha.test", "password": "wrong"})
    assert failed.status_code == 401
    assert 'value="citizen@alpha.test"' in failed.get_data(as_text=True)
    empty = client.post_form("/login", data={"email": "citizen@alpha.test", "password": ""})
    assert empty.status_code == 422 and 'value="citizen@alpha.test"' in empty.get_data(as_text=True)
    assert "Saisissez votre adresse e-mail et votre mot de passe." in empty.get_data(as_text=True)
    ok = client.post_form(
        "/login", data={"email": "citizen@alpha.test", "password": "correct-horse-battery"}
    )
    assert ok.status_code == 302
    cookie = ok.headers["Set-Cookie"]
    assert "pnyx_session=" in cookie and "Domain=" not in cookie and "HttpOnly" in cookie
    assert "Se déconnecter" in client.get("/").get_data(as_text=True)
    # The same cookie sent to another tenant's host is not a session there.
    stolen = world.client("beta")
    stolen.client.set_cookie(
        "pnyx_session", cookie.split(";")[0].split("=", 1)[1], domain="beta.pnyx.test"
    )
    assert "Se connecter" in stolen.get("/").get_data(as_text=True)


def test_operator_console_lists_tenants_after_login(world):
    client = world.client()
    assert "Console opérateur" in client.get("/").get_data(as_text=True)
    client.post_form(
        "/login", data={"email": "operator@pnyx.test", "password": "correct-horse-battery"}
    )
    page = client.get("/").get_data(as_text=True)
    assert "Tenant Alpha" in page and "Tenant Beta" in page
    assert '<a href="//alpha.pnyx.test/">alpha.pnyx.test</a>' in page  # a link to its host
    assert "<td>actif</td>" in page and "<td>active</td>" not in page  # in the reader's words


def test_login_needs_the_forms_token(world):
    client = world.client("alpha")
    forged = client.post(
        "/login", data={"email": "citizen@alpha.test", "password": "correct-horse-battery"}
    )
    assert forged.status_code == 400 and "csrf_failed" in forged.get_data(as_text=True)
    # A token that is not even ASCII is as wrong, not an error of ours.
    client.get("/login")  # the session now holds a token
    forged = client.post("/login", data={"csrf_token": "jeton-forgé", "email": "a@b.fr"})
    assert forged.status_code == 400 and "csrf_failed" in forged.get_data(as_text=True)


def test_every_answer_carries_the_security_headers(world):
    from pnyx.web.security import DOCS_POLICY, POLICY

    client = world.client("alpha")
    for path in ("/", "/api/v1/consultations", "/nowhere", "/static/pnyx.css"):
        headers = client.get(path).headers
        assert headers["Content-Security-Policy"] == POLICY, path
        assert "script-src 'self';" in POLICY and "frame-ancestors 'self'" in POLICY
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert "Strict-Transport-Security" not in headers  # plain HTTP here
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and docs.headers["Content-Security-Policy"] == DOCS_POLICY
    secure = client.client.get("/", base_url="https://alpha.pnyx.test")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_the_favicon_has_the_usual_address_too(world):
    response = world.client("alpha").get("/favicon.ico")
    assert response.status_code == 301 and response.headers["Location"].endswith(
        "/static/favicon.svg"
    )
