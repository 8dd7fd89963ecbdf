"""PATTERN: a text value that does not match the field's regular expression.

As Frictionless does, the pattern is anchored as `^pattern$` and matched from the start. The whole
column runs through Arrow's RE2 engine in one call; values where RE2 and Python's `re` could disagree
(anything beyond printable ASCII, or a pattern RE2 cannot compile) are settled by Python's `re`, once
per distinct value.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from territoria.validation.model import Rule

RULE = Rule("PATTERN", "error", "row")

_UNSAFE = r"[^\x20-\x7e]"


def _bools(arr: Any) -> np.ndarray:
    """A boolean Arrow array as numpy, nulls as False."""
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def failing(values: Any, mask: np.ndarray, pattern: str) -> np.ndarray:
    """Rows in `mask` whose text (an Arrow string column) does not match `pattern`."""
    anchored = f"^{pattern}$"
    compiled = re.compile(anchored)
    matched = np.zeros(len(values), dtype=bool)
    recheck = mask.copy()
    if "{," not in pattern:  # RE2 reads '{,n}' literally where Python reads '{0,n}'
        try:
            matched = _bools(pc.match_substring_regex(values, f"^(?:{anchored})"))
            recheck = mask & _bools(pc.match_substring_regex(values, _UNSAFE))
        except pa.ArrowInvalid:
            recheck = mask.copy()
    rows = np.flatnonzero(recheck)
    if len(rows):
        encoded = values.take(pa.array(rows)).dictionary_encode()
        verdicts = np.array(
            [compiled.match(v) is not None for v in encoded.dictionary.to_pylist()], dtype=bool
        )
        matched[rows] = verdicts[np.asarray(encoded.indices.to_numpy(zero_copy_only=False))]
    return np.flatnonzero(mask & ~matched)


def messages(field: str, value: str, pattern: str) -> tuple[str, dict[str, Any]]:
    """The message code and parameters naming the field, the value and the pattern."""
    return "finding.PATTERN", {"field": field, "value": value, "pattern": pattern}
