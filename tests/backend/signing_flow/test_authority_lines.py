"""The lines each signing form prints above the signature (Decree 30/2020/NĐ-CP, Article 13 and
Appendix I), and the check of a draft's signer block against them."""

from __future__ import annotations

import pytest

from backend.core.errors import ValidationError
from backend.core.models import User
from backend.signing_flow import authority
from backend.signing_flow.tables import SignForm, SigningGrant
from signing import make_sample_pdf
from signing.textpos import find_positions

UBND = "ỦY BAN NHÂN DÂN"


def grant(form: SignForm, title: str = "", head: str = "Chủ tịch") -> SigningGrant:
    return SigningGrant(id=1, form=form.value, title=title, head_title=head, types="")


@pytest.mark.parametrize(
    ("form", "title", "collective", "lines"),
    [
        (SignForm.HEAD, "Chủ tịch", UBND, ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"]),
        (
            SignForm.KT,
            "Phó Chủ tịch",
            UBND,
            ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"],
        ),
        (SignForm.Q, "Phó Chủ tịch", UBND, ["TM. ỦY BAN NHÂN DÂN", "Q. CHỦ TỊCH"]),
        # TL. and TUQ. sign for the head, not for the collective: no "TM." line.
        (SignForm.TL, "Chánh Văn phòng", UBND, ["TL. CHỦ TỊCH", "CHÁNH VĂN PHÒNG"]),
        (SignForm.TUQ, "Chánh Văn phòng", UBND, ["TUQ. CHỦ TỊCH", "CHÁNH VĂN PHÒNG"]),
        # A body under a head's regime (a department): the head signs with their title alone.
        (SignForm.HEAD, "Giám đốc", None, ["GIÁM ĐỐC"]),
        (SignForm.KT, "Phó Giám đốc", None, ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"]),
    ],
)
def test_each_form_prints_its_lines(
    form: SignForm, title: str, collective: str | None, lines: list[str]
) -> None:
    head = "Giám đốc" if collective is None else "Chủ tịch"
    assert authority.block_lines(grant(form, title, head), collective=collective) == lines


def option(form: SignForm, title: str, name: str) -> authority.SignerOption:
    made = grant(form, title)
    return authority.SignerOption(
        grant=made,
        signer=User(full_name=name),
        lines=authority.block_lines(made, collective=UBND),
        away=None,
        deputy=None,
    )


def test_the_draft_block_must_print_the_chosen_form_and_name() -> None:
    kt = option(SignForm.KT, "Phó Chủ tịch", "Trần Thị Bích Ngọc")
    lines = ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH")
    found = find_positions(make_sample_pdf(signer_name="Trần Thị Bích Ngọc", signer_lines=lines))
    assert found.block_lines == lines
    authority.check_block(lines=found.block_lines, name=found.signer_name, option=kt)
    # A title wrapped over two lines reads the same.
    authority.check_block(
        lines=("TM. ỦY BAN", "NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"),
        name="Trần Thị Bích Ngọc",
        option=kt,
    )
    wrong = [
        # The head's own lines, for a deputy.
        (("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"), "Trần Thị Bích Ngọc"),
        # KT. without the collective's line.
        (("KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"), "Trần Thị Bích Ngọc"),
        # Another form stacked above the right one.
        (
            ("TL. CHỦ TỊCH", "TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"),
            "Trần Thị Bích Ngọc",
        ),
        # Someone else's name.
        (lines, "Nguyễn Văn An"),
    ]
    for block, name in wrong:
        with pytest.raises(ValidationError) as refused:
            authority.check_block(lines=block, name=name, option=kt)
        assert "KT. CHỦ TỊCH / PHÓ CHỦ TỊCH — Trần Thị Bích Ngọc" in refused.value.message_vi
