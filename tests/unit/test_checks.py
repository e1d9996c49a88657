"""Moderation pre-checks: each check on positives and on false-positive traps."""

from __future__ import annotations

import pytest

from pnyx.moderation.checks import (
    DUPLICATE_THRESHOLD,
    CheckReport,
    DuplicateIndex,
    Finding,
    check_insults,
    check_language,
    check_links,
    check_personal_data,
    detect_language,
    fold,
    proposal_tokens,
    run_checks,
    stem_fr,
)


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def excerpts(findings: list[Finding]) -> list[str]:
    return [f.excerpt for f in findings]


# --- personal data -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        "06 12 34 56 78",
        "0612345678",
        "06.12.34.56.78",
        "06-12-34-56-78",
        "01 45 67 89 10",
        "+33 6 12 34 56 78",
        "+33612345678",
        "+33 (0)6 12 34 56 78",
        "0033 6 12 34 56 78",
        "+44 20 7946 0958",
    ],
)
def test_phone_numbers_are_found_with_their_span(number: str) -> None:
    text = f"Il faut m'appeler au {number} pour en parler"
    findings = check_personal_data(text)
    assert codes(findings) == ["personal_data.phone"]
    start, end = findings[0].span
    assert text[start:end] == number == findings[0].excerpt


@pytest.mark.parametrize(
    ("text", "code", "excerpt"),
    [
        (
            "Il faut écrire à jean.dupont@exemple.fr",
            "personal_data.email",
            "jean.dupont@exemple.fr",
        ),
        ("Il faut écrire à Marie_L+mairie@ville-lyon.gouv.fr !", "personal_data.email", None),
        ("Il faut écrire à jean [at] exemple.fr", "personal_data.email", "jean [at] exemple.fr"),
        ("Il faut écrire à jean arobase exemple point fr", "personal_data.email", None),
        ("Il faut verser sur FR76 3000 6000 0112 3456 7890 189", "personal_data.iban", None),
        ("Il faut voir mon dossier 1 85 05 78 006 084 91", "personal_data.nir", None),
        ("Il faut payer avec la carte 4111 1111 1111 1111", "personal_data.card", None),
    ],
)
def test_other_personal_data(text: str, code: str, excerpt: str | None) -> None:
    findings = check_personal_data(text)
    assert codes(findings) == [code]
    if excerpt:
        assert findings[0].excerpt == excerpt


@pytest.mark.parametrize(
    "text",
    [
        "Il faut 30 % de logements sociaux en 2030",
        "Il faut revenir aux 35 heures et à la retraite à 60 ans",
        "Il faut un million d'arbres : 1 000 000 plantés d'ici 2050",
        "Il faut rouvrir la poste du 75001 et celle du 69003",
        "Il faut financer 10 000 places pour 1,5 million d'euros",
        "Il faut mieux faire connaître le 3919 et le 119",
        "Il faut ouvrir de 8h à 18h du 14/07/2024 au 01.09.2025",
        "Il faut doubler la RN7 et l'A6 entre 2024-2030",
        "Il faut un IBAN FR76 3000 6000 0112 3456 7890 188 faux",  # bad checksum
        "Il faut un numéro 1234 5678 9012 3456 sans Luhn",
        "Il faut un NIR faux 1 85 05 78 006 084 92",
        "Il faut réduire de 0,5 % par an les émissions",
    ],
)
def test_numbers_that_are_not_personal_data(text: str) -> None:
    assert check_personal_data(text) == []


# --- links ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "link"),
    [
        ("Il faut lire https://exemple.fr/page?id=3 avant tout", "https://exemple.fr/page?id=3"),
        ("Il faut voir http://exemple.org.", "http://exemple.org"),
        ("Il faut aller sur www.exemple.com, vite", "www.exemple.com"),
        ("Il faut signer sur exemple.fr", "exemple.fr"),
        ("Il faut consulter mairie-de-lyon.fr/petition", "mairie-de-lyon.fr/petition"),
        ("Il faut lire sante.gouv.fr (rapport)", "sante.gouv.fr"),
        ("Il faut cliquer bit.ly/3xYz", "bit.ly/3xYz"),
        ("Il faut lire spiegel.de/artikel", "spiegel.de/artikel"),
        ("Il faut voir EXEMPLE.FR", "EXEMPLE.FR"),
    ],
)
def test_links_are_found(text: str, link: str) -> None:
    assert excerpts(check_links(text)) == [link]


@pytest.mark.parametrize(
    "text",
    [
        "Il faut des pistes, des parcs, etc. Et vite",
        "Il faut que M. Dupont et Mme Martin rendent des comptes",
        "Il faut 3.5 % de croissance et 2.0 de plus",
        "Il faut un parc.De plus, des bancs",
        "Il faut réformer la S.N.C.F. au plus vite",
        "Il faut écrire à jean.dupont@exemple.fr pour signer",
        "Il faut rouler à 30 km/h et/ou moins",
        "Il faut prendre le bus.Il arrive toujours",
    ],
)
def test_texts_without_links(text: str) -> None:
    assert check_links(text) == []


# --- insults -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "excerpt", "code"),
    [
        ("Il faut virer ce con", "con", "insult"),
        ("Il faut virer ces cons", "cons", "insult"),
        ("Il faut virer cette conne", "conne", "insult"),
        ("Il faut virer ces CONNARDS", "CONNARDS", "insult"),
        ("Il faut virer ces connasses", "connasses", "insult"),
        ("Il faut virer les bâtards", "bâtards", "insult"),
        ("Il faut virer ces abruties", "abruties", "insult"),
        ("Il faut virer ces enfoirés du conseil", "enfoirés", "insult"),
        ("Il faut virer ce c0nnard", "c0nnard", "insult"),
        ("Il faut virer ce c*nnard", "c*nnard", "insult"),
        ("Il faut virer ce connnnnard", "connnnnard", "insult"),
        ("Il faut virer ce c.o.n.n.a.r.d", "c.o.n.n.a.r.d", "insult"),
        ("Il faut virer ce fils de pute", "fils de pute", "insult"),
        ("Il faut virer ce trou du cul", "trou du cul", "insult"),
        ("Il faut virer cette tête de nœud", "tête de nœud", "insult"),
        ("Il faut que le maire ferme sa gueule et ta gueule", "ta gueule", "vulgarity"),
        ("Il faut arrêter cette merde", "merde", "vulgarity"),
        ("Il faut nique ta mère", "nique ta mère", "vulgarity"),
        ("Il faut chasser ces pédés", "pédés", "slur"),
        ("Il faut chasser les sales arabes", "sales arabes", None),
        ("Il faut expulser cette sale race", "sale race", "slur"),
    ],
)
def test_insults_are_found(text: str, excerpt: str, code: str | None) -> None:
    findings = check_insults(text)
    assert excerpt in excerpts(findings) or code is None
    if code is not None:
        assert codes(findings)[excerpts(findings).index(excerpt)] == code
    else:
        assert findings


@pytest.mark.parametrize(
    "text",
    [
        "Il faut un conseil de quartier contre la hausse des loyers",
        "Il faut respecter la Constitution et la concertation",
        "Il faut connaître le cône de vision des conducteurs",
        "Il faut servir du chili con carne à la cantine",
        "Il faut ramasser les ordures ménagères chaque semaine",
        "Il faut améliorer l'élevage des porcs et des vaches laitières",
        "Il faut protéger les blaireaux et les ratons laveurs",
        "Il faut épandre le fumier et ramasser les glands",
        "Il faut vendre de l'andouille de Vire au marché",
        "Il faut régler les disputes entre députés",
        "Il faut connecter Bitche, Condom et Montcuq à la fibre",
        "Il faut une salopette de travail pour les pédiatres",
        "Il faut des pistes cyclables en cul-de-sac",
        "Il faut un salaire minable ? Non, un salaire juste",
        "Il faut une technique de négociation, pas des abrutissements",
    ],
)
def test_words_that_only_look_like_insults(text: str) -> None:
    assert check_insults(text) == []


def test_insult_span_points_into_the_original_text() -> None:
    text = "Il faut que ces élus « pourris » et ce Connärd partent"
    findings = check_insults(text)
    assert excerpts(findings) == ["élus « pourris", "Connärd"]
    for finding in findings:
        start, end = finding.span
        assert text[start:end] == finding.excerpt


# --- language ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Il faut développer les pistes cyclables dans les villes et les villages", "fr"),
        ("We need more bike lanes in the city and safer roads for children", "en"),
        ("Wir brauchen mehr Radwege in der Stadt und weniger Autos", "de"),
        ("Hay que crear más carriles bici en la ciudad y menos coches", "es"),
        ("Bisogna creare più piste ciclabili nella città e meno auto", "it"),
        ("É preciso criar mais ciclovias na cidade e menos carros", "pt"),
    ],
)
def test_language_detection(text: str, language: str) -> None:
    guess = detect_language(text)
    assert guess.code == language
    assert guess.confidence >= 0.5


@pytest.mark.parametrize(
    "text",
    [
        "Il faut plus de parkings pour le week-end et le shopping",
        "Il faut aider les start-up et le coworking à la campagne",
        "Il faut interdire le glyphosate",
        "Il faut taxer les GAFAM",
        "Il faut que l'État investisse dans le train",
    ],
)
def test_french_proposals_are_not_flagged(text: str) -> None:
    guess, findings = check_language(text, "fr")
    assert findings == []
    assert guess.code in ("fr", "und") or guess.confidence < 0.5


def test_foreign_proposal_is_flagged_even_behind_the_french_prefix() -> None:
    _, findings = check_language("Il faut more bike lanes in the city for everyone", "fr")
    assert codes(findings) == ["language"]
    _, findings = check_language("Il faut que les transports soient gratuits pour tous", "en")
    assert codes(findings) == ["language"]


def test_no_evidence_means_undetermined() -> None:
    assert detect_language("1234 !!").code == "und"


# --- normalisation and near-duplicates ------------------------------------------------------


def test_fold_and_stem() -> None:
    assert fold("Élève’s Œuvre àÇ") == "eleve's oeuvre ac"
    groups = [
        ("logement", "logements", "loger"),
        ("cyclable", "cyclables", "cycliste", "cycle"),
        ("social", "sociaux", "sociale", "sociales"),
        ("nombreux", "nombreuse", "nombreuses"),
        ("gratuit", "gratuite", "gratuité", "gratuits"),
        ("isolé", "isolée", "isolées"),
        ("développer", "développement", "développé"),
        ("sportif", "sportive", "sportives"),
        ("infirmier", "infirmière", "infirmières"),
    ]
    for words in groups:
        assert len({stem_fr(fold(w)) for w in words}) == 1, words
    assert stem_fr("con") != stem_fr("conseil")


def test_proposal_tokens_drop_prefix_elisions_and_stopwords() -> None:
    tokens = proposal_tokens("Il faut qu'on développe l'accès aux bicyclettes dans les villes")
    # "bicyclettes" belongs to the synonym group headed by "vélo".
    assert [stem for stem, _ in tokens] == ["develop", "acc", "velo", "vil"]
    # Synonyms collapse to their group's first word; negations are kept.
    assert proposal_tokens("Il faut plus de bicyclettes") == proposal_tokens(
        "Il faut davantage de vélos"
    )
    assert "pas" in [s for s, _ in proposal_tokens("Il ne faut pas interdire les vélos")]


PROPOSALS = {
    1: "Il faut créer plus de pistes cyclables en ville",
    2: "Il faut interdire les pesticides près des écoles",
    3: "Il faut augmenter le nombre de médecins à la campagne",
    4: "Il faut rendre les transports en commun gratuits pour les jeunes",
    5: "Il faut planter des arbres dans les cours d'école",
    6: "Il faut baisser la TVA sur les produits de première nécessité",
    7: "Il faut ouvrir les bibliothèques le dimanche",
    8: "Il faut réduire le nombre d'élèves par classe",
}


@pytest.fixture
def index() -> DuplicateIndex:
    return DuplicateIndex(PROPOSALS.items())


@pytest.mark.parametrize(
    ("query", "expected", "over_threshold"),
    [
        ("Il faut creer plus de pistes cyclables dans les villes", 1, True),  # accents, plural
        ("Il faut interdire les pesticides a proximite des ecoles", 2, True),
        ("Il faut augmenter le nombre de médecin à la campagne", 3, True),
        ("Il faut rendre gratuits pour les jeunes les transports en commun", 4, True),  # order
        ("Il faut planter des arbes dans les cours d'écoles", 5, True),  # a typo
        ("Il faut plantr des arbes dans les cours d'écoles", 5, False),  # two typos: rank only
        ("Il faut baisser la TVA sur les produits de premiere necessite !", 6, True),
        ("Il faut des bicyclettes et des pistes cyclables en ville", 1, True),  # synonym
        ("Il faut que les bibliothèques ouvrent aussi le dimanche", 7, True),
    ],
)
def test_near_duplicates_rank_first_and_score_high(
    index: DuplicateIndex, query: str, expected: int, over_threshold: bool
) -> None:
    (best, score), *rest = index.similar(query, 3)
    assert best == expected
    assert (score >= DUPLICATE_THRESHOLD) == over_threshold
    assert all(s < score for _, s in rest)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (PROPOSALS[1], "Il faut interdire les trottinettes sur les trottoirs"),
        (PROPOSALS[3], "Il faut réduire les délais d'attente aux urgences"),
        (PROPOSALS[7], "Il faut ouvrir les commerces le dimanche"),
        (PROPOSALS[8], "Il faut réduire le nombre de députés"),
    ],
)
def test_unrelated_proposals_stay_below_the_threshold(
    index: DuplicateIndex, a: str, b: str
) -> None:
    assert index.similarity(a, b) < DUPLICATE_THRESHOLD
    assert index.similarity(a, a) == pytest.approx(1.0)


def test_index_add_replace_remove_and_exclude(index: DuplicateIndex) -> None:
    assert len(index) == 8 and 3 in index
    index.add(9, "Il faut plus de médecins dans les campagnes")
    assert [pid for pid, _ in index.similar_to(3, 2)] == [9, index.similar_to(3, 2)[1][0]]
    assert index.similar_to(3, 1)[0][0] == 9
    index.add(9, "Il faut des vélos en libre-service")  # same id: replaced
    assert index.similar_to(3, 1)[0][0] != 9
    assert index.text(9) == "Il faut des vélos en libre-service"
    index.remove(9)
    assert 9 not in index and len(index) == 8
    with pytest.raises(KeyError):
        index.remove(9)
    query = PROPOSALS[2]
    assert index.similar(query, 1)[0][0] == 2
    assert index.similar(query, 1, exclude=2)[0][0] != 2
    assert index.similar(query, 5, min_similarity=0.99) == [(2, 1.0)]
    assert DuplicateIndex().similar(query) == []


def test_inverted_index_agrees_with_the_exact_scan() -> None:
    themes = ["vélos", "bus", "médecins", "écoles", "arbres", "impôts", "loyers", "musées"]
    verbs = ["créer", "réduire", "augmenter", "interdire", "financer", "rénover"]
    places = ["en ville", "à la campagne", "dans les quartiers", "près des gares", ""]
    texts = [
        f"Il faut {v} les {t} {p} {i}"
        for i, (v, t, p) in enumerate(
            (v, t, p) for v in verbs for t in themes for p in places for _ in range(3)
        )
    ]
    big = DuplicateIndex(enumerate(texts))
    for query in ("Il faut créer des vélos en ville", "Il faut réduire les impôts", texts[7]):
        assert big.similar(query, 3) == big.similar_exact(query, 3)


# --- the bundle ----------------------------------------------------------------------------


def test_run_checks_bundles_every_finding(index: DuplicateIndex) -> None:
    report = run_checks(
        "Il faut virer ce connard, écrivez à jean@exemple.fr ou voyez petition.fr",
        index=index,
    )
    assert isinstance(report, CheckReport)
    assert report.flagged
    assert report.codes == {"insult", "personal_data.email", "link"}
    assert report.language.code == "fr"


def test_run_checks_reports_duplicates_and_excludes_the_proposal_itself(
    index: DuplicateIndex,
) -> None:
    report = run_checks("Il faut ouvrir les bibliotheques le dimanche", index=index)
    assert report.codes == {"duplicate"}
    assert report.similar[0][0] == 7
    duplicate = next(f for f in report.findings if f.code == "duplicate")
    assert duplicate.excerpt == PROPOSALS[7]
    again = run_checks(PROPOSALS[7], index=index, exclude_id=7)
    assert "duplicate" not in again.codes


def test_clean_proposal_has_no_findings() -> None:
    report = run_checks("Il faut rénover les écoles et les gymnases des villages")
    assert report.findings == () and not report.flagged
    assert report.similar == ()


def test_foreign_language_is_reported() -> None:
    report = run_checks("We need cheaper public transport for young people")
    assert report.codes == {"language"}
    assert report.language.code == "en"
