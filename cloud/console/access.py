"""Who may use the console, and what personal data each role sees (``cloud.privacy.policy``).

Admins, supervisors and dispatchers use the console; workers use their own app. Every
value shown passes through the policy with the operator's role as the audience.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends

from cloud.auth.deps import Role, require_roles
from cloud.auth.models import User
from cloud.privacy.policy import Audience, Show, render, role_audience, show

CONSOLE_ROLES = (Role.ADMIN, Role.DISPATCHER, Role.SUPERVISOR)


@dataclass(frozen=True, slots=True)
class Viewer:
    """The operator behind a console request and how much they may see."""

    user: User

    @property
    def username(self) -> str:
        """The operator's login name."""
        return self.user.username

    @property
    def role(self) -> str:
        """The operator's role."""
        return self.user.role

    @property
    def audience(self) -> Audience:
        """The policy's audience for this operator."""
        return role_audience(self.user.role)

    @property
    def clear(self) -> bool:
        """True when residents' and contacts' phone numbers are shown in clear."""
        return show(self.audience, "resident.phone") is Show.CLEAR

    def field(self, name: str, value: Any) -> Any:
        """``value`` of the policy field ``name`` (e.g. ``resident.phone``) as shown here."""
        return render(self.audience, name, value)

    def text(self, value: str) -> str:
        """Free text of the trail (audit details, alarm reasons) as shown here."""
        shown = render(self.audience, "audit.text", value)
        return "" if shown is None else str(shown)


async def _viewer(user: Annotated[User, Depends(require_roles(*CONSOLE_ROLES))]) -> Viewer:
    return Viewer(user)


ViewerDep = Annotated[Viewer, Depends(_viewer)]
