"""A tenant admin builds the coalition in a real Chromium; visitors see it on the home page.

The admin opens the partners page, adds a founding partner (a bad website address first: the
message sits by the field and what was typed stays), uploads its logo, then an associate
partner without one. A visitor, in another browser context, finds both on the consultation's
home, by tier, the logo really loaded (served by the app, allowed by its Content-Security-Policy).
axe-core checks every page; the other tenant's home shows none of them.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.e2e.test_citizen_journey import (  # noqa: F401 - browser, server: fixtures
    SLUG,
    Axe,
    admin_page,
    browser,
    server,
)

pytestmark = pytest.mark.e2e


def test_admin_adds_partners_and_visitors_see_them(server, browser, tmp_path):  # noqa: F811
    axe = Axe()
    logo = tmp_path / "logo.png"
    buffer = io.BytesIO()
    Image.new("RGB", (600, 200), (10, 80, 160)).save(buffer, format="PNG")
    logo.write_bytes(buffer.getvalue())

    admin = admin_page(browser, server)
    admin.get_by_role("link", name="Partenaires").click()
    admin.get_by_text("Aucun partenaire pour l’instant.").wait_for()
    axe.check(admin, "partners (empty)")

    admin.get_by_role("link", name="Ajouter un partenaire").click()
    admin.get_by_label("Nom", exact=True).fill("Fondation du Littoral")
    admin.get_by_label("Rang", exact=True).select_option("founding")
    admin.get_by_label("Site web").fill("littoral.example")
    admin.get_by_role("button", name="Enregistrer").click()
    error = admin.locator("#website_url-error")
    error.wait_for()
    assert "https://" in error.inner_text()
    assert admin.get_by_label("Nom", exact=True).input_value() == "Fondation du Littoral"
    axe.check(admin, "partner form with an error")

    admin.get_by_label("Site web").fill("https://littoral.example")
    admin.get_by_label("Logo", exact=True).set_input_files(str(logo))
    admin.get_by_role("button", name="Enregistrer").click()
    admin.get_by_text("Enregistré.").wait_for()
    axe.check(admin, "partner saved")

    admin.get_by_role("link", name="Partenaires").click()
    admin.get_by_role("link", name="Ajouter un partenaire").click()
    admin.get_by_label("Nom", exact=True).fill("Commune de Plouha")
    admin.get_by_label("Rang", exact=True).select_option("associate")
    admin.get_by_role("button", name="Enregistrer").click()
    admin.get_by_text("Enregistré.").wait_for()
    admin.get_by_role("link", name="Partenaires").click()
    admin.get_by_role("heading", name="Partenaires fondateurs").first.wait_for()
    axe.check(admin, "partners")

    visitor = browser.new_context(locale="fr-FR").new_page()
    visitor.set_default_timeout(10_000)
    visitor.goto(server + f"/c/{SLUG}")
    partners = visitor.locator("#partners")
    partners.get_by_role("heading", name="Nos partenaires").wait_for()
    image = partners.get_by_role("img", name="Fondation du Littoral")
    image.scroll_into_view_if_needed()
    visitor.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    assert image.evaluate("img => img.naturalWidth") == 480  # stored at most 480 × 240
    founding = partners.locator(".partner-logos-founding")
    assert founding.get_by_role("link").first.get_attribute("href") == "https://littoral.example"
    assert "Commune de Plouha" in partners.locator(".partner-logos-associate").inner_text()
    axe.check(visitor, "consultation home with partners")

    other = server.replace("//alpha.", "//beta.")
    visitor.goto(other + "/c/lyon-2030")
    visitor.get_by_role("heading", level=1).wait_for()
    assert visitor.locator("#partners").count() == 0

    print(f"axe-core: {len(axe.checked)} pages checked: {', '.join(axe.checked)}")
    print("axe-core, minor or moderate:", axe.lesser or "none")
    assert not axe.violations, "\n".join(axe.violations)
