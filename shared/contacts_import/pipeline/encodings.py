"""Which text encoding a file is in, decided from its first bytes and, for the one case the first
bytes cannot settle, while it streams.

- A byte-order mark settles it: UTF-8, UTF-16 LE or BE (Excel's "Unicode Text").
- UTF-16 without a mark shows as a zero in every other byte of ASCII text.
- Otherwise the file is read as UTF-8 while it is valid UTF-8. If its first non-ASCII bytes are
  not UTF-8, it is Windows-1252 (Excel's and Outlook's "ANSI" exports; Latin-1 differs from it only
  in characters that never appear in contact data), even when that first byte comes after the
  first block: an ASCII start says nothing either way. A file that has shown valid UTF-8 and then
  bytes that are not is mixed, and refused (``bad_encoding``).
"""

from __future__ import annotations

import codecs
from typing import Any

AUTO = "contacts-import-auto"  # UTF-8, or Windows-1252 when the first non-ASCII bytes say so
WINDOWS_1252 = "cp1252"
LATIN1_FALLBACK = "contacts-import-latin1-fallback"


def _latin1_fallback(error: UnicodeError) -> tuple[str, int]:
    # Windows-1252 leaves five bytes undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D); Latin-1 maps them to
    # control characters, which is what Windows itself does.
    assert isinstance(error, UnicodeDecodeError)
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error(LATIN1_FALLBACK, _latin1_fallback)


class Utf8OrWindows1252Decoder(codecs.IncrementalDecoder):
    """UTF-8 until proven otherwise by the first non-ASCII bytes; then Windows-1252 for good."""

    def __init__(self, errors: str = "strict") -> None:
        super().__init__(errors)
        self._utf8 = codecs.getincrementaldecoder("utf-8")("strict")
        self._ansi = codecs.getincrementaldecoder(WINDOWS_1252)(LATIN1_FALLBACK)
        self.chosen: str | None = None  # None while everything so far was ASCII

    def decode(self, input: Any, final: bool = False) -> str:
        data = bytes(input)
        if self.chosen == WINDOWS_1252:
            return self._ansi.decode(data, final)
        try:
            text = self._utf8.decode(data, final)
        except UnicodeDecodeError as error:
            if self.chosen == "utf-8" or not error.object[: error.start].isascii():
                raise  # valid UTF-8 earlier, invalid now: a mixed file
            pending, _ = self._utf8.getstate()
            self.chosen = WINDOWS_1252
            return self._ansi.decode(pending + data, final)
        if self.chosen is None and not text.isascii():
            self.chosen = "utf-8"  # a whole multibyte character decoded: this is UTF-8
        return text

    def reset(self) -> None:
        self._utf8.reset()
        self._ansi.reset()
        self.chosen = None

    def getstate(self) -> tuple[bytes, int]:
        return self._utf8.getstate() if self.chosen != WINDOWS_1252 else (b"", 0)

    def setstate(self, state: tuple[bytes, int]) -> None:
        self._utf8.setstate(state)


def _search(name: str) -> codecs.CodecInfo | None:
    if name.replace("_", "-") != AUTO:
        return None
    utf8 = codecs.lookup("utf-8")
    return codecs.CodecInfo(
        name=AUTO,
        encode=utf8.encode,
        decode=utf8.decode,
        incrementalencoder=utf8.incrementalencoder,
        incrementaldecoder=Utf8OrWindows1252Decoder,
        streamreader=utf8.streamreader,
        streamwriter=utf8.streamwriter,
    )


codecs.register(_search)


def detect_encoding(head: bytes) -> str:
    """The codec name to read a file with, from its first bytes."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    bare_utf16 = utf16_without_bom(head)
    if bare_utf16:
        return bare_utf16
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)  # a multibyte character cut at the block's end is fine
    except UnicodeDecodeError:
        return WINDOWS_1252
    return AUTO


def utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 text of mostly ASCII characters has a zero in every other byte."""
    sample = head[:2048]
    if len(sample) < 16:
        return None
    even_zeros = sample[0::2].count(0) / len(sample[0::2])
    odd_zeros = sample[1::2].count(0) / len(sample[1::2])
    if odd_zeros > 0.9 and even_zeros < 0.1:
        return "utf-16-le"
    if even_zeros > 0.9 and odd_zeros < 0.1:
        return "utf-16-be"
    return None


def errors_for(encoding: str) -> str:
    """The decoding error handler to use with an encoding we chose (not one the user named)."""
    return LATIN1_FALLBACK if encoding == WINDOWS_1252 else "strict"
