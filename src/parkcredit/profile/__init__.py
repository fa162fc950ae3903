"""Enterprise profile: input schema, USCC validation, derived fields, canonical frame."""

from parkcredit.profile.derive import DERIVED, derive
from parkcredit.profile.frame import COLUMNS, RowError, coerce, to_frame
from parkcredit.profile.schema import FIELDS, FieldInfo, Profile
from parkcredit.profile.uscc import Uscc, UsccError, parse_uscc

__all__ = [
    "COLUMNS",
    "DERIVED",
    "FIELDS",
    "FieldInfo",
    "Profile",
    "RowError",
    "Uscc",
    "UsccError",
    "coerce",
    "derive",
    "parse_uscc",
    "to_frame",
]
