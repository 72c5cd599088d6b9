"""Encoding by context: how data from the database may reach a page's scripts.

Operators' feeds and zone files are hostile input (vehicle ids, names...). In
HTML they go through Jinja's autoescaping. Nothing of them is ever written
into generated JavaScript: scripts get data only as JSON in a
``<script type="application/json">`` block (not executed, no nonce), read with
``JSON.parse(element.textContent)`` by the app's own static scripts, which show
every text with ``textContent``.

:func:`json_for_html` escapes what could end the block or be read as markup
(``<``, ``>``, ``&``, ``'``) and the line separators U+2028/U+2029 (which old
JavaScript parsers took for line ends), so the block is safe inside any HTML
context, whatever the strings hold.
"""

from __future__ import annotations

from typing import Any

import orjson
from markupsafe import Markup, escape

_ESCAPES = str.maketrans(
    {
        "<": "\\u003c",
        ">": "\\u003e",
        "&": "\\u0026",
        "'": "\\u0027",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
    }
)


def json_for_html(data: Any) -> str:
    """``data`` as JSON that can sit in an HTML page (a JSON block or an attribute)."""
    return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS).decode().translate(_ESCAPES)


def json_script(element_id: str, data: Any) -> Markup:
    """A ``<script type="application/json">`` block holding ``data`` (never executed)."""
    return Markup('<script type="application/json" id="{}">{}</script>').format(
        escape(element_id), Markup(json_for_html(data))
    )
