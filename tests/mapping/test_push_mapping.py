"""mappings/push.toml: strict like every mapping file, with placeholders checked at start-up."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.mapping.loader import FILES, MappingError, load_mappings

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
WRITES = """
[writes.memo]
method = "POST"
path = "/iMail/api/rest/processes/{processId}/memos"
body = { text = "{statusText}" }
"""


def _with_push(tmp_path: Path, text: str) -> Path:
    for name in FILES:
        shutil.copy(MAPPINGS / name, tmp_path / name)
    (tmp_path / "push.toml").write_text(text, encoding="utf-8")
    return tmp_path


def test_the_shipped_push_mapping_declares_storage_then_memo() -> None:
    push = load_mappings(MAPPINGS).push
    assert push is not None
    assert list(push.writes) == ["storage", "memo"]
    assert push.writes["storage"].path == "/iMail/api/rest/tickets/{ticketId}/storage"
    assert push.poll.channels["orders"].interval_seconds == 30
    assert push.history.keep_per_ticket == 50


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("", ["writes needs at least one"]),
        (WRITES + "[writes.memo.extra]\n", ["unknown key 'writes.memo.extra'"]),
        (WRITES.replace("{statusText}", "{customerEmail}"), ["unknown placeholder {customerEmail}"]),
        (WRITES.replace('"/iMail', '"iMail'), ["path must start with /"]),
        (WRITES.replace('"POST"', '"DELETE"'), ["writes.memo.method"]),
        (WRITES + '[texts.en]\nshipped = "x"\n', ["texts.en.shipped: unknown kind"]),
        (WRITES + '[texts.en.refund]\nSuccess = "x"\n', ["texts.en.refund: this kind has no states"]),
        (WRITES + '[texts.xx-nope]\nrefund = "x"\n', ["unknown locale 'xx-nope'"]),
        (WRITES + '[texts.en]\nrefund = "{refundAmount"\n', ["unbalanced braces"]),
        (WRITES + '[labels.en.refund]\nSuccess = "done"\n', ["labels.en.refund: unknown kind"]),
        (
            WRITES + '[labels.de.order-state]\nOpen = "{orderNumber}"\n',
            ["order-state.Open: a label is plain"],
        ),
        (WRITES + '[labels.xx-nope.order-state]\nOpen = "x"\n', ["unknown locale 'xx-nope'"]),
        (WRITES + "[retry]\nmax-attempts = 0\n", ["max-attempts must be between 1 and 100"]),
        (WRITES + "[history]\nkeep-per-ticket = 0\n", ["keep-per-ticket must be between 1 and 1000"]),
        (WRITES + "[history]\nkeep = 5\n", ["unknown key 'history.keep'", "keep-per-ticket"]),
        (WRITES + "[poll.channels.orders]\nmessage-types = []\n", ["message-types needs at least one"]),
        (WRITES + '[poll.channels.orders]\nmessage-types = ["orderStateChanged"]\n', ["message type names"]),
        ("linkkinds = []\n" + WRITES, ["unknown key 'linkkinds'", "allowed here: link-kinds"]),
    ],
)
def test_invalid_push_mappings_name_the_file_the_key_and_the_fix(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    with pytest.raises(MappingError) as caught:
        load_mappings(_with_push(tmp_path, text))
    message = str(caught.value)
    assert message.startswith(str(tmp_path / "push.toml"))
    assert "fix:" in message
    for fragment in fragments:
        assert fragment in message
