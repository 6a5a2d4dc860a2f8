"""Property: no user_id or items string can inject structure into the model request.

For any input, request.vtl renders JSON that is either exactly one instance per accepted item
(each in0/in1 a one-element list of an int, no other keys) or {"error": ...} naming the
offending value. "Accepted" is defined here independently of the template.
"""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.vtl_cases import render_request

MAX_ITEMS = 100
EXAMPLES = int(os.environ.get("VTL_PROPERTY_EXAMPLES", "2500"))

fragments = st.sampled_from(['"', "'", "\\", "]", "}", "{", "[", ",", ":", " ", "\t", "\n", "\u2028", "é", "😀",
                             "$", "#", "&", "=", "%22", "-", "+", ".", "e", "0", "00", "null", "true"])
nasty = st.lists(fragments, max_size=6).map("".join)
digits = st.from_regex(r"[0-9]{1,11}", fullmatch=True)
token = st.one_of(digits, digits.map(lambda d: f" {d} "), st.just(""), nasty,
                  st.text(max_size=8), st.just('1]}],"x":[{"in0":[2'))
short_id = st.integers(0, 999_999_999).map(str)
tidy = st.one_of(short_id, short_id.map(lambda d: f" 0{d} "), st.just(""))
tidy_items = st.lists(tidy, min_size=1, max_size=110).map(",".join)
# Weighted towards well-formed input so both outcomes are explored thoroughly.
items_text = st.one_of(tidy_items, tidy_items, st.lists(token, max_size=120).map(",".join), st.text(max_size=60))
user_text = st.one_of(short_id, short_id, short_id.map(lambda d: f" 0{d}"), digits, nasty, st.text(max_size=12))


def _java_trim(text: str) -> str:
    start, end = 0, len(text)
    while start < end and text[start] <= " ":
        start += 1
    while end > start and text[end - 1] <= " ":
        end -= 1
    return text[start:end]


def _accepted_id(text: str) -> int | None:
    """The id a client meant, or None: digits only after trimming, at most 9 of them."""
    value = _java_trim(text)
    stripped = value.lstrip("0") or ("0" if value else "")
    if stripped and len(stripped) <= 9 and all("0" <= c <= "9" for c in stripped):
        return int(stripped)
    return None


def _entries(items: str) -> list[str]:
    parts = items.split(",")
    while len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return parts


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(user=user_text, items=items_text)
def test_request_template_never_lets_input_shape_the_body(user, items):
    body = json.loads(render_request(user, items).body)
    user_id = _accepted_id(user)
    entries = [e for e in _entries(items) if _java_trim(e)]
    accepted = [_accepted_id(e) for e in entries]
    valid = user_id is not None and entries and None not in accepted and len(entries) <= MAX_ITEMS
    event("accepted" if valid else "refused")
    if valid:
        assert set(body) == {"instances"}
        assert body["instances"] == [{"in0": [user_id], "in1": [item]} for item in accepted]
        for instance in body["instances"]:
            assert set(instance) == {"in0", "in1"}
            assert all(type(instance[k][0]) is int and len(instance[k]) == 1 for k in instance)
        return
    assert set(body) == {"error"} and isinstance(body["error"], str)
    message = body["error"]
    if user_id is None:
        assert message.startswith("user_id: ") and repr_of(user) in message
    elif not entries:
        assert message.startswith("items: no item ids")
    elif None in accepted and len(entries) <= MAX_ITEMS and len(_entries(items)) <= 1000:
        # a list of more than MAX_ITEMS ids is refused for its length before any id is looked at
        bad = entries[accepted.index(None)]
        assert message.startswith("items[") and repr_of(bad) in message
    else:
        assert "at most 100" in message


def repr_of(value: str) -> str:
    """How the template quotes a refused value: its first 40 UTF-16 units (Java's characters)."""
    units = value.encode("utf-16-le", "surrogatepass")[:80]
    return f"'{units.decode('utf-16-le', 'surrogatepass')}'"
