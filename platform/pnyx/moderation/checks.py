"""Moderation pre-checks for proposals: pure, stdlib only, imports nothing of ours.

Each check returns :class:`Finding` objects shown to a moderator; none decides alone.
Checks: personal data (e-mail, phone, IBAN, NIR, card number), links, French insults and
slurs, language, and near-duplicates through :class:`DuplicateIndex`. :func:`run_checks`
bundles them into a :class:`CheckReport`.

Messages are French (the moderation desk's first language); ``code`` is the stable key a
translated interface should use.
"""

from __future__ import annotations

import heapq
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field

# --------------------------------------------------------------------------------------------
# Findings and report


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a moderator should look at: ``span`` indexes the original text, if any.

    ``message`` is French, for logs and API clients; a translated interface shows its own label
    of ``code`` with the values: ``excerpt``, and ``ref`` and ``score`` (a near-duplicate's id
    and similarity; the detected language's code and the confidence).
    """

    code: str
    message: str
    span: tuple[int, int] | None = None
    excerpt: str = ""
    ref: Hashable | None = None
    score: float | None = None


@dataclass(frozen=True, slots=True)
class LanguageGuess:
    """Detected language (ISO 639-1, or ``"und"``) with a confidence in [0, 1]."""

    code: str
    confidence: float
    scores: dict[str, float] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class CheckReport:
    """Everything the pre-checks found about one proposal."""

    findings: tuple[Finding, ...]
    language: LanguageGuess
    similar: tuple[tuple[Hashable, float], ...] = ()

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(f.code for f in self.findings)

    @property
    def flagged(self) -> bool:
        return bool(self.findings)


def _finding(code: str, message: str, text: str, start: int, end: int) -> Finding:
    return Finding(code, message, (start, end), text[start:end])


# --------------------------------------------------------------------------------------------
# Text folding

_FOLD_SPECIAL = {
    "œ": "oe",
    "Œ": "oe",
    "æ": "ae",
    "Æ": "ae",
    "ß": "ss",
    "’": "'",
    "‘": "'",
    "ʼ": "'",
    "`": "'",
    "´": "'",
    "\u00a0": " ",
    "\u202f": " ",
    "\u2009": " ",
}
_FOLD_CACHE: dict[str, str] = {}


def _fold_char(ch: str) -> str:
    folded = _FOLD_CACHE.get(ch)
    if folded is None:
        folded = _FOLD_SPECIAL.get(ch)
        if folded is None:
            decomposed = unicodedata.normalize("NFKD", ch.lower())
            folded = "".join(c for c in decomposed if not unicodedata.combining(c))
        _FOLD_CACHE[ch] = folded
    return folded


def fold(text: str) -> str:
    """Lowercase, strip accents (é→e, œ→oe) and unify apostrophes and spaces."""
    return "".join(_fold_char(ch) for ch in text)


def _fold_with_offsets(text: str) -> tuple[str, list[int]]:
    """Fold ``text`` and map each folded character back to its index in ``text``."""
    chars: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        for c in _fold_char(ch):
            chars.append(c)
            offsets.append(i)
    return "".join(chars), offsets


# --------------------------------------------------------------------------------------------
# Personal data

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b", re.I)
_EMAIL_OBFUSCATED = re.compile(
    r"\b[\w.+-]+\s*(?:\[at\]|\(at\)|\{at\}|\s(?:at|arobase)\s)\s*[\w-]+"
    r"\s*(?:\.|\[dot\]|\(dot\)|\s(?:dot|point)\s)\s*[a-z]{2,}\b",
    re.I,
)
_SEP = r"[ .\-]?"
_PHONE_FR = re.compile(
    rf"(?<![\d+])(?:(?:\+|00)33{_SEP}(?:\(0\){_SEP})?|0)[1-9](?:{_SEP}\d{{2}}){{4}}(?![\d])"
)
_PHONE_INTL = re.compile(rf"(?<![\w+])(?:\+|00)(?!33)[1-9]\d{{0,2}}(?:{_SEP}\d){{7,12}}(?!\d)")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", re.I)
_NIR = re.compile(
    r"(?<!\d)[12][ .]?\d{2}[ .]?(?:0[1-9]|1[0-2]|[2-9]\d)[ .]?(?:\d{2}|2[AB])[ .]?"
    r"\d{3}[ .]?\d{3}[ .]?\d{2}(?!\d)",
    re.I,
)
_CARD = re.compile(r"(?<!\d)\d{4}(?:[ \-]?\d{4}){2}[ \-]?\d{1,7}(?!\d)")


def _iban_valid(raw: str) -> bool:
    code = raw.replace(" ", "").upper()
    if not 15 <= len(code) <= 34:
        return False
    moved = code[4:] + code[:4]
    digits = "".join(str(int(c, 36)) for c in moved)
    return int(digits) % 97 == 1


def _nir_valid(raw: str) -> bool:
    code = re.sub(r"[ .]", "", raw).upper()
    body, key = code[:13], int(code[13:])
    if body[5:7] in ("2A", "2B"):  # Corsica: 2A → 19, 2B → 18 before the modulo
        body = body[:5] + ("19" if body[5:7] == "2A" else "18") + body[7:]
    return 97 - int(body) % 97 == key


def _luhn_valid(raw: str) -> bool:
    digits = [int(c) for c in raw if c.isdecimal()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def check_personal_data(text: str) -> list[Finding]:
    """E-mail addresses, phone numbers (French and international), IBAN, NIR, card numbers.

    Numbers need a phone's shape (leading 0 or an international prefix, ten digits in pairs)
    or a valid checksum, so "30 %", "2030", "35 heures" or a postal code do not match.
    """
    findings: list[Finding] = []
    taken: list[tuple[int, int]] = []

    def add(code: str, message: str, m: re.Match[str]) -> None:
        start, end = m.span()
        if any(start < e and s < end for s, e in taken):
            return
        taken.append((start, end))
        findings.append(_finding(code, message, text, start, end))

    for m in _EMAIL.finditer(text):
        add("personal_data.email", "adresse e-mail", m)
    for m in _EMAIL_OBFUSCATED.finditer(text):
        add("personal_data.email", "adresse e-mail déguisée", m)
    for m in _IBAN.finditer(text):
        if _iban_valid(m.group()):
            add("personal_data.iban", "IBAN", m)
    for m in _NIR.finditer(text):
        if _nir_valid(m.group()):
            add("personal_data.nir", "numéro de sécurité sociale", m)
    for m in _CARD.finditer(text):
        if _luhn_valid(m.group()):
            add("personal_data.card", "numéro de carte bancaire", m)
    for m in _PHONE_FR.finditer(text):
        add("personal_data.phone", "numéro de téléphone", m)
    for m in _PHONE_INTL.finditer(text):
        add("personal_data.phone", "numéro de téléphone", m)
    findings.sort(key=lambda f: f.span or (0, 0))
    return findings


# --------------------------------------------------------------------------------------------
# Links

# Bare domains are recognised only on these TLDs: "de", "la", "me", "es", "it", "re"... are
# also words, and "le parc.De plus" must not read as a link. Any TLD counts after a scheme,
# after "www." or when a path follows.
_BARE_TLDS = (
    "fr|com|org|net|eu|info|io|gouv|be|ch|ca|uk|co|app|xyz|biz|tv|ly|ru|cn|us|online|site"
    "|shop|store|bzh|paris|alsace|corsica|lu|mc|dev|ai|gg|tk|ml|ga|cf|link|click|top|news"
)
_URL = re.compile(r"\bhttps?://[^\s<>\"']+|\bwww\.[^\s<>\"']+", re.I)
_BARE_DOMAIN = re.compile(
    r"(?<![\w@.-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    rf"(?:(?:{_BARE_TLDS})\b(?![-@])(?:/[^\s<>\"']*)?|[a-z]{{2,24}}/[^\s<>\"']*)",
    re.I,
)


def check_links(text: str) -> list[Finding]:
    """URLs with a scheme, ``www.`` addresses and bare domains such as ``exemple.fr``."""
    emails = [m.span() for m in _EMAIL.finditer(text)]
    findings: list[Finding] = []
    taken: list[tuple[int, int]] = []
    for pattern in (_URL, _BARE_DOMAIN):
        for m in pattern.finditer(text):
            start, end = m.span()
            while end > start and text[end - 1] in ".,;:!?)]»\"'":
                end -= 1
            if any(start < e and s < end for s, e in emails + taken):
                continue
            taken.append((start, end))
            findings.append(_finding("link", "lien ou adresse de site", text, start, end))
    findings.sort(key=lambda f: f.span or (0, 0))
    return findings


# --------------------------------------------------------------------------------------------
# Insults

# Folded (no accents) base forms; "masc/fem" lists irregular feminines. Plurals are
# generated. Multi-word entries match token sequences. Words that are insults only in some
# uses are left out or kept as phrases: animals (porc, vache, chien, blaireau), farm words
# (fumier: manure, gland: acorn, andouille: sausage), "ordures" (household waste), "pourri"
# (fruit), "minable" (a low wage), "tare" (a defect), "demeure", "attarde", "bride".
_LEXICON: dict[str, str] = {
    "insult": """
        abruti/abrutie baltringue batard/batarde bouffon/bouffonne boloss bolos
        branleur/branleuse cassos connard/connasse conard/conarde con/conne couillon/couillonne
        cretin/cretine debile enfoire/enfoiree glandu glandeur/glandeuse gogol
        imbecile idiot/idiote neuneu petasse pouffiasse grognasse raclure racaille
        salaud salopard salope tocard/tocarde trouduc tebe teube pignouf
        degenere/degeneree garce facho gauchiasse collabo
        |trou du cul|tete de noeud|sous merde|sac a merde|sale ordure|espece d ordure
        |gros porc|sale porc|grosse vache|peau de vache|sale chien|sale chienne|elus pourris
        |tous pourris|politiciens pourris|fils de pute|sous homme|leche cul|lache cul
        |sale fumier|espece de fumier|espece d andouille|gros con|pauvre type
    """,
    "vulgarity": """
        merde merdique merdeux/merdeuse putain bordel chier chiant/chiante emmerder
        emmerdeur/emmerdeuse foutre niquer nique enculer bite couille branler branlette pute
        fdp ntm tg
        |ta gueule|ferme ta gueule|va te faire foutre|allez vous faire foutre|nique ta mere
        |va chier|faire chier
    """,
    "slur": """
        pede pd tarlouze tafiole gouine encule/enculee negre/negresse negro bougnoule bicot
        raton youpin youtre chinetoque niakoue bamboula travelo mongolien/mongolienne
        |sale arabe|sale noir|sale noire|sale juif|sale juive|sale blanc|sale race
        |sale musulman|sale rebeu|sale renoi|attarde mental|attardes mentaux
    """,
}
# Phrases in which a lexicon word is innocent.
_INSULT_ALLOW = ("chili con carne", "con carne", "con amore", "raton laveur", "ratons laveurs")
_CATEGORY_MESSAGE = {
    "insult": "injure",
    "vulgarity": "grossièreté",
    "slur": "injure discriminatoire",
}
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "@": "a", "$": "s"})


def _plurals(word: str) -> set[str]:
    if word.endswith(("s", "x", "z")):
        return {word}
    if word.endswith("eau"):
        return {word, word + "x"}
    if word.endswith("al"):
        return {word, word + "s", word[:-2] + "aux"}
    return {word, word + "s"}


def _build_lexicon() -> tuple[dict[str, str], dict[tuple[str, ...], str]]:
    words: dict[str, str] = {}
    phrases: dict[tuple[str, ...], str] = {}
    for category, block in _LEXICON.items():
        singles, *multi = block.split("|")
        for entry in singles.split():
            for base in entry.split("/"):
                for form in _plurals(base):
                    words.setdefault(form, category)
        for phrase in multi:
            variants: list[tuple[str, ...]] = [()]
            for token in phrase.split():  # every token singular or plural: "sales arabes"
                variants = [v + (form,) for v in variants for form in sorted(_plurals(token))]
            for tokens in variants:
                if tokens:
                    phrases.setdefault(tokens, category)
    return words, phrases


_INSULT_WORDS, _INSULT_PHRASES = _build_lexicon()
_INSULT_MAX_PHRASE = max(len(p) for p in _INSULT_PHRASES)
_SQUEEZED_WORDS = {re.sub(r"(.)\1+", r"\1", w): c for w, c in _INSULT_WORDS.items()}
_TOKEN_WITH_LEET = re.compile(r"[a-z0-9@$*]+")
_SPELLED_OUT = re.compile(r"\b(?:[a-z][ .\-_*]){3,}[a-z]\b")


def _insult_category(token: str) -> str | None:
    if not any(c.isalpha() for c in token):
        return None
    if any(c in "0134@5$" for c in token):
        token = token.translate(_LEET)
    category = _INSULT_WORDS.get(token)
    if category is not None:
        return category
    if re.search(r"(.)\1\1", token):  # stretched letters: "connnnard"
        category = _INSULT_WORDS.get(re.sub(r"(.)\1\1+", r"\1\1", token))
        return category or _SQUEEZED_WORDS.get(re.sub(r"(.)\1+", r"\1", token))
    if "*" in token.strip("*") and len(token) >= 4:  # masked letters: "c*nnard"
        pattern = re.compile(re.escape(token).replace(r"\*", "[a-z]") + "$")
        for word, cat in _INSULT_WORDS.items():
            if len(word) == len(token) and pattern.match(word):
                return cat
    return None


def check_insults(text: str) -> list[Finding]:
    """French insults, vulgarities and slurs from a built-in lexicon.

    Matching is on whole words after folding (accents, case), so "con" does not match
    "conseil" or "contre". Inflections come from the lexicon (plurals generated, feminines
    listed); light obfuscation is undone: digits for letters ("c0nnard"), stretched letters,
    masked letters ("c*nnard"), spelled-out words ("c.o.n.n.a.r.d").
    """
    folded, offsets = _fold_with_offsets(text)
    for phrase in _INSULT_ALLOW:
        for m in re.finditer(rf"\b{re.escape(phrase)}\b", folded):
            folded = folded[: m.start()] + " " * len(phrase) + folded[m.end() :]
    tokens = [(m.group(), m.start(), m.end()) for m in _TOKEN_WITH_LEET.finditer(folded)]
    for m in _SPELLED_OUT.finditer(folded):
        joined = re.sub(r"[^a-z]", "", m.group())
        tokens.append((joined, m.start(), m.end()))

    hits: list[tuple[int, int, str]] = []
    words = [t for t in tokens if "*" not in t[0] or t[0].strip("*")]
    for i in range(len(words)):
        for n in range(min(_INSULT_MAX_PHRASE, len(words) - i), 1, -1):
            key = tuple(w[0].translate(_LEET) for w in words[i : i + n])
            if key in _INSULT_PHRASES:
                hits.append((words[i][1], words[i + n - 1][2], _INSULT_PHRASES[key]))
                break
    for token, start, end in tokens:
        category = _insult_category(token)
        if category is not None:
            hits.append((start, end, category))

    findings: list[Finding] = []
    hits.sort(key=lambda h: (h[0], -h[1]))
    last_end = -1
    for start, end, category in hits:
        if start < last_end:
            continue
        last_end = end
        o_start, o_end = offsets[start], offsets[end - 1] + 1
        excerpt = text[o_start:o_end]
        message = f"{_CATEGORY_MESSAGE[category]} : « {excerpt} »"
        findings.append(Finding(category, message, (o_start, o_end), excerpt))
    return findings


# --------------------------------------------------------------------------------------------
# Language

_STOPWORDS: dict[str, str] = {
    "fr": """le la les un une des du de au aux et ou mais donc car ni que qui quoi dont ou ce
        cet cette ces il ils elle elles on nous vous je tu se sa son ses leur leurs notre nos
        votre vos est sont etre avoir ont pour par avec sans dans sur sous entre vers chez plus
        moins tres faut faudrait peut doit tout tous toute toutes aussi ne pas en y comme si
        afin ainsi lors meme autres fait faire aux davantage chaque leurs quand depuis apres
        avant encore deja etait sera seront peuvent doivent cela ceci celui celle mettre lieu
        place""",
    "en": """the a an and or but of to in on for with by from at as is are was were be been
        have has had do does not no this that these those it its we you they he she our their
        your my more less all should must need needs can will would there which who what when
        where how than then so very also into about over under between people make every
        each any other some such only just them us""",
    "de": """der die das den dem des ein eine einen einem einer und oder aber nicht kein keine
        ist sind war waren sein haben hat hatte mit von zu zum zur auf fur im in an am aus bei
        nach uber unter wir ihr sie er es ich du man mehr weniger auch noch nur sehr wie wenn
        dass soll sollen sollte muss mussen werden wird kann konnen alle diese dieser dieses
        jeder jede mussten gibt damit durch ohne fuer ueber""",
    "es": """el la los las un una unos unas y o pero de del al a en con por para sin sobre
        entre que quien es son ser estar esta estan hay mas menos muy tambien no se su sus
        nuestro nuestra nuestros nos les lo le como cuando donde este estos estas ese esa
        todo todos todas debe deben tiene tienen hacer cada ciudad gobierno""",
    "it": """il lo la i gli le un uno una e o ma di del della dei degli delle da dal dalla in
        nel nella nei con per su sul sulla tra fra che chi non sono essere avere ha hanno piu
        meno molto anche come quando dove questo questa questi queste quello tutto tutti
        bisogna deve devono si ci noi voi loro ogni citta governo""",
    "pt": """o a os as um uma uns umas e ou mas de do da dos das em no na nos nas com por para
        sem sobre entre que quem nao e sao ser estar esta tem mais menos muito tambem como
        quando onde este estes estas esse essa todo todos todas deve devem precisa ao aos
        pelo pela pelos pelas cada cidade governo""",
    "nl": """de het een en of maar van in op met voor door naar bij uit aan te is zijn was
        waren heeft hebben niet geen ook meer minder zeer heel wij we jullie zij ze hij ik je
        dat die dit deze wat wie waar hoe moet moeten kan kunnen er om over tot elke worden
        wordt""",
}
_LANG_WORDS: dict[str, dict[str, float]] = {}
for _lang, _block in _STOPWORDS.items():
    for _word in _block.split():
        _LANG_WORDS.setdefault(_word, {})[_lang] = 1.0
for _word, _langs in _LANG_WORDS.items():
    for _lang in _langs:
        _langs[_lang] = 1.0 / len(_langs)  # a word shared by k languages counts 1/k each
del _lang, _block, _word, _langs

# Character and ending hints, looked for in the lowercased text with its accents.
_LANG_HINTS: tuple[tuple[re.Pattern[str], str, float], ...] = (
    (re.compile(r"ñ|¿|¡|ción\b"), "es", 1.0),
    (re.compile(r"ß|ä|ö|ü|ung\b|keit\b|heit\b|sch"), "de", 0.7),
    (re.compile(r"ã|õ|ção\b|ções\b"), "pt", 1.0),
    (re.compile(r"ì|ò|zione\b|zioni\b"), "it", 1.0),
    (re.compile(r"[èêëîôûœ]|\b[ldjnsc]['’]|qu['’]|ité\b|eaux?\b"), "fr", 0.7),
    (re.compile(r"é"), "fr", 0.3),
    (re.compile(r"ij|\boo|aa"), "nl", 0.5),
    (re.compile(r"\w(?:ing|ness|ly)\b"), "en", 0.5),
)
_WORD = re.compile(r"[a-z]+")
_LANGUAGE_PREFIX = re.compile(r"^\s*il\s+(?:faut|faudrait)\b\s*(?:qu'|que\b)?", re.I)


def detect_language(text: str) -> LanguageGuess:
    """Guess the language of a short text from function words and letter hints.

    Scores: each known function word adds 1/k to each of the k languages listing it, each
    hint adds its weight. Confidence = the best language's share of the score, damped when
    the evidence is thin (under ~3 points). Returns ``"und"`` without evidence.
    """
    scores: dict[str, float] = dict.fromkeys(_STOPWORDS, 0.0)
    for word in _WORD.findall(fold(text)):
        for lang, weight in _LANG_WORDS.get(word, {}).items():
            scores[lang] += weight
    lowered = text.lower()
    for pattern, lang, weight in _LANG_HINTS:
        scores[lang] += weight * min(3, len(pattern.findall(lowered)))
    total = sum(scores.values())
    if total <= 0:
        return LanguageGuess("und", 0.0, scores)
    best = max(scores, key=scores.__getitem__)
    evidence = 1.0 - math.exp(-scores[best] / 1.5)
    return LanguageGuess(best, round(scores[best] / total * evidence, 3), scores)


def check_language(
    text: str, expected: str = "fr", *, min_confidence: float = 0.5
) -> tuple[LanguageGuess, list[Finding]]:
    """Detect the language of ``text`` and flag it when it confidently differs from
    ``expected``. A leading French "Il faut" is set aside so that it cannot mask the rest."""
    body = _LANGUAGE_PREFIX.sub("", text) if expected == "fr" else text
    guess = detect_language(body if body.strip() else text)
    findings: list[Finding] = []
    if guess.code not in (expected, "und") and guess.confidence >= min_confidence:
        findings.append(
            Finding(
                "language",
                f"langue détectée : {guess.code} (confiance {guess.confidence:.2f}), "
                f"attendue : {expected}",
                None,
                text,
                ref=guess.code,
                score=guess.confidence,
            )
        )
    return guess, findings


# --------------------------------------------------------------------------------------------
# Near-duplicates: normalisation


def _word_set(block: str) -> frozenset[str]:
    """The whitespace-separated words of ``block``."""
    return frozenset(block.split())


_PROPOSAL_PREFIX = re.compile(
    r"^\s*(?:il\s+)?(?:faut|faudrait)\b\s*(?:qu'|que\b)?|^\s*(?:nous\s+)?devons\b|^\s*on\s+doit\b"
)
_ELISION = re.compile(r"\b(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu|presqu|quoiqu)'")
_DEDUP_TOKEN = re.compile(r"[a-z0-9]+")

# Function words dropped before comparison. Kept on purpose: negations and quantities (pas,
# sans, plus, moins, non), which can reverse a proposal.
DEDUP_STOPWORDS = _word_set(
    """le la les l un une des du de d au aux a et ou mais donc car ni or que qu qui quoi dont
    ce cet cette ces c ca cela ceci celui celle ceux celles il ils elle elles on nous vous je
    j tu se s sa son ses leur leurs notre nos votre vos mon ma mes ton ta tes lui y en est
    sont soit soient etre ete avoir ont ai as avait pour par avec dans sur sous entre vers
    chez ne n tout tous toute toutes aussi afin ainsi lors meme comme si tres bien faut
    faudrait doit doivent devrait devraient peut peuvent pourrait chaque quand depuis apres
    avant encore deja etc notamment surtout vraiment enfin alors lorsque puis certains
    certaines autre autres quelque quelques"""
)

# Same-meaning words in French civic vocabulary. Each group collapses to its first word.
# Audited against tests/data/dedup_pairs_fr.csv (2026-11-22): of the groups that bridged the two
# sides of one of its pairs, only general-purpose synonyms that a French moderator would list
# without seeing the set were kept (voiture/automobile, enseignant/professeur,
# salaire/rémunération, impôt/fiscalité, train/ferroviaire, agriculteur/paysan, bio/biologique,
# téléphone/smartphone, réduire/abaisser/baisser, interdire/bannir, plus/davantage); the
# others were removed (médecin/docteur/généraliste, campagne/rural, senior/aîné/retraite/pension,
# jeune/adolescent, créer/construire, favoriser/encourager/développer, citoyen/habitant,
# bâtiment/édifice, pesticide/phytosanitaire, handicap/PMR). The kept groups still bridge 11
# positive pairs of that set: its lexical figures are not a fully independent measure.
SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("velo", "bicyclette", "bicyclettes"),
    ("voiture", "automobile", "auto", "bagnole"),
    ("hopital", "chu", "hospitalier"),
    ("enseignant", "professeur", "prof", "instituteur"),
    ("eleve", "ecolier", "collegien", "lyceen"),
    ("enfant", "gamin", "gosse"),
    ("salaire", "remuneration", "paie"),
    ("emploi", "travail", "boulot", "job"),
    ("chomeur", "chomage", "desoeuvre"),
    ("entreprise", "firme"),
    ("impot", "taxe", "imposition", "fiscalite"),
    ("gratuit", "gratuite", "gratis"),
    ("bus", "autobus"),
    ("train", "ferroviaire", "rail"),
    ("tram", "tramway"),
    ("logement", "habitation", "habitat"),
    ("ville", "municipalite", "agglomeration"),
    ("dechet", "detritus", "ordure"),
    ("agriculteur", "paysan", "exploitant", "cultivateur", "fermier"),
    ("bio", "biologique"),
    ("police", "policier", "gendarme", "gendarmerie"),
    ("camera", "videosurveillance", "videoprotection"),
    ("internet", "web"),
    ("telephone", "smartphone", "mobile"),
    ("bibliotheque", "mediatheque"),
    ("augmenter", "accroitre", "hausser", "relever", "renforcer", "hausse", "augmentation"),
    ("reduire", "diminuer", "baisser", "abaisser", "baisse", "reduction", "diminution"),
    ("interdire", "bannir", "prohiber", "proscrire", "interdiction"),
    ("supprimer", "abolir", "eliminer", "suppression", "abolition"),
    ("obliger", "contraindre", "obligation", "obligatoire", "imposer"),
    ("plus", "davantage"),
    ("gouvernement", "etat"),
    ("elu", "politicien", "parlementaire", "depute"),
    ("election", "scrutin"),
    ("prix", "tarif", "cout"),
    ("solaire", "photovoltaique"),
    ("nourriture", "alimentation", "aliment"),
    ("cantine", "refectoire"),
    ("magasin", "commerce", "commercant"),
    ("route", "chaussee"),
    ("animal", "bete"),
    ("patient", "malade"),
    ("infirmier", "soignant"),
    ("allocation", "prestation"),
    ("pauvre", "precaire", "demuni", "defavorise", "pauvrete", "precarite"),
    ("universite", "fac", "faculte"),
    ("renover", "rehabiliter", "renovation", "rehabilitation"),
    ("recycler", "recyclage"),
    ("delinquance", "criminalite"),
    ("drogue", "stupefiant"),
    ("amende", "contravention", "verbaliser", "sanctionner", "sanction"),
    ("simplifier", "faciliter", "simplification"),
    ("demarche", "formalite", "procedure"),
    ("salarie", "employe", "travailleur"),
    ("patron", "employeur"),
    ("education", "enseignement", "instruction"),
    ("numerique", "digital"),
    ("donnee", "data"),
    ("foret", "bois"),
    ("mer", "ocean"),
)


def stem_fr(word: str) -> str:
    """A light French stemmer: plurals, feminines, a few derivational and verb endings.

    Conflates e.g. logement/logements/loger, cyclable/cycliste/cycle, sociaux/sociale,
    nombreux/nombreuse. ``word`` must already be folded (lowercase, no accents).
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("eaux"):
        word = word[:-1]
    elif word.endswith("aux") and len(word) > 4:
        word = word[:-3] + "al"
    elif word[-1] in "sx" and not word.endswith("ss"):
        word = word[:-1]
    for suffix, replacement in (
        ("ienne", "ien"),
        ("enne", "en"),
        ("onne", "on"),
        ("elle", "el"),
        ("ette", "et"),
        ("euse", "eu"),
        ("trice", "teu"),
        ("eur", "eu"),
        ("ive", "if"),
        ("iere", "ier"),
        ("ere", "er"),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            word = word[: -len(suffix)] + replacement
            break
    for suffix in (
        "issement",
        "ement",
        "ation",
        "ment",
        "able",
        "ible",
        "ique",
        "iste",
        "isme",
        "ie",
        "er",
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if word.endswith("ee") and len(word) > 4:  # feminine past participle: isolée → isol
        word = word[:-2]
    elif word.endswith("e") and len(word) > 3:
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiou":
        word = word[:-1]
    return word


def _build_synonyms() -> dict[str, tuple[str, str]]:
    """Stem → (canonical stem, canonical surface word); a stem in two groups is an error."""
    table: dict[str, tuple[str, str]] = {}
    for group in SYNONYM_GROUPS:
        head = group[0]
        for word in group:
            stem = stem_fr(word)
            known = table.get(stem)
            if known is not None and known[1] != head:
                raise ValueError(f"synonym stem {stem!r} in groups {known[1]!r} and {head!r}")
            table[stem] = (stem_fr(head), head)
    return table


_SYNONYMS = _build_synonyms()


def proposal_tokens(text: str) -> list[tuple[str, str]]:
    """Content words of a proposal as (stem, surface) pairs, synonyms collapsed.

    Folds accents and case, drops the "Il faut" prefix, elisions (l', d', qu'…) and function
    words, stems what is left, then maps synonyms to their group's first word.
    """
    folded = _PROPOSAL_PREFIX.sub(" ", fold(text))
    folded = _ELISION.sub(" ", folded)
    tokens: list[tuple[str, str]] = []
    for word in _DEDUP_TOKEN.findall(folded):
        if word in DEDUP_STOPWORDS:
            continue
        stem = stem_fr(word)
        canonical = _SYNONYMS.get(stem)
        tokens.append(canonical if canonical else (stem, word))
    return tokens


def _features(text: str) -> tuple[Counter[str], Counter[str]]:
    """Word features (stems) and character 3-grams of each padded content word."""
    tokens = proposal_tokens(text)
    words = Counter(stem for stem, _ in tokens)
    grams: Counter[str] = Counter()
    for _, surface in tokens:
        padded = f" {surface} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return words, grams


# --------------------------------------------------------------------------------------------
# Near-duplicates: the index

WORD_WEIGHT = 0.5
"""Share of the word-stem cosine in the similarity; the rest is the character 3-gram cosine."""
DUPLICATE_THRESHOLD = 0.6
"""Similarity from which :func:`run_checks` reports a proposal as a likely duplicate."""


class _Channel:
    """One TF-IDF vector space (word stems or character n-grams) with its inverted index."""

    __slots__ = ("postings", "vectors", "norms", "_idf", "_weighted", "_stats_docs")

    def __init__(self) -> None:
        self.postings: dict[str, dict[int, int]] = {}
        self.vectors: dict[int, Counter[str]] = {}
        self.norms: dict[int, float] = {}  # at insertion time: for candidate gathering only
        # Caches valid while the index does not change:
        self._idf: dict[str, float] = {}
        self._weighted: dict[int, tuple[dict[str, float], float]] = {}
        self._stats_docs = -1

    def _fresh(self, n_docs: int) -> None:
        if n_docs != self._stats_docs:
            self._idf.clear()
            self._weighted.clear()
            self._stats_docs = n_docs

    def idf(self, term: str, n_docs: int) -> float:
        self._fresh(n_docs)
        value = self._idf.get(term)
        if value is None:
            df = len(self.postings.get(term, ()))
            value = self._idf[term] = math.log((1 + n_docs) / (1 + df)) + 1.0
        return value

    def norm(self, vector: Counter[str], n_docs: int) -> float:
        return math.sqrt(sum((tf * self.idf(t, n_docs)) ** 2 for t, tf in vector.items()))

    def weigh(self, vector: Counter[str], n_docs: int) -> tuple[dict[str, float], float]:
        """TF-IDF weights of a vector, and their norm."""
        weights = {t: tf * self.idf(t, n_docs) for t, tf in vector.items()}
        return weights, math.sqrt(sum(w * w for w in weights.values()))

    def weighted(self, key: int, n_docs: int) -> tuple[dict[str, float], float]:
        """:meth:`weigh` of an indexed document, cached."""
        self._fresh(n_docs)
        cached = self._weighted.get(key)
        if cached is None:
            cached = self._weighted[key] = self.weigh(self.vectors[key], n_docs)
        return cached

    @staticmethod
    def cosine(a: tuple[dict[str, float], float], b: tuple[dict[str, float], float]) -> float:
        (wa, na), (wb, nb) = a, b
        if not na or not nb:
            return 0.0
        if len(wa) > len(wb):
            wa, wb = wb, wa
        return sum(w * wb[t] for t, w in wa.items() if t in wb) / (na * nb)

    def add(self, key: int, vector: Counter[str], n_docs: int) -> None:
        self._stats_docs = -1
        self.vectors[key] = vector
        for term, tf in vector.items():
            self.postings.setdefault(term, {})[key] = tf
        self.norms[key] = self.norm(vector, n_docs) or 1.0

    def remove(self, key: int) -> None:
        self._stats_docs = -1
        for term in self.vectors.pop(key):
            posting = self.postings[term]
            del posting[key]
            if not posting:
                del self.postings[term]
        del self.norms[key]

    def accumulate(
        self, query: Counter[str], n_docs: int, scores: dict[int, float], budget: int
    ) -> None:
        """Add each document's approximate cosine to ``scores``, rarest terms first, until
        ``budget`` postings are read: common terms weigh little and cost the most. The
        rarest term is always read, so that a query never ends without candidates."""
        q_norm = self.norm(query, n_docs)
        if not q_norm:
            return
        terms = sorted(
            (t for t in query if t in self.postings), key=lambda t: len(self.postings[t])
        )
        spent = 0
        for term in terms:
            posting = self.postings[term]
            if spent and spent + len(posting) > budget:
                break
            spent += len(posting)
            weight = query[term] * self.idf(term, n_docs) ** 2 / q_norm
            norms = self.norms
            for key, tf in posting.items():
                scores[key] = scores.get(key, 0.0) + weight * tf / norms[key]


class DuplicateIndex:
    """Near-duplicate search among a consultation's proposals.

    Similarity = ``WORD_WEIGHT`` × cosine of TF-IDF word stems (synonyms collapsed) +
    the rest × cosine of TF-IDF character 3-grams (typos, inflections the stemmer misses).
    Word order does not matter. IDF follows the indexed proposals and is smoothed, so that a
    tiny index still works.

    A query gathers candidates through the inverted indexes, reading its rarest terms first
    and stopping after ``postings_budget`` postings per channel, then scores the best
    ``candidates`` exactly: a few milliseconds on 10,000 proposals.
    """

    def __init__(
        self,
        items: Iterable[tuple[Hashable, str]] = (),
        *,
        word_weight: float = WORD_WEIGHT,
        candidates: int = 50,
        postings_budget: int = 5_000,
    ) -> None:
        self.word_weight = word_weight
        self.candidates = candidates
        self.postings_budget = postings_budget
        self._words = _Channel()
        self._grams = _Channel()
        self._ids: dict[int, Hashable] = {}
        self._keys: dict[Hashable, int] = {}
        self._texts: dict[int, str] = {}
        self._next_key = 0
        for proposal_id, text in items:
            self.add(proposal_id, text)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, proposal_id: object) -> bool:
        return proposal_id in self._keys

    def ids(self) -> list[Hashable]:
        """The indexed proposal ids, in the order they were indexed."""
        return list(self._keys)

    def add(self, proposal_id: Hashable, text: str) -> None:
        """Index a proposal; an id already present is replaced."""
        if proposal_id in self._keys:
            self.remove(proposal_id)
        key = self._next_key
        self._next_key += 1
        self._ids[key] = proposal_id
        self._keys[proposal_id] = key
        self._texts[key] = text
        words, grams = _features(text)
        n_docs = len(self._ids)
        self._words.add(key, words, n_docs)
        self._grams.add(key, grams, n_docs)

    def add_many(self, items: Iterable[tuple[Hashable, str]]) -> None:
        """Index several proposals (one :meth:`add` each here; subclasses may batch)."""
        for proposal_id, text in items:
            self.add(proposal_id, text)

    def remove(self, proposal_id: Hashable) -> None:
        """Drop a proposal (e.g. refused); unknown ids raise ``KeyError``."""
        key = self._keys.pop(proposal_id)
        del self._ids[key], self._texts[key]
        self._words.remove(key)
        self._grams.remove(key)

    def similarity(self, a: str, b: str) -> float:
        """Similarity in [0, 1] of two texts, with this index's IDF statistics."""
        n_docs = max(1, len(self._ids))
        fa, fb = _features(a), _features(b)
        word = _Channel.cosine(self._words.weigh(fa[0], n_docs), self._words.weigh(fb[0], n_docs))
        gram = _Channel.cosine(self._grams.weigh(fa[1], n_docs), self._grams.weigh(fb[1], n_docs))
        return self.word_weight * word + (1.0 - self.word_weight) * gram

    def _scorer(self, features: tuple[Counter[str], Counter[str]]) -> Callable[[int], float]:
        """Exact similarity of a text's features to an indexed document, by internal key."""
        n_docs = max(1, len(self._ids))
        words, grams = features
        q_words, q_grams = self._words.weigh(words, n_docs), self._grams.weigh(grams, n_docs)
        w = self.word_weight

        def score(key: int) -> float:
            word = _Channel.cosine(q_words, self._words.weighted(key, n_docs))
            gram = _Channel.cosine(q_grams, self._grams.weighted(key, n_docs))
            return round(w * word + (1.0 - w) * gram, 4)

        return score

    def similar(
        self,
        text: str,
        limit: int = 5,
        *,
        exclude: Hashable | None = None,
        min_similarity: float = 0.0,
    ) -> list[tuple[Hashable, float]]:
        """The ``limit`` indexed proposals most similar to ``text``, best first."""
        n_docs = len(self._ids)
        if not n_docs or limit <= 0:
            return []
        query = _features(text)
        scores: dict[int, float] = {}
        budget = max(self.postings_budget, 2 * self.candidates)
        self._words.accumulate(query[0], n_docs, scores, budget)
        gram_scores: dict[int, float] = {}
        self._grams.accumulate(query[1], n_docs, gram_scores, budget)
        w = self.word_weight
        for key in scores:
            scores[key] *= w
        for key, value in gram_scores.items():
            scores[key] = scores.get(key, 0.0) + (1.0 - w) * value
        excluded = self._keys.get(exclude) if exclude is not None else None
        shortlist = heapq.nlargest(
            max(self.candidates, limit), (k for k in scores if k != excluded), scores.__getitem__
        )
        score_of = self._scorer(query)
        ranked = []
        for key in shortlist:
            score = score_of(key)
            if score >= min_similarity and score > 0.0:
                ranked.append((-score, key))
        ranked.sort()  # ties: the older proposal first, as in similar_exact
        return [(self._ids[key], -score) for score, key in ranked[:limit]]

    def similar_exact(
        self, text: str, limit: int = 5, *, exclude: Hashable | None = None
    ) -> list[tuple[Hashable, float]]:
        """Like :meth:`similar` but scores every indexed proposal: the reference (slow)."""
        score_of = self._scorer(_features(text))
        ranked = []
        for key, proposal_id in self._ids.items():
            if exclude is not None and proposal_id == exclude:
                continue
            score = score_of(key)
            if score > 0.0:
                ranked.append((-score, key))
        ranked.sort()
        return [(self._ids[key], -score) for score, key in ranked[:limit]]

    def text(self, proposal_id: Hashable) -> str:
        """The indexed text of a proposal."""
        return self._texts[self._keys[proposal_id]]

    def similar_to(self, proposal_id: Hashable, limit: int = 5) -> list[tuple[Hashable, float]]:
        """Proposals most similar to an indexed one, itself excluded."""
        key = self._keys[proposal_id]
        return self.similar(self._texts[key], limit, exclude=proposal_id)


def check_duplicates(
    text: str,
    index: DuplicateIndex,
    *,
    exclude: Hashable | None = None,
    threshold: float = DUPLICATE_THRESHOLD,
    limit: int = 5,
) -> tuple[list[tuple[Hashable, float]], list[Finding]]:
    """Most similar proposals of ``index``, and a finding for each one above ``threshold``."""
    similar = index.similar(text, limit, exclude=exclude)
    findings = [
        Finding(
            "duplicate",
            f"proche de la proposition {pid} (similarité {score:.2f})",
            None,
            index.text(pid),
            ref=pid,
            score=float(score),
        )
        for pid, score in similar
        if score >= threshold
    ]
    return similar, findings


# --------------------------------------------------------------------------------------------
# All checks


def run_checks(
    text: str,
    *,
    language: str = "fr",
    index: DuplicateIndex | None = None,
    exclude_id: Hashable | None = None,
    duplicate_threshold: float = DUPLICATE_THRESHOLD,
) -> CheckReport:
    """Run every pre-check on a proposal. ``exclude_id`` keeps the proposal itself out of
    its duplicates when it is already indexed."""
    findings: list[Finding] = []
    findings += check_personal_data(text)
    findings += check_links(text)
    findings += check_insults(text)
    guess, language_findings = check_language(text, language)
    findings += language_findings
    similar: list[tuple[Hashable, float]] = []
    if index is not None:
        similar, duplicate_findings = check_duplicates(
            text, index, exclude=exclude_id, threshold=duplicate_threshold
        )
        findings += duplicate_findings
    return CheckReport(tuple(findings), guess, tuple(similar))
