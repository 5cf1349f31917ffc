"""Go's ``text/template``, as Prometheus (alert and recording rule templates) and Alertmanager
(notification templates) run it. The engine knows only Go: each user registers its own
functions (``humanize``, ``query``, ``toUpper`` ...) through ``Template(name, text, funcs)``.

Modules, each importing only those before it: :mod:`~.values` (Go types, truth, ``fmt.Sprint``
of a value), :mod:`~.fmt` (``fmt.Sprintf``), :mod:`~.builtins` (the builtin functions),
:mod:`~.lex` (tokens and :class:`TemplateError`), :mod:`~.parse` (the parse tree, with Go's
parse-time checks), :mod:`~.exec` (:class:`Template` and execution).
"""

from vigil.gocompat.template.exec import Template
from vigil.gocompat.template.fmt import sprintf
from vigil.gocompat.template.lex import TemplateError
from vigil.gocompat.template.values import GoStruct, go_str, go_type, truth

__all__ = ["GoStruct", "Template", "TemplateError", "go_str", "go_type", "sprintf", "truth"]
