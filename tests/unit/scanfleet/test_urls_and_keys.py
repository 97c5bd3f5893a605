from __future__ import annotations

import pytest

from scanfleet import keys, urls


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  https://Example.com/a?b=1#frag ", "https://example.com/a?b=1"),
        ("http://127.0.0.1:8001/", None),
        ("http://[::1]:8001/", None),
        (f"https://{'a' * 63}.example/", None),  # a label of 63 and a name of 253 are the limits, not over them
        (f"http://{'a' * 61}.{'b' * 63}.{'c' * 63}.{'d' * 63}/", None),
        ("https://under_score.example/", None),
    ],
)
def test_normalise_target_keeps_what_is_fetched(raw: str, expected: str | None) -> None:
    assert urls.normalise_target(raw) == (expected or raw)


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("javascript:alert(1)", "url_scheme"),
        ("file:///etc/passwd", "url_scheme"),
        ("https://a:b@example.com/", "url_credentials"),
        ("http://", "url_host"),
        ("https://example.com/" + "x" * 3000, "url_too_long"),
        ("http://[::1", "url_parse"),
        ("http://%31%32%37.0.0.2/", "url_host"),
        ("http://127.0.0.%32/", "url_host"),
        ("http://exa%20mple.com/", "url_host"),
        (f"http://{'a' * 64}.example/", "url_host"),
        (f"http://{'a.' * 124}example/", "url_host"),
        ("http://a..example/", "url_host"),
        ("http://example.com:0/", "url_port"),
        ("http://example.com:65536/", "url_port"),
        ("http://127.0.0.1:99999/", "url_port"),
    ],
)
def test_normalise_target_names_the_broken_rule(raw: str, rule: str) -> None:
    with pytest.raises(urls.InvalidUrl) as caught:
        urls.normalise_target(raw)
    assert caught.value.rule == rule


def test_keys_are_random_and_stored_as_digest_only() -> None:
    first, second = keys.generate(), keys.generate()
    assert first != second and first.startswith(keys.PREFIX) and len(first) > 40
    assert keys.digest(first) == keys.digest(first) != keys.digest(second)
    assert first.encode() not in keys.digest(first)
    assert first.startswith(keys.display_prefix(first)) and len(keys.display_prefix(first)) < 12
