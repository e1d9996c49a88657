"""A new citizen's journey in a real Chromium, against a real server, checked by axe-core.

Open the tenant's home, read the question, vote on cards with qualifications, sign up (a wrong
postal code first), propose "Il faut …" and see it pending; the tenant admin, in a second
browser context, accepts it; the citizen then votes on it. axe-core runs on every page of the
journey and any violation of impact serious or critical fails the test.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, PLATFORM_DOMAIN, REQUIRE_SERVICES

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    # Tenants live on <slug>.pnyx.test: every such name is this machine.
    f"--host-resolver-rules=MAP *.{PLATFORM_DOMAIN} 127.0.0.1",
]
SLUG = "vivre-en-bretagne"


def _require_chromium() -> None:
    if CHROMIUM.exists() and AXE.exists():
        return
    reason = f"needs {CHROMIUM} and {AXE}"
    if REQUIRE_SERVICES or os.environ.get("PNYX_REQUIRE_SERVICES") == "1":
        pytest.fail(f"PNYX_REQUIRE_SERVICES=1 but this test {reason}")
    pytest.skip(reason)


@pytest.fixture()
def server(world, database):
    """The app on a free port of 127.0.0.1, the demo consultation seeded on both tenants."""
    _require_chromium()
    from werkzeug.serving import make_server

    from pnyx.demo_content import DEMO_CITIZENS, DEMO_CONSULTATIONS
    from pnyx.seed import seed_consultation

    for tenant_id, demo, domain in (
        (world.alpha_id, "bretagne", "alpha.test"),
        (world.beta_id, "lyon", "beta.test"),
    ):
        with database.scope(tenant_id=tenant_id) as session:
            seed_consultation(
                session,
                DEMO_CONSULTATIONS[demo],
                DEMO_CITIZENS[demo],
                email_domain=domain,
                voters=3,
            )
    httpd = make_server("127.0.0.1", 0, world.app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://alpha.{PLATFORM_DOMAIN}:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=5)


@pytest.fixture()
def browser():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Axe:
    """Runs axe-core on a page; keeps every serious or critical violation with where it was."""

    SEVERE = ("serious", "critical")

    def __init__(self) -> None:
        self.checked: list[str] = []
        self.violations: list[str] = []
        self.lesser: list[str] = []

    def check(self, page, label: str) -> None:
        # Through the DevTools protocol: the pages' Content-Security-Policy allows no inline
        # script, and it stays on in this test.
        page.evaluate(AXE.read_text() + "\n;undefined")
        found = page.evaluate(
            """() => axe.run().then(r => r.violations.map(v => ({
                id: v.id, impact: v.impact,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})))"""
        )
        self.checked.append(label)
        for v in found:
            where = f"{label}: {v['id']} ({v['impact']}) at {v['nodes']}"
            (self.violations if v["impact"] in self.SEVERE else self.lesser).append(where)


def admin_page(browser, server: str):
    """Alpha's tenant admin, logged in through the login page in a browser context of their
    own, on the administration's home."""
    admin = browser.new_context(locale="fr-FR").new_page()
    admin.set_default_timeout(10_000)
    admin.goto(server + "/login?next=/admin/")
    admin.get_by_label("E-mail").fill("admin@alpha.test")
    admin.get_by_label("Mot de passe").fill(PASSWORD)
    admin.get_by_role("button", name="Se connecter").click()
    admin.wait_for_url("**/admin/")
    return admin


def test_citizen_journey(server, browser):
    axe = Axe()
    citizen = browser.new_context(locale="fr-FR")
    page = citizen.new_page()
    page.set_default_timeout(10_000)

    # The tenant's home lists its consultations; the open one: the question, goals, steps.
    page.goto(server + "/")
    axe.check(page, "tenant home")
    link = page.locator(f'main a[href="/c/{SLUG}"]')
    assert link.inner_text().startswith("Comment améliorer")
    page.goto(server + f"/c/{SLUG}")
    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text() == "Comment améliorer les conditions de vie dans votre territoire ?"
    assert page.locator("progress").count() == 3
    axe.check(page, "consultation home")

    # Vote on three cards, each with qualifications of its own key (htmx swaps the card).
    page.get_by_role("link", name="Voter sur les propositions").click()
    page.wait_for_url(f"**/c/{SLUG}/participer")
    page.get_by_role("heading", name="Comment ça marche").wait_for()
    axe.check(page, "sequence intro")
    page.get_by_role("button", name="Commencer").click()
    page.locator(".card-position", has_text="Carte 1 sur").wait_for()
    axe.check(page, "cards")
    choices = [
        ("D'accord", "Coup de cœur"),
        ("Pas d'accord", "Infaisable"),
        ("Neutre", "Pas compris"),
    ]
    for index, (key, qualification) in enumerate(choices, start=1):
        card = page.locator("#card")
        assert f"Carte {index} sur" in card.locator(".card-position").inner_text()
        card.get_by_role("button", name=key, exact=True).click()
        page.get_by_role("checkbox", name=qualification).check()
        if index == 1:
            axe.check(page, "card qualifications")
        page.get_by_role("button", name="Suivante").click()
        if index < len(choices):
            page.locator(".card-position", has_text=f"Carte {index + 1} sur").wait_for()
    # After three cards, what is unknown of an anonymous voter's segment is asked, once.
    page.get_by_role("heading", name="Une question sur vous").wait_for()
    page.get_by_label("Code postal").fill("350")
    page.get_by_role("button", name="Enregistrer").click()
    assert "5 chiffres" in page.locator("#postal_code-error").inner_text()
    axe.check(page, "segment card with an error")
    page.get_by_label("Année de naissance").fill("1990")
    page.get_by_label("Code postal").fill("35000")
    page.get_by_role("button", name="Enregistrer").click()
    page.locator(".card-position", has_text="Carte 4 sur").wait_for()

    # Sign up: a malformed postal code is explained beside the field; what was typed stays.
    page.get_by_role("link", name="S'inscrire").first.click()
    page.get_by_label("E-mail").fill("nouvelle@alpha.test")
    page.get_by_label("Mot de passe").fill("un-mot-de-passe-solide")
    page.get_by_label("Prénom").fill("Gwen")
    page.get_by_label("Année de naissance").fill("1990")
    page.get_by_label("Code postal").fill("350")
    page.get_by_role("button", name="Créer mon compte").click()
    assert (
        page.locator("#postal_code-error").inner_text() == "Un code postal français a 5 chiffres."
    )
    assert page.get_by_label("E-mail").input_value() == "nouvelle@alpha.test"
    axe.check(page, "sign-up with an error")
    page.get_by_label("Mot de passe").fill("un-mot-de-passe-solide")
    page.get_by_label("Code postal").fill("35000")
    page.get_by_role("button", name="Créer mon compte").click()
    page.wait_for_load_state()
    assert "/inscription" not in page.url
    # The anonymous votes are the account's now.
    page.goto(server + f"/c/{SLUG}/participer")
    assert "Carte 4 sur" in page.locator(".card-position").inner_text()
    # After six votes, an invitation to propose; at the end of the sequence, a closing card.
    while not page.get_by_role("heading", name="Vous avez une idée ?").is_visible():
        page.locator("#card").get_by_role("button", name="Neutre", exact=True).click()
        page.get_by_role("button", name="Suivante").click()
        page.locator(".qualify-form").wait_for(state="detached")  # the next card is in
    axe.check(page, "invitation to propose")
    page.get_by_role("button", name="Continuer à voter").click()
    while not page.get_by_role("heading", name="Merci !").is_visible():
        page.locator("#card").get_by_role("button", name="D'accord", exact=True).click()
        page.get_by_role("button", name="Suivante").click()
        page.locator(".qualify-form").wait_for(state="detached")  # the next card is in
    axe.check(page, "end of the sequence")
    assert "Propositions votées dans cette série\u00a0: 12." in page.locator("#card").inner_text()

    # Propose; the author sees it pending.
    page.goto(server + f"/c/{SLUG}/proposer")
    box = page.get_by_label("Votre proposition")
    assert box.input_value() == "Il faut "
    text = "Il faut des navettes électriques entre les îles et le continent"
    box.fill(text)
    axe.check(page, "propose")
    page.get_by_role("button", name="Envoyer ma proposition").click()
    mine = page.locator("#mine")
    mine.wait_for()
    assert text in mine.inner_text() and "en attente" in mine.inner_text()

    # The tenant admin, in another browser context, accepts it with a theme.
    admin = admin_page(browser, server)
    axe.check(admin, "admin home")
    admin.get_by_role("link", name="propositions à modérer").first.click()
    item = admin.locator(".moderation-item", has_text=text)
    item.get_by_role("checkbox", name="Mobilités").check()
    axe.check(admin, "moderation")
    item.get_by_role("button", name="Accepter").click()
    admin.get_by_text("Proposition acceptée.").wait_for()
    admin.goto(server + f"/c/{SLUG}/resultats")  # provisional: the consultation is open
    admin.get_by_text("Résultats provisoires").wait_for()
    axe.check(admin, "results")
    admin.get_by_role("link", name="Le rapport, à imprimer ou enregistrer en PDF").click()
    admin.get_by_role("heading", name="Résultats par zone").wait_for()
    axe.check(admin, "report")

    # The citizen finds it published and votes on it.
    page.reload()
    assert "acceptée" in page.locator("#mine").inner_text()
    page.locator("#mine").get_by_role("link", name=text).click()
    page.wait_for_url("**/p/*")
    axe.check(page, "proposal page")
    page.get_by_role("button", name="D'accord", exact=True).click()
    page.get_by_role("checkbox", name="Réaliste").check()
    page.get_by_role("button", name="Enregistrer").click()
    assert "D'accord" in page.locator(".voted-as").inner_text()
    page.goto(server + f"/c/{SLUG}/explorer?q=navettes")
    assert text in page.locator(".proposal-list").inner_text()
    axe.check(page, "explore")
    page.goto(server + "/profil")
    assert "Commune rurale" not in page.locator("#territory").inner_text()  # Rennes is a city
    axe.check(page, "profile")
    page.goto(server + "/profil?lang=en")
    page.get_by_role("link", name="Français").wait_for()  # the header offers the other language
    axe.check(page, "profile in English")

    print(f"axe-core: {len(axe.checked)} pages checked: {', '.join(axe.checked)}")
    print("axe-core, minor or moderate:", axe.lesser or "none")
    assert not axe.violations, "\n".join(axe.violations)
