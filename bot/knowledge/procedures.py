"""Map the many ways patients name a treatment onto the three names the knowledge uses.

Entity extraction hands over whatever the patient typed ("Derma-Pen", "my roller"), while
knowledge conditions use canonical names; normalising here keeps both sides simple.
"""

from __future__ import annotations

import re
from typing import Mapping

DERMAPEN = "dermapen"
DERMA_ROLLER = "derma_roller"
MICRONEEDLING = "microneedling"

PROCEDURES = frozenset({DERMAPEN, DERMA_ROLLER, MICRONEEDLING})

# Keys are spellings with case, spaces, hyphens and underscores removed.
_SPELLINGS: Mapping[str, str] = {
    "dermapen": DERMAPEN,
    "dermapens": DERMAPEN,
    "dermaroller": DERMA_ROLLER,
    "dermarollers": DERMA_ROLLER,
    "dermarolling": DERMA_ROLLER,
    "roller": DERMA_ROLLER,
    "rollers": DERMA_ROLLER,
    "microneedling": MICRONEEDLING,
    "microneedle": MICRONEEDLING,
    "microneedles": MICRONEEDLING,
}

_NOT_A_LETTER = re.compile(r"[^a-z]+")


def normalise_procedure(value: str | None) -> str | None:
    """Return the canonical procedure for ``value``, or None when it is not recognised."""
    if not value:
        return None
    key = _NOT_A_LETTER.sub("", value.casefold())
    return _SPELLINGS.get(key)
