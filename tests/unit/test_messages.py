"""Every message a person can read exists in French: the catalogue is complete, and services
raise their messages as ``N_`` messages (extracted into it), never as bare English strings."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from pnyx.kernel.errors import Invalid, Problem
from pnyx.kernel.i18n import N_, Message

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "platform" / "pnyx" / "translations" / "fr" / "LC_MESSAGES" / "messages.po"
SOURCES = ("platform/pnyx", "tenants", "themes", "billing")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _extracted() -> dict[str, str]:
    """msgid → where it was found, as ``make``'s ``pybabel extract -F babel.cfg`` finds them."""
    with open(ROOT / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, str] = {}
    for filename, line, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, f"{filename}:{line}")
    return found


def test_every_message_of_the_code_has_its_french_translation():
    with open(CATALOGUE, "rb") as po:
        catalogue = read_po(po)
    missing, broken = [], []
    extracted = _extracted()
    for msgid, where in extracted.items():
        entry = catalogue.get(msgid)
        strings = () if entry is None else entry.string
        strings = (strings,) if isinstance(strings, str) else strings
        if not all(strings) or not strings:
            missing.append(f"{where}: {msgid}")
        elif any(set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(s)) for s in strings):
            broken.append(f"{where}: {msgid} → {entry.string}")
    assert missing == [], "not translated in messages.po:\n" + "\n".join(missing)
    assert broken == [], "placeholders differ:\n" + "\n".join(broken)
    ids = (m.id[0] if isinstance(m.id, tuple) else m.id for m in catalogue)
    unused = [msgid for msgid in ids if msgid and msgid not in extracted]
    assert unused == [], "in messages.po, no longer in the code:\n" + "\n".join(unused)


def _problem_classes() -> set[str]:
    names = {"Problem"}
    for path in (ROOT / "platform/pnyx/kernel/errors.py", ROOT / "platform/pnyx/web/forms.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(base, ast.Name) and base.id in names | {"Problem"} for base in node.bases
            ):
                names.add(node.name)
    return names


def _bare_texts(node: ast.AST) -> list[ast.AST]:
    """Literal strings (plain or f-strings) at the top of a message argument, or in the lists of
    an ``errors`` mapping."""
    if isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str)
    ):
        return [node]
    if isinstance(node, ast.Dict):
        return [text for value in node.values for text in _bare_texts(value)]
    if isinstance(node, ast.DictComp):
        return _bare_texts(node.value)
    if isinstance(node, ast.List | ast.Tuple):
        return [text for item in node.elts for text in _bare_texts(item)]
    return []


def test_services_raise_messages_not_bare_english():
    """A bare string would reach French pages in English: ``N_("…")`` is extracted instead."""
    problems = _problem_classes()
    bare = []
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Assign) and any(
                    isinstance(target, ast.Subscript)
                    and isinstance(target.value, ast.Name)
                    and target.value.id.endswith("errors")
                    for target in node.targets
                ):  # errors["field"] = [...], a problem's errors gathered before raising it
                    arguments = [node.value]
                elif (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in problems
                ):
                    arguments = list(node.args[:1]) + [
                        k.value for k in node.keywords if k.arg in ("detail", "title", "errors")
                    ]
                else:
                    continue
                for argument in arguments:
                    for text in _bare_texts(argument):
                        bare.append(f"{path.relative_to(ROOT)}:{text.lineno}")
    assert bare == [], "messages to write as N_(…):\n" + "\n".join(bare)


def test_a_message_is_its_english_text_and_keeps_what_translates_it():
    message = N_("This proposal is %(status)s.", status=N_("pending"))
    assert message == "This proposal is pending." and isinstance(message, str)
    assert (message.template, message.params["status"]) == (
        "This proposal is %(status)s.",
        "pending",
    )
    problem = Invalid(message, errors={"status": [message]})
    assert json.loads(json.dumps(problem.to_dict()))["errors"] == {
        "status": ["This proposal is pending."]
    }
    assert isinstance(problem.detail, Message) and isinstance(Problem().title, Message)


@pytest.mark.parametrize(
    ("locale", "said"),
    [("fr", "Cette proposition est déjà en attente."), ("en", "This proposal is already pending.")],
)
def test_pages_say_a_message_in_the_readers_language(locale, said):
    from flask import Flask
    from flask_babel import Babel, force_locale

    from pnyx.web.forms import say

    app = Flask(__name__)
    Babel(app, default_translation_directories=str(CATALOGUE.parents[2]))
    with app.test_request_context(), force_locale(locale):
        message = N_("This proposal is already %(status)s.", status=N_("pending"))
        assert say(message) == said
        assert say("Not a message of ours.") == "Not a message of ours."
