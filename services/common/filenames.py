"""Names of uploaded files, as people type them and as HTTP can carry them.

A name travels back in the `Content-Disposition` header of its download. Characters that
a header cannot hold (controls such as DEL, the Unicode line and paragraph separators) made
a stored document impossible to download: the server refused the header. So a name is
normalised once, when it is uploaded (`FileName`, a form field), and again when it is
served, for rows stored before; the download itself goes through `flask.send_file` with
`download_name`, which writes an ASCII `filename` and the RFC 5987 `filename*` beside it
(RFC 6266) for everything else, such as `€` or Indonesian place names with diacritics.
"""

from __future__ import annotations

import re
import unicodedata

from services.common.forms import Text

_SPACES = re.compile(r"\s+")
# Besides the controls: format characters (zero-width joiners, bidirectional overrides
# that can disguise an extension), surrogates, private use and unassigned code points, and
# the line and paragraph separators.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def normalise_filename(name: str, max_length: int = 200) -> str:
    """NFC, without control or separator characters, other spaces made plain and single,
    at most `max_length` characters with the extension kept. May return "" (nothing
    printable was given): the caller refuses or replaces it."""
    text = unicodedata.normalize("NFC", name)
    text = "".join(
        " " if unicodedata.category(ch) == "Zs" else ch
        for ch in text
        if unicodedata.category(ch) not in _DROPPED_CATEGORIES
    )
    text = _SPACES.sub(" ", text).strip()
    if len(text) <= max_length:
        return text
    stem, dot, extension = text.rpartition(".")
    if not dot or not stem or len(extension) + 1 >= max_length:
        return text[:max_length].rstrip()
    return stem[: max_length - len(extension) - 1].rstrip() + "." + extension


class FileName(Text):
    """A file name field: normalised (`normalise_filename`) before the text checks, so the
    name that is validated is the name that is stored and later served."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = normalise_filename(value, max_length=self.max_length)
        return super()._deserialize(value, attr, data, **kwargs)
