"""The rule pages in docs/rules/ (which diagnostics link to) are generated from the rules
themselves; this keeps them current. Regenerate with scripts/gen-docs."""

from pathlib import Path

import pytest

from torchwire.cli import rule_markdown, rules_index
from torchwire.rules import ALL_RULES

DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules"


@pytest.mark.parametrize("rule", ALL_RULES, ids=[r.code for r in ALL_RULES])
def test_rule_page_is_current(rule):
    assert (DOCS / f"{rule.code}.md").read_text(encoding="utf-8") == rule_markdown(rule) + "\n"


def test_index_is_current():
    assert (DOCS / "README.md").read_text(encoding="utf-8") == rules_index() + "\n"
