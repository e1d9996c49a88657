"""Messages the services write in English and the pages say in the reader's language.

A service knows no request and no locale (it runs in jobs too), so it cannot translate. It
writes ``N_("This proposal is %(status)s: it cannot be voted on.", status=status)``: a
:class:`Message`, which is the English text (a ``str``: the API and the logs show it as is) and
keeps its template and parameters, so that a page can look the template up in the catalogue
and fill it in (``pnyx.web.forms.say``). ``N_`` is one of the keywords Babel extracts by
default: every template lands in ``messages.po``, where a test checks it has a translation.
"""

from __future__ import annotations

from typing import Any


class Message(str):
    """An English message with its gettext template and parameters (a parameter may itself be
    a :class:`Message`, such as a status name, to be translated with it)."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, **params: Any) -> Message:
        message = super().__new__(cls, template % params if params else template)
        message.template = template
        message.params = params
        return message

    def __reduce__(self):  # copies and pickles (jobs) keep the template and parameters
        return (_rebuild, (self.template, self.params))


def _rebuild(template: str, params: dict[str, Any]) -> Message:
    return Message(template, **params)


def N_(template: str, **params: Any) -> Message:  # noqa: N802 - gettext's name for "mark only"
    """A message to translate where it is shown: ``template`` in gettext's ``%(name)s`` form."""
    return Message(template, **params)
