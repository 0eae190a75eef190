"""The README's generated tables are replaced between explicit markers; a marker gone is an error, never a table
written over the prose around it."""

import pytest

from mash_cli.specs import README, between_markers, readme

pytestmark = pytest.mark.unit

TEXT = """intro

<!-- generated: topics -->

| old | table |

<!-- end generated -->

prose kept

<!-- generated: acls -->

| old | matrix |

<!-- end generated -->
"""


def test_only_what_lies_between_a_tables_markers_is_replaced():
    out = between_markers(TEXT, "topics", "| new | table |")
    assert "| new | table |" in out and "| old | table |" not in out
    assert out.replace("| new | table |", "| old | table |") == TEXT


@pytest.mark.parametrize(
    "broken",
    [
        TEXT.replace("<!-- generated: topics -->", ""),  # no start
        TEXT.replace("<!-- end generated -->\n\nprose", "prose"),  # its end gone: the acls' end must not be taken for it
        TEXT + "<!-- generated: topics -->\n",  # twice
    ],
    ids=["no start marker", "no end marker", "start marker twice"],
)
def test_a_missing_or_doubled_marker_is_a_clear_error(broken):
    with pytest.raises(ValueError, match="generated: topics"):
        between_markers(broken, "topics", "| new | table |")


def test_the_committed_readme_regenerates_unchanged():
    assert readme() == README.read_text()
