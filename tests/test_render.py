"""The pages and reports are Jinja2 templates (flows/render/templates/), autoescaped: what people typed is shown as
typed, in HTML and in the markdown the Prefect UI renders — and a dossier page archived before the templates existed
is rendered again byte for byte, so `archive verify` still passes on old bags."""

from __future__ import annotations

import shutil
from pathlib import Path

from flows.render.dossier import dossier_html
from flows.render.stage_table import stage_table_markdown
from flows.render.templates import markdown_text
from flows.usecases.archive_verify import verify_archive
from flows.usecases.show import show_case
from models import store
from models.db import read_transaction
from support import Driver

# `juece demo`'s bag, exported by the f-string renderer (main at 6ea16a0): comments, dispositions, a refused attempt,
# an acknowledged warning, documents, the meeting — every section of the page.
OLD_BAG = Path(__file__).parent / "data" / "bag-before-templates"
HOSTILE = '三亚 | *河西* <script>alert("x")</script> [link](javascript:x) & \'改造\''


def test_a_bag_exported_before_the_templates_still_verifies_byte_for_byte(tmp_path: Path) -> None:
    bag = shutil.copytree(OLD_BAG, tmp_path / "bag")
    verdict = verify_archive(bag)
    assert verdict.ok, verdict.failures
    assert "dossier.html and four-properties.json rendered again from the history: identical" in verdict.checked

    page = bag / "data" / "dossier.html"
    page.write_text(page.read_text(encoding="utf-8").replace("行政首长", "行政手长", 1), encoding="utf-8")
    assert not verify_archive(bag).ok  # the comparison can fail


def test_the_dossier_page_escapes_what_people_typed(ws) -> None:
    case = Driver(ws)
    case.launch("risk-relevant", title=HOSTILE)
    with read_transaction(ws.engine) as conn:
        events = store.load_stream(conn, case.case_id)
    from flows.usecases.unit_of_work import pack_of
    from models.state import replay

    meta = {"档号": "<a>", "题名": HOSTILE, "责任者": "x", "日期": "2025-08-25", "保管期限": "永久", "密级": "公开"}
    page = dossier_html(events, pack_of(replay(events)), meta)
    assert "<script>" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "&#x27;改造&#x27;" in page and "<td>&lt;a&gt;</td>" in page


def test_the_stage_table_shows_a_hostile_title_as_text_in_markdown(ws) -> None:
    case = Driver(ws)
    case.launch("risk-relevant", title=HOSTILE)
    page = stage_table_markdown(show_case(ws, case.case_id))
    title = page.splitlines()[0]
    assert title == (f"# {case.case_id} 三亚 \\| \\*河西\\* &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; "
                     "\\[link\\](javascript:x) &amp; &#x27;改造&#x27;")
    rows = [line for line in page.splitlines() if line.startswith("| ")]
    assert all(line.count(" | ") == 3 for line in rows[1:] if not line.startswith("| deadline"))  # no cell split


def test_markdown_text_keeps_one_line_and_escapes_cell_separators() -> None:
    assert markdown_text("a|b\n# c *d*") == "a\\|b # c \\*d\\*"
    assert markdown_text(None) == ""
