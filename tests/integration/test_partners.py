"""The coalition: partners by tier with logos, in the API, the admin pages and on the homes."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from tests import factories
from tests.conftest import PASSWORD
from tests.integration.test_api_tenants import problem


def image_bytes(fmt: str = "PNG", size=(800, 400), color=(200, 30, 60), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt, **save)
    return out.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares these dimensions, with (nearly) no pixels behind them."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b""))


def bilevel_png(width: int, height: int) -> bytes:
    """A blank 1-bit PNG: a few KB on the wire, huge once decoded (a decompression bomb)."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height, 9))
        + chunk(b"IEND", b"")
    )


def upload(client, partner_id: int, data: bytes, name: str = "logo.png"):
    return client.put(
        f"/api/v1/partners/{partner_id}/logo",
        data={"logo": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def add(client, **fields):
    body = {"name": "Banque des Territoires", "tier": "founding", **fields}
    response = client.post("/api/v1/partners", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# -- the API ----------------------------------------------------------------------------------


def test_admins_build_the_coalition_and_everyone_reads_it_founding_first(world):
    admin = world.admin("alpha")
    add(admin, name="Région partenaire", tier="associate", position=2)
    add(admin, name="Fondation B", tier="founding", position=5)
    add(
        admin,
        name="Fondation A",
        tier="founding",
        position=5,
        website_url="https://fondation-a.example.org/",
    )
    add(admin, name="Mutuelle", tier="associate", position=1)

    listed = world.client("alpha").get("/api/v1/partners").get_json()
    assert [(p["name"], p["tier"]) for p in listed] == [
        ("Fondation A", "founding"),  # same position: by name
        ("Fondation B", "founding"),
        ("Mutuelle", "associate"),
        ("Région partenaire", "associate"),
    ]
    assert listed[0]["website_url"] == "https://fondation-a.example.org/"
    assert listed[0]["logo_url"] is None

    changed = admin.patch(
        f"/api/v1/partners/{listed[3]['id']}", json={"tier": "founding", "position": 0}
    ).get_json()
    assert (changed["tier"], changed["position"], changed["name"]) == (
        "founding",
        0,
        "Région partenaire",
    )
    assert world.client("alpha").get("/api/v1/partners").get_json()[0]["name"] == (
        "Région partenaire"
    )
    assert admin.delete(f"/api/v1/partners/{listed[1]['id']}").status_code == 204
    problem(admin.get(f"/api/v1/partners/{listed[1]['id']}"), 404, "partner_not_found")


def test_only_tenant_admins_change_partners(world):
    alpha = add(world.admin("alpha"))
    body = {"name": "Autre", "tier": "associate"}
    problem(world.client("alpha").post("/api/v1/partners", json=body), 401, "unauthorized")
    citizen = world.participant("alpha")
    problem(citizen.post("/api/v1/partners", json=body), 403, "forbidden")
    problem(citizen.patch(f"/api/v1/partners/{alpha['id']}", json=body), 403, "forbidden")
    problem(citizen.delete(f"/api/v1/partners/{alpha['id']}"), 403, "forbidden")
    problem(upload(citizen, alpha["id"], image_bytes()), 403, "forbidden")
    problem(world.operator().get("/api/v1/partners"), 404, "not_found")  # no tenant there


def test_another_tenants_partner_does_not_exist(world):
    alpha = add(world.admin("alpha"), name="Partenaire d'Alpha")
    beta_admin = world.admin("beta")
    assert world.client("beta").get("/api/v1/partners").get_json() == []
    path = f"/api/v1/partners/{alpha['id']}"
    problem(beta_admin.get(path), 404, "partner_not_found")
    problem(beta_admin.patch(path, json={"name": "Volé"}), 404, "partner_not_found")
    problem(beta_admin.delete(path), 404, "partner_not_found")
    problem(upload(beta_admin, alpha["id"], image_bytes()), 404, "partner_not_found")
    problem(beta_admin.delete(f"{path}/logo"), 404, "partner_not_found")
    assert world.client("alpha").get(path).get_json()["name"] == "Partenaire d'Alpha"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"tier": "gold"}, "tier"),
        ({"website_url": "javascript:alert(1)"}, "website_url"),
        ({"website_url": "ftp://example.org"}, "website_url"),
        ({"website_url": "https://exa mple.org"}, "website_url"),
        ({"website_url": "https://" + "a" * 300 + ".org"}, "website_url"),
        ({"position": -1}, "position"),
        ({"position": 10_000}, "position"),
    ],
)
def test_bad_partner_fields_are_refused_by_name(world, fields, field):
    admin = world.admin("alpha")
    body = {"name": "Fondation", "tier": "founding", **fields}
    answer = problem(admin.post("/api/v1/partners", json=body), 422, "validation_failed")
    assert list(answer["errors"]) == [field]
    assert world.client("alpha").get("/api/v1/partners").get_json() == []


def test_international_web_addresses_are_accepted(world):
    partner = add(world.admin("alpha"), website_url="https://café.example/à-propos")
    assert partner["website_url"] == "https://café.example/à-propos"


def test_partner_api_refuses_unknown_fields_and_wrong_types(world):
    admin = world.admin("alpha")
    problem(
        admin.post("/api/v1/partners", json={"name": "A", "tier": "founding", "amount": 1}),
        422,
        "unknown_field",
    )
    answer = problem(
        admin.post("/api/v1/partners", json={"name": "A", "tier": "founding", "position": "x"}),
        422,
        "validation_failed",
    )
    assert "position" in answer["errors"]
    problem(admin.post("/api/v1/partners", json={"tier": "founding"}), 422, "validation_failed")


def test_a_logo_is_stored_as_a_bounded_png_and_served_on_its_tenants_host_only(world):
    admin = world.admin("alpha")
    partner = add(admin)
    jpeg = image_bytes("JPEG", size=(2000, 1000), exif=b"Exif\x00\x00secret-camera")
    body = upload(admin, partner["id"], jpeg, "logo.jpg").get_json()
    url = body["logo_url"]
    assert url.startswith(f"/files/public/{world.alpha_id}/partners/{partner['id']}-")
    assert url.endswith(".png")

    served = world.client("alpha").get(url)
    assert served.status_code == 200 and served.mimetype == "image/png"
    assert "max-age=31536000" in served.headers["Cache-Control"]
    stored = Image.open(io.BytesIO(served.data))
    assert stored.format == "PNG" and stored.size == (480, 240)
    assert b"secret-camera" not in served.data
    assert world.client("beta").get(url).status_code == 404
    assert world.client("alpha").get("/files/public/../../etc/passwd").status_code == 404
    assert world.client().get(url).status_code == 404  # the operator's host

    # A new logo replaces the file; removing it forgets the file too.
    second = upload(admin, partner["id"], image_bytes(color=(0, 90, 200))).get_json()["logo_url"]
    assert second != url
    assert world.client("alpha").get(url).status_code == 404
    assert world.client("alpha").get(second).status_code == 200
    assert admin.delete(f"/api/v1/partners/{partner['id']}/logo").get_json()["logo_url"] is None
    assert world.client("alpha").get(second).status_code == 404


def test_a_deleted_partner_takes_its_logo_with_it(world):
    admin = world.admin("alpha")
    partner = add(admin)
    url = upload(admin, partner["id"], image_bytes()).get_json()["logo_url"]
    assert admin.delete(f"/api/v1/partners/{partner['id']}").status_code == 204
    assert world.client("alpha").get(url).status_code == 404


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"", "empty.png"),
        (b"Il faut un logo, pas un texte.", "logo.png"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "logo.svg",
        ),
        (b"GIF89a" + b"\x00" * 100, "logo.gif"),
        (image_bytes("PNG", size=(6001, 10)), "wide.png"),
        (bilevel_png(20_000, 20_000), "bomb.png"),  # Pillow itself refuses to open it
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 2_000_001, "huge.png"),
        (png_header(60_000, 60_000), "bomb.png"),
    ],
)
def test_what_is_not_a_usable_image_is_refused_and_changes_nothing(world, data, name):
    admin = world.admin("alpha")
    partner = add(admin)
    answer = problem(upload(admin, partner["id"], data, name), 422, "invalid_image")
    assert list(answer["errors"]) == ["logo"]
    assert admin.get(f"/api/v1/partners/{partner['id']}").get_json()["logo_url"] is None


def test_a_decompression_bomb_is_refused_for_its_size(world):
    """A header claiming billions of pixels: Pillow refuses to open it (its own bomb check,
    before ours), which is the same refusal as any image too large, not an internal error."""
    admin = world.admin("alpha")
    partner = add(admin)
    answer = problem(upload(admin, partner["id"], png_header(60_000, 60_000)), 422, "invalid_image")
    assert answer["errors"] == {"logo": ["At most 6,000 pixels on each side."]}


def test_a_logo_request_over_the_upload_limit_is_413_and_a_missing_file_422(world):
    admin = world.admin("alpha")
    partner = add(admin)
    problem(upload(admin, partner["id"], b"\x00" * 2_200_000), 413, "payload_too_large")
    missing = admin.put(
        f"/api/v1/partners/{partner['id']}/logo", data={}, content_type="multipart/form-data"
    )
    assert problem(missing, 422, "invalid_image")["errors"] == {"logo": ["Choose an image file."]}


# -- pages ------------------------------------------------------------------------------------


def test_consultation_home_shows_its_tenants_partners_by_tier(world, database):
    admin = world.admin("alpha")
    founding = add(admin, name="Fondation Alpha", website_url="https://fondation.example.org")
    upload(admin, founding["id"], image_bytes())
    add(admin, name="Commune associée", tier="associate")
    alpha = factories.consultation(database, world.alpha_id, slug="avenir")
    beta = factories.consultation(database, world.beta_id, slug="avenir")

    page = world.client("alpha").get(f"/c/{alpha.slug}?lang=fr").get_data(as_text=True)
    assert "Nos partenaires" in page
    founding_at, associate_at = (
        page.index("Partenaires fondateurs"),
        page.index("Partenaires associés"),
    )
    assert founding_at < page.index('alt="Fondation Alpha"') < associate_at
    assert 'href="https://fondation.example.org"' in page
    assert '<span class="partner-name">Commune associée</span>' in page

    other = world.client("beta").get(f"/c/{beta.slug}").get_data(as_text=True)
    assert "Fondation Alpha" not in other and 'id="partners"' not in other


def page_login(world, slug: str, who: str = "admin"):
    client = world.client(slug)
    response = client.post_form("/login", {"email": f"{who}@{slug}.test", "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def test_admin_pages_add_edit_and_remove_a_partner(world, database):
    client = page_login(world, "alpha")
    assert client.get("/admin/partners/").status_code == 200

    added = client.post_form(
        "/admin/partners/new",
        {
            "name": "Fondation du Littoral",
            "tier": "founding",
            "website_url": "https://littoral.example.org",
            "position": "3",
            "logo": (io.BytesIO(image_bytes()), "logo.png"),
        },
        content_type="multipart/form-data",
    )
    assert added.status_code == 303
    edit_path = added.headers["Location"].split("?")[0]
    listed = world.client("alpha").get("/api/v1/partners").get_json()
    assert [(p["name"], p["position"]) for p in listed] == [("Fondation du Littoral", 3)]
    assert listed[0]["logo_url"]
    page = client.get(edit_path).get_data(as_text=True)
    assert 'value="Fondation du Littoral"' in page and 'name="remove_logo"' in page

    removed = client.post_form(
        edit_path,
        {"name": "Fondation du Littoral", "tier": "associate", "position": "", "remove_logo": "1"},
    )
    assert removed.status_code == 303
    partner = world.client("alpha").get("/api/v1/partners").get_json()[0]
    assert (partner["tier"], partner["position"], partner["logo_url"]) == ("associate", 0, None)

    assert client.post_form(f"{edit_path}/delete", {}).status_code == 303
    assert world.client("alpha").get("/api/v1/partners").get_json() == []


def test_admin_partner_form_keeps_what_was_typed_and_says_what_is_wrong(world):
    client = page_login(world, "alpha")
    response = client.post_form(
        "/admin/partners/new?lang=fr",
        {
            "name": "Fondation <b>Alpha</b>",
            "tier": "founding",
            "website_url": "javascript:alert(1)",
            "position": "premier",
            "logo": (io.BytesIO(b"pas une image"), "logo.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'value="Fondation &lt;b&gt;Alpha&lt;/b&gt;"' in page  # kept, escaped
    assert 'value="javascript:alert(1)"' in page and 'value="premier"' in page
    assert 'id="website_url-error"' in page and 'id="position-error"' in page
    assert world.client("alpha").get("/api/v1/partners").get_json() == []

    # The fields right, the image wrong: nothing is created either, and the image is named.
    response = client.post_form(
        "/admin/partners/new?lang=fr",
        {
            "name": "Fondation Alpha",
            "tier": "founding",
            "website_url": "",
            "position": "1",
            "logo": (io.BytesIO(b"pas une image"), "logo.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="logo-error"' in page and "PNG, JPEG ou WebP" in page
    assert 'value="Fondation Alpha"' in page
    assert world.client("alpha").get("/api/v1/partners").get_json() == []


def test_a_logo_too_large_for_the_page_is_refused_by_its_field_keeping_the_rest(world):
    client = page_login(world, "alpha")
    response = client.post_form(
        "/admin/partners/new?lang=fr",
        {
            "name": "Fondation Alpha",
            "tier": "associate",
            "website_url": "http://alpha.example",
            "position": "2",
            "logo": (io.BytesIO(b"\x89PNG" + b"\x00" * 2_600_000), "grand.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="logo-error"' in page and "2\u00a0Mo au plus" in page
    assert 'value="Fondation Alpha"' in page and 'value="http://alpha.example"' in page
    assert world.client("alpha").get("/api/v1/partners").get_json() == []


def test_admin_partner_pages_are_for_this_tenants_admins(world):
    alpha = add(world.admin("alpha"))
    anonymous = world.client("alpha").get("/admin/partners/")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    citizen = page_login(world, "alpha", "citizen")
    assert citizen.get("/admin/partners/").status_code == 403
    beta = page_login(world, "beta")
    assert beta.get(f"/admin/partners/{alpha['id']}").status_code == 404
    assert beta.post_form(f"/admin/partners/{alpha['id']}/delete", {}).status_code == 404
    assert len(world.client("alpha").get("/api/v1/partners").get_json()) == 1


def test_logos_go_to_s3_when_it_is_configured(world, database, s3_endpoint):
    """With S3 (a local server speaking its wire format), the logo is an object of the bucket,
    its address the public one, and a replaced logo's object is deleted once committed."""
    from billing import partners
    from pnyx.kernel.storage import S3Storage

    storage = S3Storage("pnyx-logos", endpoint_url=s3_endpoint, public_url="https://cdn.example")
    storage.client.create_bucket(
        Bucket="pnyx-logos", CreateBucketConfiguration={"LocationConstraint": "eu-west-3"}
    )
    with database.scope(tenant_id=world.alpha_id) as s:
        partner = partners.create_partner(s, {"name": "Fondation", "tier": "founding"})
        first = partners.set_logo(s, storage, partner.id, image_bytes()).logo_key
    with database.scope(tenant_id=world.alpha_id) as s:
        partner = partners.set_logo(s, storage, partner.id, image_bytes(color=(1, 2, 3)))
        second, url = partner.logo_key, partners.logo_url(storage, partner)
    assert url == f"https://cdn.example/{second}"
    head = storage.client.head_object(Bucket="pnyx-logos", Key=second)
    assert head["ContentType"] == "image/png"
    with pytest.raises(storage.client.exceptions.NoSuchKey):
        storage.get(first)
