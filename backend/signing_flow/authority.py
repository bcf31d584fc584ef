"""Who signs for whom (Decree 30/2020/NĐ-CP, Article 13 and Appendix I): an agency's signing
grants, the lines each prints above the signature, absences and their deputies.

A grant says that one person signs the agency's outgoing documents in one form — the head in
their own name, KT. (a deputy), Q. (acting), TL. (a unit head by the agency's rules), TUQ. (by a
written authorisation with a period) — for some document types and dates. A draft names the
grant it is to be signed under; its signer block must print that grant's lines and the
signer's name (checked on upload), and the signature is refused when the grant is revoked,
expired or out of scope by then. An absence sends the absent person's queue to their deputy
for the period without moving a row: the lists and the policy read the absences of the day.

Dates are Vietnam dates, inclusive at both ends.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.clock import VIETNAM, Clock
from backend.core.errors import ForbiddenError, NotFoundError, ValidationError
from backend.core.models import Agency, Role, User
from backend.documents import catalogue
from backend.identity import policy
from backend.identity.policy import (
    AbsenceRef,
    Action,
    GrantRef,
    GrantTarget,
    Principal,
    SignRefusal,
    principal_of,
)
from backend.push import outbox, payloads
from backend.signing_flow.tables import Absence, SignForm, SigningGrant

# The collective bodies whose head and deputies sign "TM. <body>" above their title.
COLLECTIVE = {"UBND": "ỦY BAN NHÂN DÂN", "HĐND": "HỘI ĐỒNG NHÂN DÂN"}

FORM_LABELS = {
    SignForm.HEAD: ("Người đứng đầu ký", "The head signs"),
    SignForm.KT: ("Ký thay (KT.)", "Signs for the head (KT.)"),
    SignForm.Q: ("Quyền (Q.)", "Acting head (Q.)"),
    SignForm.TL: ("Thừa lệnh (TL.)", "By order (TL.)"),
    SignForm.TUQ: ("Thừa ủy quyền (TUQ.)", "By written authorisation (TUQ.)"),
}
PREFIX = {SignForm.KT: "KT.", SignForm.Q: "Q.", SignForm.TL: "TL.", SignForm.TUQ: "TUQ."}
# On whose behalf, as the verification report and the signature's reason say it.
BEHALF = {
    SignForm.HEAD: ("", ""),
    SignForm.KT: ("ký thay", "signing for"),
    SignForm.Q: ("quyền", "acting"),
    SignForm.TL: ("thừa lệnh", "by order of"),
    SignForm.TUQ: ("thừa ủy quyền", "by authorisation of"),
}


def today(clock: Clock) -> date:
    return clock.now().astimezone(VIETNAM).date()


def vn_date(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day is not None else ""


def types_of(grant: SigningGrant) -> frozenset[str]:
    return frozenset(t for t in grant.types.split(",") if t)


def grant_ref(grant: SigningGrant) -> GrantRef:
    return GrantRef(
        id=grant.id,
        form=grant.form,
        types=types_of(grant),
        valid_from=grant.valid_from,
        valid_until=grant.valid_until,
        revoked=grant.revoked_at is not None,
    )


def _upper(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).upper().split())


def block_lines(grant: SigningGrant, *, collective: str | None) -> list[str]:
    """The lines a grant prints above the signature, top to bottom ("TM. ỦY BAN NHÂN DÂN",
    "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"); the signer's name goes under it."""
    form = SignForm(grant.form)
    head = _upper(grant.head_title)
    lines: list[str] = []
    if collective and form in (SignForm.HEAD, SignForm.KT, SignForm.Q):
        lines.append(f"TM. {collective}")
    if form is SignForm.HEAD:
        lines.append(head)
    elif form is SignForm.Q:
        lines.append(f"Q. {head}")
    else:
        lines += [f"{PREFIX[form]} {head}", _upper(grant.title)]
    return lines


def behalf_text(grant: SigningGrant) -> tuple[str, str]:
    """ "ký thay Chủ tịch" / "signing for the Chủ tịch" ("" for the head's own signature)."""
    vi, en = BEHALF[SignForm(grant.form)]
    if not vi:
        return "", ""
    head = grant.head_title.strip().capitalize()
    return f"{vi} {head}", f"{en} the {head}"


async def collective_of(db: AsyncSession, holder: User) -> str | None:
    """The collective body (UBND, HĐND) the holder signs in the name of, if any: the agency
    they sign for (a province's leaders listed with its office), else their own."""
    agency = await db.get(Agency, holder.signs_for_agency_id or holder.agency_id)
    return COLLECTIVE.get(agency.short_name) if agency is not None else None


# --- the person as the policy sees them ------------------------------------------------------


async def absence_on(db: AsyncSession, user_id: int, on: date) -> Absence | None:
    return await db.scalar(
        select(Absence).where(
            Absence.user_id == user_id,
            Absence.cancelled_at.is_(None),
            Absence.starts_on <= on,
            Absence.ends_on >= on,
        )
    )


async def covered_by(db: AsyncSession, deputy_id: int, on: date) -> list[Absence]:
    """The absences of the day whose deputy is `deputy_id`."""
    return list(
        await db.scalars(
            select(Absence)
            .where(
                Absence.deputy_id == deputy_id,
                Absence.cancelled_at.is_(None),
                Absence.starts_on <= on,
                Absence.ends_on >= on,
            )
            .order_by(Absence.id)
        )
    )


async def principal(db: AsyncSession, user: User, *, on: date) -> Principal:
    """`user` as the policy judges signing on `on`: their grants (revoked ones too, so a
    refusal can say so), whether they are away, whose drafts they cover."""
    grants = await db.scalars(select(SigningGrant).where(SigningGrant.user_id == user.id))
    base = principal_of(user)
    return Principal(
        user_id=base.user_id,
        agency_id=base.agency_id,
        unit_id=base.unit_id,
        roles=base.roles,
        grants=tuple(grant_ref(g) for g in grants),
        on=on,
        absent=await absence_on(db, user.id, on) is not None,
        covering=frozenset(a.user_id for a in await covered_by(db, user.id, on)),
    )


async def refusal_message(
    db: AsyncSession, refusal: SignRefusal, *, signer: User, grant_id: int | None, on: date
) -> tuple[str, str]:
    """A refusal to sign, in words the signer can act on."""
    grant = await db.get(SigningGrant, grant_id) if grant_id is not None else None
    label = " / ".join(block_lines(grant, collective=None)) if grant is not None else ""
    if refusal is SignRefusal.ABSENT:
        away = await absence_on(db, signer.id, on)
        until = vn_date(away.ends_on) if away is not None else ""
        return (
            f"Đồng chí đang được ghi vắng mặt đến {until}; văn bản chờ ký của đồng chí do "
            "người được phân công xử lý thay. Hãy kết thúc vắng mặt (mục Vắng mặt) nếu đã trở "
            "về.",
            f"You are recorded as absent until {until}; your deputy handles your queue. End the "
            "absence (Absence page) if you are back.",
        )
    if refusal is SignRefusal.REVOKED and grant is not None:
        return (
            f"Thẩm quyền ký «{label}» của đồng chí đã bị thu hồi"
            + (f" ({grant.revoke_reason})" if grant.revoke_reason else "")
            + ". Văn bản chưa được ký; hãy trả lại để trình người có thẩm quyền.",
            f"Your signing authority “{label}” was revoked. Nothing was signed; return the draft "
            "so it goes to someone who may sign it.",
        )
    if refusal is SignRefusal.EXPIRED and grant is not None:
        return (
            f"Thẩm quyền ký «{label}» của đồng chí đã hết hạn ngày "
            f"{vn_date(grant.valid_until)}. Văn bản chưa được ký; hãy trả lại để trình người "
            "có thẩm quyền.",
            f"Your signing authority “{label}” ended on {vn_date(grant.valid_until)}. Nothing "
            "was signed.",
        )
    if refusal is SignRefusal.NOT_YET and grant is not None:
        return (
            f"Thẩm quyền ký «{label}» của đồng chí có hiệu lực từ ngày "
            f"{vn_date(grant.valid_from)}.",
            f"Your signing authority “{label}” starts on {vn_date(grant.valid_from)}.",
        )
    if refusal is SignRefusal.OUT_OF_SCOPE and grant is not None:
        names = ", ".join(sorted(catalogue.TYPES[t].name for t in types_of(grant)))
        return (
            f"Thẩm quyền ký «{label}» của đồng chí chỉ gồm: {names}. Văn bản này ngoài phạm vi "
            "đó; hãy trả lại để trình người có thẩm quyền.",
            f"Your signing authority “{label}” covers only: {names}.",
        )
    return (
        "Đồng chí không có thẩm quyền ký văn bản này.",
        "You have no authority to sign this document.",
    )


# --- the options a drafter is offered ---------------------------------------------------------


@dataclass(frozen=True)
class SignerOption:
    """One way a draft may be signed: a person under a grant, with the lines it prints."""

    grant: SigningGrant
    signer: User
    lines: list[str]
    # The absence of the signer on the day, if any (the draft then waits in the deputy's queue).
    away: Absence | None
    deputy: User | None

    @property
    def label(self) -> str:
        return f"{self.signer.full_name} — {' / '.join(self.lines)}"


async def has_rules(db: AsyncSession, agency_id: int) -> bool:
    """Has the agency set up who signs (any grant in force or not)? Without rules, a leader
    signs in their own name as before."""
    found = await db.scalar(
        select(SigningGrant.id).where(SigningGrant.agency_id == agency_id).limit(1)
    )
    return found is not None


async def options(
    db: AsyncSession, *, agency_id: int, on: date, type_code: str | None = None
) -> list[SignerOption]:
    """The grants in force on `on` (covering `type_code` when given), head first."""
    order = {f: i for i, f in enumerate(SignForm)}
    rows = await db.execute(
        select(SigningGrant, User)
        .join(User, User.id == SigningGrant.user_id)
        .where(SigningGrant.agency_id == agency_id, User.is_active)
    )
    found: list[SignerOption] = []
    for grant, signer in rows:
        if not policy.grant_in_force(grant_ref(grant), on):
            continue
        if type_code and grant.types and type_code not in types_of(grant):
            continue
        away = await absence_on(db, signer.id, on)
        deputy = await db.get(User, away.deputy_id) if away is not None else None
        lines = block_lines(grant, collective=await collective_of(db, signer))
        found.append(SignerOption(grant, signer, lines, away, deputy))
    found.sort(key=lambda o: (order[SignForm(o.grant.form)], o.signer.full_name))
    return found


async def grant_for_draft(
    db: AsyncSession, *, agency_id: int, grant_id: int, type_code: str, on: date
) -> SignerOption:
    """The option a drafter chose, checked again on the server."""
    for option in await options(db, agency_id=agency_id, on=on):
        if option.grant.id != grant_id:
            continue
        if option.grant.types and type_code not in types_of(option.grant):
            names = ", ".join(sorted(catalogue.TYPES[t].name for t in types_of(option.grant)))
            raise ValidationError(
                f"{option.signer.full_name} chỉ ký «{' / '.join(option.lines)}» cho: {names}. "
                "Hãy chọn người ký khác hoặc loại văn bản khác.",
                f"{option.signer.full_name} signs “{' / '.join(option.lines)}” only for: {names}.",
            )
        return option
    raise ValidationError(
        "Người ký đã chọn không còn thẩm quyền ký (đã thu hồi hoặc hết hạn). Hãy chọn lại.",
        "The chosen signer no longer has that signing authority (revoked or expired).",
    )


def _fold(text: str) -> str:
    return _upper(text).replace("–", "-")


def check_block(*, lines: Sequence[str], name: str, option: SignerOption) -> None:
    """The draft's signer block (the lines above the gap, the printed name under it) must print
    the chosen authority and the signer's name; titles may wrap over several lines."""
    printed = _fold(" ".join(lines))
    wanted = _fold(" ".join(option.lines))
    above = printed[: len(printed) - len(wanted)].strip() if printed.endswith(wanted) else None
    authority_above = above is not None and any(
        f"{p} " in f" {above} " or above.startswith(p) for p in ("TM.", "KT.", "TL.", "TUQ.", "Q.")
    )
    if above is None or authority_above or _fold(name) != _fold(option.signer.full_name):
        shown = " / ".join(lines) + (f" — {name}" if name else "")
        want = " / ".join(option.lines) + f" — {option.signer.full_name}"
        raise ValidationError(
            f"Khối chữ ký ở trang cuối của dự thảo ghi «{shown}», nhưng người ký đã chọn ký "
            f"«{want}». Hãy sửa khối chữ ký trong dự thảo cho đúng thẩm quyền ký (Nghị định "
            "30/2020/NĐ-CP) rồi tải lên lại.",
            f"The draft's signer block reads “{shown}” but the chosen signer signs “{want}”. "
            "Correct the signer block and upload again.",
        )


# --- giving and revoking ----------------------------------------------------------------------


@dataclass(frozen=True)
class GrantForm:
    user_id: int
    form: SignForm
    title: str
    head_title: str
    types: frozenset[str]
    valid_from: date | None
    valid_until: date | None
    decision_ref: str


def parse_grant(fields: dict[str, str], types: Sequence[str]) -> GrantForm:
    problems: list[str] = []
    user = fields.get("user_id", "")
    if not user.isdigit():
        problems.append("người được giao")
    try:
        form = SignForm(fields.get("form", ""))
    except ValueError:
        problems.append("hình thức ký")
        form = SignForm.HEAD
    dates: list[date | None] = []
    for key, label in (("valid_from", "từ ngày"), ("valid_until", "đến ngày")):
        try:
            dates.append(date.fromisoformat(fields[key]) if fields.get(key) else None)
        except ValueError:
            problems.append(label)
            dates.append(None)
    unknown = [t for t in types if t not in catalogue.TYPES]
    if unknown:
        problems.append("loại văn bản")
    if problems:
        raise ValidationError(
            "Thiếu hoặc sai: " + ", ".join(problems) + ".", "Missing or invalid fields."
        )
    return GrantForm(
        user_id=int(user),
        form=form,
        title=" ".join(fields.get("title", "").split()),
        head_title=" ".join(fields.get("head_title", "").split()),
        types=frozenset(types),
        valid_from=dates[0],
        valid_until=dates[1],
        decision_ref=" ".join(fields.get("decision_ref", "").split()),
    )


async def head_grant(db: AsyncSession, agency_id: int, on: date) -> SigningGrant | None:
    for grant in await db.scalars(
        select(SigningGrant)
        .where(
            SigningGrant.agency_id == agency_id,
            SigningGrant.form.in_((SignForm.HEAD.value, SignForm.Q.value)),
            SigningGrant.revoked_at.is_(None),
        )
        .order_by(SigningGrant.id)
    ):
        if policy.grant_in_force(grant_ref(grant), on):
            return grant
    return None


async def give(db: AsyncSession, *, clock: Clock, actor: User, form: GrantForm) -> SigningGrant:
    """Give a signing authority (audited). The head gives KT., TL. and TUQ.; administrators
    every form. TL. and TUQ. need their document types, TUQ. and Q. their written decision,
    TUQ. an end date; nobody holds a grant they could re-delegate."""
    on = today(clock)
    me = await principal(db, actor, on=on)
    if not policy.may(me, Action.MANAGE_SIGNING, GrantTarget(actor.agency_id, form.form.value)):
        raise ForbiddenError(
            "Chỉ quản trị viên và người đứng đầu cơ quan giao thẩm quyền ký; người đứng đầu giao "
            "KT., TL. và TUQ., quản trị viên giao cả người đứng đầu và Q.",
            "Only administrators and the head give signing authority (the head: KT., TL., TUQ.).",
        )
    holder = await db.get(User, form.user_id)
    if holder is None or holder.agency_id != actor.agency_id or not holder.is_active:
        raise ValidationError("Hãy chọn một người của cơ quan.", "Choose a person of the agency.")
    head = await head_grant(db, actor.agency_id, on)
    head_title = form.head_title or (head.head_title if head is not None else "")
    problems: list[tuple[str, str]] = []
    if not head_title:
        problems.append(("Cần chức danh người đứng đầu (ví dụ «Chủ tịch»).", "Head's title."))
    if form.form in (SignForm.KT, SignForm.TL, SignForm.TUQ) and not form.title:
        problems.append(("Cần chức danh của người ký (ví dụ «Phó Chủ tịch»).", "Own title."))
    if form.form in (SignForm.TL, SignForm.TUQ) and not form.types:
        problems.append(
            ("TL. và TUQ. cần phạm vi: các loại văn bản được ký.", "TL./TUQ. need a scope.")
        )
    if form.form in (SignForm.TUQ, SignForm.Q) and not form.decision_ref:
        problems.append(
            ("TUQ. và Q. cần số, ngày văn bản ủy quyền/giao quyền.", "TUQ./Q. need a decision.")
        )
    if form.form is SignForm.TUQ and form.valid_until is None:
        problems.append(("Ủy quyền (TUQ.) phải có thời hạn.", "TUQ. needs an end date."))
    if form.valid_from and form.valid_until and form.valid_until < form.valid_from:
        problems.append(("Ngày kết thúc trước ngày bắt đầu.", "The end is before the start."))
    if form.form in (SignForm.HEAD, SignForm.Q) and Role.LEADER not in holder.roles:
        problems.append(("Người đứng đầu phải là lãnh đạo.", "The head must be a leader."))
    if form.form is SignForm.HEAD and head is not None and head.form == SignForm.HEAD.value:
        holder_now = await db.get_one(User, head.user_id)
        problems.append(
            (
                f"Cơ quan đã có người đứng đầu ký ({holder_now.full_name}); hãy thu hồi thẩm "
                "quyền đó trước.",
                "The agency already has a head; revoke that grant first.",
            )
        )
    if problems:
        raise ValidationError(" ".join(p[0] for p in problems), " ".join(p[1] for p in problems))
    grant = SigningGrant(
        agency_id=actor.agency_id,
        user_id=holder.id,
        form=form.form.value,
        title=form.title or (head_title if form.form is SignForm.HEAD else holder.title),
        head_title=head_title,
        types=",".join(sorted(form.types)),
        valid_from=form.valid_from,
        valid_until=form.valid_until,
        decision_ref=form.decision_ref,
        created_by_id=actor.id,
        created_at=clock.now(),
        revoke_reason="",
    )
    db.add(grant)
    await db.flush()
    await audit.record(
        db,
        clock=clock,
        action="signing.grant_given",
        actor_id=actor.id,
        object_type="signing_grant",
        object_id=grant.id,
        detail={
            "user_id": holder.id,
            "form": grant.form,
            "lines": block_lines(grant, collective=await collective_of(db, holder)),
            "types": sorted(form.types),
            "valid_from": form.valid_from.isoformat() if form.valid_from else None,
            "valid_until": form.valid_until.isoformat() if form.valid_until else None,
            "decision_ref": form.decision_ref,
        },
    )
    return grant


async def revoke(
    db: AsyncSession, *, clock: Clock, actor: User, grant_id: int, reason: str
) -> SigningGrant:
    """Revoke a grant (audited). Drafts naming it stay in the queue; signing them is refused
    with the reason until they are returned and sent to someone who may sign."""
    grant = await db.get(SigningGrant, grant_id)
    if grant is None or grant.agency_id != actor.agency_id:
        raise NotFoundError("Không tìm thấy thẩm quyền ký.", "No such signing grant.")
    me = await principal(db, actor, on=today(clock))
    if not policy.may(me, Action.MANAGE_SIGNING, GrantTarget(grant.agency_id, grant.form)):
        raise ForbiddenError(
            "Đồng chí không thu hồi được thẩm quyền ký này.", "You cannot revoke this grant."
        )
    if not reason.strip():
        raise ValidationError("Hãy ghi lý do thu hồi.", "Give the reason for revoking.")
    if grant.revoked_at is None:
        grant.revoked_at, grant.revoked_by_id = clock.now(), actor.id
        grant.revoke_reason = reason.strip()
        await audit.record(
            db,
            clock=clock,
            action="signing.grant_revoked",
            actor_id=actor.id,
            object_type="signing_grant",
            object_id=grant.id,
            detail={"user_id": grant.user_id, "form": grant.form, "reason": reason.strip()},
        )
    return grant


@dataclass(frozen=True)
class GrantRow:
    grant: SigningGrant
    holder: User
    lines: list[str]
    in_force: bool


async def grants(db: AsyncSession, *, agency_id: int, on: date) -> list[GrantRow]:
    rows = await db.execute(
        select(SigningGrant, User)
        .join(User, User.id == SigningGrant.user_id)
        .where(SigningGrant.agency_id == agency_id)
        .order_by(SigningGrant.revoked_at.is_not(None), SigningGrant.id.desc())
    )
    return [
        GrantRow(
            grant=g,
            holder=u,
            lines=block_lines(g, collective=await collective_of(db, u)),
            in_force=policy.grant_in_force(grant_ref(g), on),
        )
        for g, u in rows
    ]


# --- absences ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AbsenceForm:
    user_id: int
    deputy_id: int
    starts_on: date
    ends_on: date
    reason: str


def parse_absence(fields: dict[str, str], *, user_id: int) -> AbsenceForm:
    problems: list[str] = []
    try:
        starts = date.fromisoformat(fields.get("starts_on", ""))
    except ValueError:
        problems.append("từ ngày")
        starts = date.min
    try:
        ends = date.fromisoformat(fields.get("ends_on", ""))
    except ValueError:
        problems.append("đến ngày")
        ends = date.min
    deputy = fields.get("deputy_id", "")
    if not deputy.isdigit():
        problems.append("người xử lý thay")
    reason = " ".join(fields.get("reason", "").split())
    if not reason:
        problems.append("lý do")
    if problems:
        raise ValidationError(
            "Thiếu hoặc sai: " + ", ".join(problems) + ".", "Missing or invalid fields."
        )
    owner = fields.get("user_id", "")
    return AbsenceForm(
        user_id=int(owner) if owner.isdigit() else user_id,
        deputy_id=int(deputy),
        starts_on=starts,
        ends_on=ends,
        reason=reason,
    )


async def deputies(db: AsyncSession, *, agency_id: int, absent_id: int) -> list[User]:
    """Who may be named deputy: the agency's leaders and signers, other than the absent one."""
    signer_ids = set(
        await db.scalars(
            select(SigningGrant.user_id).where(
                SigningGrant.agency_id == agency_id, SigningGrant.revoked_at.is_(None)
            )
        )
    )
    people = await db.scalars(
        select(User).where(User.agency_id == agency_id, User.is_active).order_by(User.full_name)
    )
    return [
        p for p in people if p.id != absent_id and (p.id in signer_ids or Role.LEADER in p.roles)
    ]


async def people(db: AsyncSession, *, agency_id: int) -> list[User]:
    """The agency's active people, leaders first (who a grant may go to)."""
    found = await db.scalars(
        select(User).where(User.agency_id == agency_id, User.is_active).order_by(User.full_name)
    )
    return sorted(found, key=lambda p: Role.LEADER not in p.roles)


def _overlaps(a_start: date, a_end: date, b_start: date, b_end: date) -> bool:
    return a_start <= b_end and b_start <= a_end


async def _open_absences(db: AsyncSession, user_ids: Sequence[int], since: date) -> list[Absence]:
    return list(
        await db.scalars(
            select(Absence).where(
                or_(Absence.user_id.in_(user_ids), Absence.deputy_id.in_(user_ids)),
                Absence.cancelled_at.is_(None),
                Absence.ends_on >= since,
            )
        )
    )


async def mark_absence(
    db: AsyncSession, *, clock: Clock, actor: User, form: AbsenceForm
) -> Absence:
    """Record an absence (audited): the absent person's queue and the documents put before
    them go to the deputy for the period; both are told by push."""
    on = today(clock)
    me = await principal(db, actor, on=on)
    if not policy.may(me, Action.MARK_ABSENCE, AbsenceRef(actor.agency_id, form.user_id)):
        raise ForbiddenError(
            "Đồng chí chỉ ghi được vắng mặt của chính mình.", "You can only mark your own absence."
        )
    absent = await db.get(User, form.user_id)
    deputy = await db.get(User, form.deputy_id)
    if absent is None or absent.agency_id != actor.agency_id:
        raise NotFoundError("Không tìm thấy người vắng mặt.", "No such person.")
    if deputy is None or deputy.id not in {
        d.id for d in await deputies(db, agency_id=actor.agency_id, absent_id=absent.id)
    }:
        raise ValidationError(
            "Người xử lý thay phải là lãnh đạo hoặc người có thẩm quyền ký của cơ quan, khác "
            "người vắng mặt.",
            "The deputy must be another leader or signer of the agency.",
        )
    if form.ends_on < form.starts_on:
        raise ValidationError("Ngày kết thúc trước ngày bắt đầu.", "The end is before the start.")
    if form.ends_on < on:
        raise ValidationError(
            "Không ghi được vắng mặt đã qua.", "An absence that has already ended cannot be marked."
        )
    for other in await _open_absences(db, [absent.id, deputy.id], form.starts_on):
        if not _overlaps(form.starts_on, form.ends_on, other.starts_on, other.ends_on):
            continue
        if other.user_id == absent.id:
            raise ValidationError(
                f"{absent.full_name} đã có lịch vắng mặt từ {vn_date(other.starts_on)} đến "
                f"{vn_date(other.ends_on)} trùng thời gian này. Hãy sửa lịch đó thay vì thêm "
                "lịch mới.",
                "That person already has an absence overlapping these dates.",
            )
        if other.user_id == deputy.id:
            raise ValidationError(
                f"{deputy.full_name} cũng vắng mặt từ {vn_date(other.starts_on)} đến "
                f"{vn_date(other.ends_on)}; hãy chọn người xử lý thay khác.",
                "The deputy is away during these dates too; choose another deputy.",
            )
        if other.deputy_id == absent.id:
            raise ValidationError(
                f"{absent.full_name} đang được phân công xử lý thay "
                f"({vn_date(other.starts_on)}–{vn_date(other.ends_on)}); hãy chọn người khác "
                "xử lý thay cho lịch đó trước.",
                "That person is named deputy for someone else in these dates.",
            )
    row = Absence(
        agency_id=actor.agency_id,
        user_id=absent.id,
        deputy_id=deputy.id,
        starts_on=form.starts_on,
        ends_on=form.ends_on,
        reason=form.reason,
        created_by_id=actor.id,
        created_at=clock.now(),
    )
    db.add(row)
    await db.flush()
    await audit.record(
        db,
        clock=clock,
        action="absence.marked",
        actor_id=actor.id,
        object_type="absence",
        object_id=row.id,
        detail={
            "user_id": absent.id,
            "deputy_id": deputy.id,
            "starts_on": form.starts_on.isoformat(),
            "ends_on": form.ends_on.isoformat(),
            "reason": form.reason,
        },
    )
    period = f"{vn_date(form.starts_on)}–{vn_date(form.ends_on)}"
    for user_id, notice in (
        (deputy.id, payloads.covering(absent_name=absent.full_name, period=period, deputy=True)),
        (absent.id, payloads.covering(absent_name=deputy.full_name, period=period, deputy=False)),
    ):
        await outbox.enqueue(db, clock=clock, user_id=user_id, notice=notice)
    return row


async def end_absence(db: AsyncSession, *, clock: Clock, actor: User, absence_id: int) -> Absence:
    """End an absence today (or cancel one not begun): the queue comes back at once."""
    row = await db.get(Absence, absence_id)
    if row is None or row.agency_id != actor.agency_id or row.cancelled_at is not None:
        raise NotFoundError("Không tìm thấy lịch vắng mặt.", "No such absence.")
    on = today(clock)
    me = await principal(db, actor, on=on)
    if not policy.may(me, Action.MARK_ABSENCE, AbsenceRef(row.agency_id, row.user_id)):
        raise ForbiddenError("Đồng chí không sửa được lịch này.", "You cannot change this absence.")
    if row.starts_on >= on:
        row.cancelled_at = clock.now()
    else:
        # Yesterday was the last day away: from today the queue is the person's again.
        row.ends_on = min(row.ends_on, date.fromordinal(on.toordinal() - 1))
    await audit.record(
        db,
        clock=clock,
        action="absence.ended",
        actor_id=actor.id,
        object_type="absence",
        object_id=row.id,
        detail={"user_id": row.user_id, "ends_on": row.ends_on.isoformat()},
    )
    await outbox.enqueue(
        db,
        clock=clock,
        user_id=row.deputy_id,
        notice=payloads.covering_ended(absent_name=(await db.get_one(User, row.user_id)).full_name),
    )
    return row


async def absences(
    db: AsyncSession, *, agency_id: int, on: date
) -> list[tuple[Absence, User, User]]:
    """Current and coming absences of the agency, soonest first."""
    rows = await db.execute(
        select(Absence)
        .where(
            Absence.agency_id == agency_id,
            Absence.cancelled_at.is_(None),
            Absence.ends_on >= on,
        )
        .order_by(Absence.starts_on, Absence.id)
    )
    found: list[tuple[Absence, User, User]] = []
    for (row,) in rows:
        found.append(
            (row, await db.get_one(User, row.user_id), await db.get_one(User, row.deputy_id))
        )
    return found
