"""The demo province's signing rules: the Chairman signs as the head ("TM. ỦY BAN NHÂN DÂN /
CHỦ TỊCH"), the Vice-Chairman "KT. CHỦ TỊCH / PHÓ CHỦ TỊCH", the office chief "TL. CHỦ TỊCH /
CHÁNH VĂN PHÒNG" for công văn, thông báo and giấy mời (the agency's rules, Decree 30)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.clock import Clock
from backend.core.models import User
from backend.signing_flow import authority
from backend.signing_flow.tables import SignForm

# (username, form, own title, types, decision)
RULES = [
    ("chutich", SignForm.HEAD, "Chủ tịch", (), "Nghị quyết số 01/NQ-HĐND ngày 05/01/2026 (DEMO)"),
    ("phochutich", SignForm.KT, "Phó Chủ tịch", (),
     "Quyết định số 15/QĐ-UBND ngày 06/01/2026 phân công nhiệm vụ (DEMO)"),
    ("chanhvanphong", SignForm.TL, "Chánh Văn phòng", ("CV", "TB", "GM"),
     "Quy chế làm việc của UBND tỉnh, Điều 20 (DEMO)"),
]  # fmt: skip


async def load(db: AsyncSession, *, clock: Clock, people: dict[str, User], admin: User) -> None:
    """Give the demo rules, as the administrator would (audited like any grant)."""
    for username, form, title, types, decision in RULES:
        await authority.give(
            db,
            clock=clock,
            actor=admin,
            form=authority.GrantForm(
                user_id=people[username].id,
                form=form,
                title=title,
                head_title="Chủ tịch",
                types=frozenset(types),
                valid_from=date(2026, 1, 1),
                valid_until=None,
                decision_ref=decision,
            ),
        )


async def form_for(
    db: AsyncSession, *, clock: Clock, signer: User, type_code: str
) -> tuple[int, tuple[str, ...]]:
    """The grant a demo draft for `signer` is sent under and the lines its signer block prints
    (as a specialist picks it in the form)."""
    for option in await authority.options(
        db, agency_id=signer.agency_id, on=authority.today(clock), type_code=type_code
    ):
        if option.signer.id == signer.id:
            return option.grant.id, tuple(option.lines)
    raise LookupError(f"{signer.username} may not sign {type_code} in the demo rules")
