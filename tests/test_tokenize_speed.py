"""The tokenizer's fast path (ASCII look-ups, one byte a character for ASCII-only batches) gives
the general path's output exactly: offsets, hashes, separator hashes and counts."""

from __future__ import annotations

import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from copytrace.normalize import Tokens, _tokenize_batch, tokenize_batch

# pieces that exercise every branch: classes, folds of one to three code points, astral planes,
# hyphenated line breaks, separators that do and do not enter the separator hash
PIECES = [
    "word", "Word", "WORD", "naïve", "Straße", "ﬁnance", "ﬃ", "½", "Ⅻ", "ＡＢＣ", "１２３",
    "e\u0301", "a\u0308\u0323", "中文字", "ひらがな", "カタカナ", "한국어", "ภาษาไทย", "Ελληνικά",
    "русский", "עברית", "العربية", "हिन्दी", "𠀀𠀁", "𝐀𝐁", "😀", "👍🏽", "🇫🇷", "\u2018q\u2019",
    "\u201cq\u201d", "'", '"', "\u2013", "\u2014", "-", "\u2010", "\u2011", "-\n", "-\r\n",
    "- \n ", "-\t\n\t", "-\n\n", "exam-\nple", "opposi-\n tion", "x-\r\n y", "a-b", "--",
    "\u00ad", "soft\u00adhyphen", "zero\u200bwidth", "\u200d", "\ufeff", "\u2060", "\u00a0",
    " ", "  ", "\t", "\n", "\r\n", "\r", "\x00", "\x0b", "\x0c", "\x1f", "\x7f", "\x85",
    "\u2028", "\u3000", "0", "42", "3.14", "1,000", "$", "%", "&", "@", "#", ".", ",", "!", "?",
    ";", ":", "(", ")", "[", "]", "/", "\\", "_", "~", "`", "^", "|", "+", "=", "<", ">", "*",
    "é", "Ä", "ŉ", "İ", "ǅ", "ﬀ", "µ", "ª", "²", "\ud800", "\U000e0041", "\U0010ffff",
]  # fmt: skip
ASCII_PIECES = [p for p in PIECES if p.isascii()]


def _columns(tok: Tokens, counts: np.ndarray) -> list[np.ndarray]:
    return [tok.starts, tok.ends, tok.hashes, tok.seps, counts]


def _assert_same(texts: list[str]) -> None:
    fast = _columns(*tokenize_batch(texts))
    general = _columns(*_tokenize_batch(texts, fast=False))
    for got, want in zip(fast, general, strict=True):
        assert got.dtype == want.dtype
        assert np.array_equal(got, want), texts


def _text(rng: random.Random, pieces: list[str], n: int) -> str:
    return "".join(rng.choice(pieces) + rng.choice(["", "", " ", "\n"]) for _ in range(n))


def _random_unicode(rng: random.Random, n: int) -> str:
    # code points from the whole range, dense in the BMP and in ASCII
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.5:
            out.append(chr(rng.randrange(128)))
        elif r < 0.85:
            out.append(chr(rng.randrange(0x10000)))
        else:
            out.append(chr(rng.randrange(0x110000)))
    return "".join(out)


def test_fast_equals_general_on_pieces_and_random_text() -> None:
    rng = random.Random(7)
    texts = [""] + PIECES + [p * 3 for p in PIECES] + [a + b for a in PIECES[:40] for b in PIECES[:40]]
    _assert_same(texts)
    for _ in range(60):
        batch = []
        for _ in range(rng.randrange(1, 30)):
            kind = rng.random()
            n = rng.randrange(0, 200)
            if kind < 0.3:
                batch.append(_text(rng, ASCII_PIECES, n))
            elif kind < 0.6:
                batch.append(_text(rng, PIECES, n))
            elif kind < 0.8:
                batch.append(_random_unicode(rng, n))
            else:
                batch.append("".join(chr(rng.randrange(128)) for _ in range(n)))
        _assert_same(batch)
        # the ASCII texts of the batch alone: the one-byte-a-character buffer
        _assert_same([t for t in batch if t.isascii()])
        for t in batch:
            _assert_same([t])


def test_ascii_batch_and_mixed_batch_give_character_offsets() -> None:
    ascii_text = "The Minister's opposi-\n tion, said 780 people.\r\n"
    other = "Le ministre a dit \u00ab non \u00bb \u2014 ﬁn."
    for batch in ([ascii_text] * 3, [ascii_text, other, ascii_text], [other, "", ascii_text]):
        _assert_same(batch)
        tok, counts = tokenize_batch(batch)
        at = 0
        for text, c in zip(batch, counts.tolist(), strict=True):
            words = [text[s:e] for s, e in zip(tok.starts[at : at + c], tok.ends[at : at + c], strict=True)]
            at += c
            if text is ascii_text:
                assert words[:4] == ["The", "Minister", "s", "opposi-\n tion"]
            elif text is other:
                assert words[-1] == "ﬁn"


def test_empty_batches_and_texts() -> None:
    _assert_same([])
    _assert_same([""])
    _assert_same(["", "", ""])
    _assert_same(["", "a", ""])
    _assert_same(["\u00e9", ""])


def test_more_tokens_than_the_first_pass_makes_room_for() -> None:
    # a token a character: the second pass with the exact size, on both buffers
    _assert_same(["a " * 10 + "a" * 0, "中" * 500])
    _assert_same(["a-" * 700])
    _assert_same(["ab" * 50, "x y z " * 300])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=80), max_size=8))
def test_fast_equals_general_on_any_text(texts: list[str]) -> None:
    _assert_same(texts)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(max_codepoint=127), max_size=120), max_size=8))
def test_fast_equals_general_on_ascii_text(texts: list[str]) -> None:
    _assert_same(texts)


def test_kept_tables_are_the_built_ones(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The class and fold tables a process loads from the kept file are those a build makes; a
    damaged file is built again and replaced."""
    import numpy as np

    from copytrace import normalize

    path = tmp_path / "__pycache__" / "tables.npz"
    monkeypatch.setattr(normalize, "_tables_file", lambda: path)
    built = normalize._build_tables()
    normalize.tables.cache_clear()
    try:
        first = normalize.tables()  # builds and keeps them
        assert path.exists()
        normalize.tables.cache_clear()
        loaded = normalize.tables()
        path.write_bytes(b"not an npz file")
        normalize.tables.cache_clear()
        rebuilt = normalize.tables()
        normalize.tables.cache_clear()
        kept_again = normalize.tables()
    finally:
        normalize.tables.cache_clear()
    for cls, fold in (first, loaded, rebuilt, kept_again):
        assert np.array_equal(cls, built[0]) and np.array_equal(fold, built[1])
        assert cls.dtype == built[0].dtype and fold.dtype == built[1].dtype


def test_truncated_kept_tables_are_built_again(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from copytrace import normalize

    path = tmp_path / "tables.npz"
    monkeypatch.setattr(normalize, "_tables_file", lambda: path)
    normalize.tables.cache_clear()
    try:
        normalize.tables()
        path.write_bytes(path.read_bytes()[:5000])  # a zip cut short
        normalize.tables.cache_clear()
        cls, fold = normalize.tables()
    finally:
        normalize.tables.cache_clear()
    assert np.array_equal(fold, normalize._build_tables()[1])
