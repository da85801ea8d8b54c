"""Who may use the console, and what personal data each role sees in clear.

Phone numbers (residents', contacts', and any phone-like number in free text such as
audit actors) are in clear for supervisors and admins, masked for dispatchers; ID numbers
follow the registry's rule (``cloud.registry.masking``: admins only). Workers use their
own app, not the console.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from cloud.auth.deps import Role, require_roles
from cloud.auth.models import User
from cloud.registry.masking import mask, mask_for

CONSOLE_ROLES = (Role.ADMIN, Role.DISPATCHER, Role.SUPERVISOR)
PHONE_CLEAR = frozenset({Role.ADMIN.value, Role.SUPERVISOR.value})
_NUMBER = re.compile(r"\+?\d[\d \-]{5,}\d")


@dataclass(frozen=True, slots=True)
class Viewer:
    """The operator behind a console request and how much they may see."""

    username: str
    role: str

    @property
    def clear(self) -> bool:
        """True when phone numbers are shown in clear."""
        return self.role in PHONE_CLEAR

    def phone(self, value: str) -> str:
        """A phone number, masked unless the role needs it."""
        return value if self.clear else mask(value)

    def id_number(self, value: str) -> str:
        """An ID number, masked unless the role needs it."""
        return mask_for(self.role, "id_number", value)

    def text(self, value: str) -> str:
        """Free text with phone-like numbers masked unless the role needs them."""
        return value if self.clear else _NUMBER.sub(lambda m: mask(m.group(0)), value)


async def _viewer(user: Annotated[User, Depends(require_roles(*CONSOLE_ROLES))]) -> Viewer:
    return Viewer(username=user.username, role=user.role)


ViewerDep = Annotated[Viewer, Depends(_viewer)]
