"""Who may use the console, and what personal data each role sees in clear.

Supervisors and admins see residents' and contacts' phone and ID numbers; dispatchers see
them masked (the last digits only), and any phone-like number inside free text (audit
actors, details) is masked for them too. Workers use their own app, not the console.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from cloud.auth.deps import Role, require_roles
from cloud.auth.models import User

CONSOLE_ROLES = (Role.ADMIN, Role.DISPATCHER, Role.SUPERVISOR)
CLEAR_ROLES = frozenset({Role.ADMIN.value, Role.SUPERVISOR.value})
_NUMBER = re.compile(r"\+?\d[\d \-]{5,}\d")


@dataclass(frozen=True, slots=True)
class Viewer:
    """The operator behind a console request and how much they may see."""

    username: str
    role: str

    @property
    def clear(self) -> bool:
        """True when phone and ID numbers may be shown in clear."""
        return self.role in CLEAR_ROLES

    def phone(self, value: str | None) -> str | None:
        """A phone number, masked unless the role needs it."""
        return value if self.clear or not value else mask(value, keep=4)

    def id_number(self, value: str | None) -> str | None:
        """An ID number, masked unless the role needs it."""
        return value if self.clear or not value else mask(value, keep=2)

    def text(self, value: str) -> str:
        """Free text with phone-like numbers masked unless the role needs them."""
        return value if self.clear else _NUMBER.sub(lambda m: mask(m.group(0), keep=4), value)


def mask(value: str, *, keep: int) -> str:
    """All but the last ``keep`` characters replaced (at least half of them hidden)."""
    keep = min(keep, len(value) // 2)
    return "•" * (len(value) - keep) + value[len(value) - keep :]


async def _viewer(user: Annotated[User, Depends(require_roles(*CONSOLE_ROLES))]) -> Viewer:
    return Viewer(username=user.username, role=user.role)


ViewerDep = Annotated[Viewer, Depends(_viewer)]
