"""Theme tokens: validation, contrast, CSS output, built-in packs."""

from __future__ import annotations

import json
import random
import re
from importlib import resources

import pytest

from themes.tokens import (
    COLOUR_FIELDS,
    FONT_STACKS,
    PACKS,
    RADIUS_MAX,
    ThemeError,
    ThemeTokens,
    check_contrast,
    contrast_ratio,
    load_pack,
    merge,
    parse_tokens,
    to_css,
)

VALID: dict[str, object] = {
    "primary": "#1f4e8c",
    "primary_text": "#fff",
    "secondary": "#5b6b7d",
    "background": "#FFFFFF",
    "surface": "#f3f5f8",
    "text": "#1b1f24",
    "muted_text": "#545e6a",
    "link": "#1f4e8c",
    "focus": "#1967d2",
    "font_family": "system",
    "radius": 6,
}

INJECTIONS = [
    "red;}body{",
    "#fff;",
    "#fff;}body{background:url(https://evil.example)",
    "url(javascript:alert(1))",
    "expression(alert(1))",
    "#fff\n",
    "#fff ",
    " #fff",
    "#ffff",
    "#ggg",
    "red",
    "rgb(0,0,0)",
    "#fff</style><script>",
    "#ｆｆｆ",
    "",
]


def with_(**changes: object) -> dict[str, object]:
    return {**VALID, **changes}


def test_contrast_ratio_known_values() -> None:
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#fff", "#000") == pytest.approx(21.0)
    assert contrast_ratio("#777", "#fff") == pytest.approx(4.48, abs=0.005)
    assert contrast_ratio("#777777", "#ffffff") < 4.5  # WCAG: never round up
    assert contrast_ratio("#abcdef", "#abcdef") == pytest.approx(1.0)


@pytest.mark.parametrize("name", PACKS)
def test_every_pack_loads_and_passes_contrast(name: str) -> None:
    tokens = load_pack(name)
    assert check_contrast(tokens) == [], [issue.message for issue in check_contrast(tokens)]
    assert to_css(tokens).startswith(":root{--pnyx-primary:#")


def test_packs_folder_matches_the_list() -> None:
    folder = resources.files("themes").joinpath("packs")
    on_disk = {p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json")}
    assert on_disk == set(PACKS)
    assert "default" in PACKS


@pytest.mark.parametrize("name", ["nope", "../tokens", "default.json", "", "DEFAULT"])
def test_unknown_pack_is_rejected(name: str) -> None:
    with pytest.raises(ThemeError) as error:
        load_pack(name)
    assert error.value.field == "pack"


def test_colours_are_normalised() -> None:
    tokens = parse_tokens(VALID)
    assert tokens.primary_text == "#ffffff"
    assert tokens.background == "#ffffff"
    assert tokens.logo_url is None


@pytest.mark.parametrize("field", COLOUR_FIELDS)
@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_in_colours_is_rejected(field: str, value: str) -> None:
    with pytest.raises(ThemeError) as error:
        parse_tokens(with_(**{field: value}))
    assert error.value.field == field


@pytest.mark.parametrize("value", ["system;}body{", "Arial", "system ", 'system"', "url(x)", 3])
def test_font_family_must_be_a_known_stack(value: object) -> None:
    with pytest.raises(ThemeError, match="font_family"):
        parse_tokens(with_(font_family=value))


@pytest.mark.parametrize("value", [-1, RADIUS_MAX + 1, 4.5, "8", "8px", True, None])
def test_radius_is_bounded_int(value: object) -> None:
    with pytest.raises(ThemeError, match="radius"):
        parse_tokens(with_(radius=value))


@pytest.mark.parametrize("radius", [0, RADIUS_MAX])
def test_radius_bounds_are_inclusive(radius: int) -> None:
    assert f"--pnyx-radius:{radius}px" in to_css(parse_tokens(with_(radius=radius)))


@pytest.mark.parametrize(
    "url", ["https://cdn.example.org/logos/bzh.svg", "/media/tenant-3/logo.png?v=2"]
)
def test_logo_url_accepted(url: str) -> None:
    assert parse_tokens(with_(logo_url=url)).logo_url == url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "http://example.org/logo.png",
        "//evil.example/logo.png",
        "data:image/svg+xml,<svg onload=alert(1)>",
        'https://example.org/a.png");}body{',
        "https://example.org/a b.png",
        "https://example.org/a.png'",
        "https://example.org/)url(",
        "https://",
        "",
        "/" + "a" * 600,
    ],
)
def test_logo_url_rejected(url: str) -> None:
    with pytest.raises(ThemeError, match="logo_url"):
        parse_tokens(with_(logo_url=url))


def test_unknown_keys_are_rejected() -> None:
    with pytest.raises(ThemeError) as error:
        parse_tokens(with_(custom_css="body{display:none}"))
    assert error.value.field == "custom_css"
    with pytest.raises(ThemeError, match="is not a theme token"):
        merge(parse_tokens(VALID), {"--pnyx-primary": "#000"})


def test_missing_keys_are_rejected() -> None:
    data = dict(VALID)
    del data["focus"]
    with pytest.raises(ThemeError, match="focus: is required"):
        parse_tokens(data)


def test_not_a_mapping_is_rejected() -> None:
    with pytest.raises(ThemeError):
        parse_tokens(["primary", "#000"])  # type: ignore[arg-type]


def test_direct_construction_is_validated_too() -> None:
    fields = {k: v for k, v in VALID.items()}
    fields["link"] = "red;}body{"
    with pytest.raises(ThemeError, match="link"):
        ThemeTokens(**fields)  # type: ignore[arg-type]


def test_merge_overrides_and_validates() -> None:
    base = load_pack("default")
    merged = merge(base, {"primary": "#0F766E", "logo_url": "/media/logo.svg"})
    assert merged.primary == "#0f766e"
    assert merged.logo_url == "/media/logo.svg"
    assert merged.text == base.text
    assert base.primary != merged.primary  # base untouched
    assert merge(merged, {"logo_url": None}).logo_url is None
    with pytest.raises(ThemeError, match="primary"):
        merge(base, {"primary": "#fff;"})


def test_check_contrast_reports_failing_pairs() -> None:
    tokens = parse_tokens(with_(muted_text="#777", focus="#eeeeee"))
    issues = {(i.foreground, i.background): i for i in check_contrast(tokens)}
    assert ("muted_text", "background") in issues
    assert ("focus", "background") in issues
    assert issues["muted_text", "background"].minimum == 4.5
    assert issues["focus", "background"].minimum == 3.0
    assert "4.48" in issues["muted_text", "background"].message
    assert ("text", "background") not in issues


def test_css_is_deterministic_and_complete() -> None:
    tokens = parse_tokens(VALID)
    shuffled = dict(reversed(list(VALID.items())))
    css = to_css(tokens)
    assert css == to_css(parse_tokens(shuffled)) == to_css(tokens)
    names = re.findall(r"--pnyx-([a-z-]+):", css)
    assert names == [f.replace("_", "-") for f in COLOUR_FIELDS] + ["font-family", "radius"]
    assert css.startswith(":root{--pnyx-primary:#1f4e8c;--pnyx-primary-text:#ffffff;")
    assert css.endswith(";--pnyx-radius:6px}")
    assert f"--pnyx-font-family:{FONT_STACKS['system']};" in css


def test_css_of_the_default_pack_is_stable() -> None:
    data = json.loads(resources.files("themes").joinpath("packs", "default.json").read_text())
    assert to_css(load_pack("default")) == to_css(parse_tokens(data))


def test_random_values_never_reach_css_unsafely() -> None:
    alphabet = "#0123456789abcdefABCDEF;:{}()<>/\\\"' \n\turlexpresion-"
    rng = random.Random(20240601)
    safe = re.compile(r':root\{(--pnyx-[a-z-]+:[A-Za-z0-9#,\-" ]+;)*--pnyx-radius:\d+px\}')
    accepted = 0
    for _ in range(3_000):
        field = rng.choice(COLOUR_FIELDS)
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 9)))
        if rng.random() < 0.3:
            value = "#" + value
        try:
            tokens = parse_tokens(with_(**{field: value}))
        except ThemeError:
            continue
        accepted += 1
        assert safe.fullmatch(to_css(tokens))
    assert accepted > 0
