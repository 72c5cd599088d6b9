"""JSON for pages: nothing in a string can end its block or be read as markup."""

from __future__ import annotations

import json

from fleet_monitor.web.encode import json_for_html, json_script

NASTY = "</script><script>alert(1)</script> <!-- ' \" & ` ${x} \u2028\u2029 é 🚲"


def test_json_for_html_escapes_what_html_or_old_parsers_would_read() -> None:
    out = json_for_html({"id": NASTY, "n": 1.5})
    for raw in ("<", ">", "&", "'", "\u2028", "\u2029"):
        assert raw not in out, raw
    assert "\\u003c/script\\u003e" in out and "\\u2028\\u2029" in out
    assert json.loads(out) == {"id": NASTY, "n": 1.5}  # the same data once parsed


def test_json_script_is_a_data_block() -> None:
    block = str(json_script('x" onload="y', {"name": NASTY}))
    assert block.startswith('<script type="application/json" id="x&#34; onload=&#34;y">')
    assert block.endswith("</script>") and block.count("</script>") == 1
    body = block[block.index(">") + 1 : -len("</script>")]
    assert json.loads(body) == {"name": NASTY}
