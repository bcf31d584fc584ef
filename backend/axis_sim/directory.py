"""The simulated axis' agency directory (danh mục mã định danh): rows, code helpers and a
deterministic generator of a country-sized directory.

Codes follow QCVN 102:2016 `NNN.NN.NN.Xnn`, read right to left: `Xnn` the level-1 body
(G = ministries and central bodies, H = provinces), then the level-2 unit (a department `01`–`30`
or a district `31`–`99`), the level-3 unit (a commune or a department's sub-unit), the level-4
unit (a school, a health station). `000.00.00.H53` is a province's People's Committee,
`000.00.01.H53` its office, `000.00.32.H53` a district, `000.20.31.H53` a commune.

Province numbers follow the alphabetical order of the 63 provinces, which matches every code
seen in the sources (H14 Cao Bằng, H22 Hà Giang, H36 Lâm Đồng, H37 Lạng Sơn, H41 Nghệ An,
H44 Phú Thọ, H53 Tây Ninh) [inferred]. Which ministry holds which G number is illustrative only,
except G22, the Government Office, as in the VPCP samples.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = ["DirectoryEntry", "generate_directory", "level_of", "qd20_code"]

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
GENERATED_AT = datetime(2024, 1, 2, 8, 0, tzinfo=VIETNAM)


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    """One agency of the directory; `pid` is the parent's `id`, 0 for a level-1 body."""

    id: int
    pid: int
    code: str
    name: str
    mail: str = ""
    center_code: str = ""
    version: int = 1
    deleted: bool = False
    modify_date: datetime = GENERATED_AT
    is_agency: bool = True


def level_of(code: str) -> int:
    """1 for `000.00.00.H53`, 2 for `000.00.01.H53`, 3 for `000.20.31.H53`, 4 below; 0 when
    the code is not in the QCVN 102 shape."""
    parts = code.split(".")
    if len(parts) != 4:
        return 0
    l4, l3, l2, _ = parts
    if l4.strip("0"):
        return 4
    if l3.strip("0"):
        return 3
    if l2.strip("0"):
        return 2
    return 1


def qd20_code(code: str) -> str:
    """A QĐ 20/2020-style code for a QCVN 102 one, level 1 first (`000.20.31.H53` →
    `H53.31.20`). The real mapping is kept by the axis per agency, not derived [unverified]."""
    parts = code.split(".")
    if len(parts) != 4:
        return code
    l4, l3, l2, l1 = parts
    groups = [l1, l2, l3, l4]
    while len(groups) > 1 and not groups[-1].strip("0"):
        groups.pop()
    return ".".join(groups)


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(";") if name.strip()]


# H01 … H63 in alphabetical order; `*` marks a centrally-run city (thành phố).
PROVINCES = _names("""
    An Giang; Bà Rịa - Vũng Tàu; Bắc Giang; Bắc Kạn; Bạc Liêu; Bắc Ninh; Bến Tre; Bình Định;
    Bình Dương; Bình Phước; Bình Thuận; Cà Mau; *Cần Thơ; Cao Bằng; *Đà Nẵng; Đắk Lắk; Đắk Nông;
    Điện Biên; Đồng Nai; Đồng Tháp; Gia Lai; Hà Giang; Hà Nam; *Hà Nội; Hà Tĩnh; Hải Dương;
    *Hải Phòng; Hậu Giang; Hòa Bình; *Hồ Chí Minh; Hưng Yên; Khánh Hòa; Kiên Giang; Kon Tum;
    Lai Châu; Lâm Đồng; Lạng Sơn; Lào Cai; Long An; Nam Định; Nghệ An; Ninh Bình; Ninh Thuận;
    Phú Thọ; Phú Yên; Quảng Bình; Quảng Nam; Quảng Ngãi; Quảng Ninh; Quảng Trị; Sóc Trăng; Sơn La;
    Tây Ninh; Thái Bình; Thái Nguyên; Thanh Hóa; Thừa Thiên Huế; Tiền Giang; Trà Vinh;
    Tuyên Quang; Vĩnh Long; Vĩnh Phúc; Yên Bái
""")
# G01 … G30; only G22 (the Government Office) is known to be right.
MINISTRIES = _names("""
    Bộ Quốc phòng; Bộ Công an; Bộ Ngoại giao; Bộ Nội vụ; Bộ Tư pháp; Bộ Kế hoạch và Đầu tư;
    Bộ Tài chính; Bộ Công Thương; Bộ Nông nghiệp và Phát triển nông thôn; Bộ Giao thông vận tải;
    Bộ Xây dựng; Bộ Tài nguyên và Môi trường; Bộ Thông tin và Truyền thông;
    Bộ Lao động - Thương binh và Xã hội; Bộ Văn hóa, Thể thao và Du lịch; Bộ Khoa học và Công nghệ;
    Bộ Giáo dục và Đào tạo; Bộ Y tế; Ủy ban Dân tộc; Ngân hàng Nhà nước Việt Nam;
    Thanh tra Chính phủ; Văn phòng Chính phủ; Đài Truyền hình Việt Nam; Đài Tiếng nói Việt Nam;
    Thông tấn xã Việt Nam; Học viện Chính trị quốc gia Hồ Chí Minh;
    Viện Hàn lâm Khoa học và Công nghệ Việt Nam; Viện Hàn lâm Khoa học xã hội Việt Nam;
    Bảo hiểm xã hội Việt Nam; Ủy ban Quản lý vốn nhà nước tại doanh nghiệp
""")
DEPARTMENTS = _names("""
    Văn phòng Ủy ban nhân dân; Sở Nội vụ; Sở Tư pháp; Sở Kế hoạch và Đầu tư; Sở Tài chính;
    Sở Công Thương; Sở Nông nghiệp và Phát triển nông thôn; Sở Giao thông vận tải; Sở Xây dựng;
    Sở Tài nguyên và Môi trường; Sở Thông tin và Truyền thông;
    Sở Lao động - Thương binh và Xã hội; Sở Văn hóa, Thể thao và Du lịch; Sở Khoa học và Công nghệ;
    Sở Giáo dục và Đào tạo; Sở Y tế; Thanh tra; Ban Dân tộc; Sở Ngoại vụ;
    Ban Quản lý các khu công nghiệp
""")
MINISTRY_UNITS = _names("""
    Văn phòng; Thanh tra; Vụ Tổ chức cán bộ; Vụ Pháp chế; Vụ Kế hoạch - Tài chính;
    Vụ Hợp tác quốc tế; Vụ Khoa học và Công nghệ; Cục Công nghệ thông tin; Cục Quản lý chất lượng;
    Cục Kiểm tra văn bản; Trung tâm Thông tin; Tổng cục Thống kê; Cục Quản lý giá;
    Viện Chiến lược và Chính sách; Báo điện tử; Tạp chí; Trường Cán bộ quản lý; Cục Đầu tư
""")
SUB_UNITS = _names("""
    Văn phòng; Thanh tra; Chi cục; Trung tâm Công nghệ thông tin; Trung tâm Dịch vụ công;
    Ban Quản lý dự án; Trung tâm Lưu trữ
""")
# Level 4 under a commune, and under any other level-3 unit.
COMMUNE_UNITS = _names("""
    Trường Mầm non; Trường Tiểu học; Trường Trung học cơ sở; Trạm Y tế;
    Trường Trung học phổ thông; Công an; Ban Chỉ huy quân sự; Hợp tác xã
""")
OFFICE_UNITS = _names("Phòng Tổng hợp; Phòng Nghiệp vụ; Đội Kiểm tra; Trạm; Phòng Hành chính")
SYLLABLES = _names("""
    An; Bình; Phú; Hòa; Thạnh; Tân; Long; Mỹ; Phước; Hưng; Thuận; Đông; Tây; Nam; Bắc; Trung;
    Quang; Minh; Hiệp; Lộc; Sơn; Hải; Thủy; Lâm; Xuân; Hạ; Thu; Đức; Nghĩa; Thắng; Lợi; Thành;
    Vĩnh; Khánh; Cát; Định; Gia; Hà; Kim; Lạc; Ngọc; Phong; Quý; Tiến; Trường; Vân; Yên; Hồng;
    Đồng; Châu; Điền; Khê; Sa; Cẩm; Tuy
""")
LEVEL4_CAP = 999


def _place(rng: random.Random) -> str:
    first, second = rng.sample(SYLLABLES, 2)
    return f"{first} {second}"


@dataclass(slots=True)
class _Node:
    code: str
    name: str
    parent: _Node | None
    block: str
    l2: int = 0
    l3: int = 0
    id: int = 0
    place: str = ""


def generate_directory(count: int, seed: int = 0) -> list[DirectoryEntry]:
    """`count` agencies in a pid tree: ministries, provinces, departments, districts, communes,
    then schools and stations spread evenly under the level-3 units.

    Deterministic: the same seed gives the same rows, and a smaller count a prefix of a larger
    one. Parents always come before their children. Codes never fall in H98/H99 (the demo).

    Raises:
        ValueError: `count` is negative or beyond what the tree can hold (about 15 million).
    """
    if count < 0:
        raise ValueError("count must be >= 0")
    rows: list[DirectoryEntry] = []
    for node in _nodes(random.Random(seed)):  # noqa: S311 - test data, not secrets
        if len(rows) == count:
            break
        node.id = len(rows) + 1
        rows.append(
            DirectoryEntry(
                id=node.id,
                pid=node.parent.id if node.parent else 0,
                code=node.code,
                name=node.name,
                # Level 4 rarely has a mailbox of its own.
                mail=f"vanthu.{node.code.lower()}@gov.vn" if node.code[:3] == "000" else "",
                # A province's units hang under its centre 00.NN.W00 [unverified for G].
                center_code=f"00.{node.block[1:]}.W00" if node.block[0] == "H" else "01.00.W00",
                modify_date=GENERATED_AT + timedelta(seconds=7 * node.id),
            )
        )
    if len(rows) < count:
        raise ValueError(f"the generated directory holds at most {len(rows)} agencies")
    return rows


def _nodes(rng: random.Random) -> Iterator[_Node]:
    """Every node, level by level; all randomness is drawn in a fixed order."""
    tops: list[_Node] = []
    for number, name in enumerate(MINISTRIES, start=1):
        block = f"G{number:02d}"
        tops.append(_Node(f"000.00.00.{block}", name, None, block))
    for number, province in enumerate(PROVINCES, start=1):
        block = f"H{number:02d}"
        kind = "thành phố" if province.startswith("*") else "tỉnh"
        province = province.lstrip("*")
        top = _Node(f"000.00.00.{block}", f"Ủy ban nhân dân {kind} {province}", None, block)
        top.place = f"{kind} {province}"
        tops.append(top)
    yield from tops

    level2: list[_Node] = []
    districts: list[_Node] = []
    for top in tops:
        if top.block[0] == "G":
            for l2 in range(1, rng.randint(8, len(MINISTRY_UNITS)) + 1):
                office = MINISTRY_UNITS[l2 - 1]
                level2.append(_node(top, l2, 0, f"{office} - {top.name}"))
            continue
        for l2, department in enumerate(DEPARTMENTS, start=1):
            level2.append(_node(top, l2, 0, f"{department} {top.place}"))
        for index in range(rng.randint(7, 15)):
            kind = "thành phố" if index == 0 else rng.choice(["huyện", "huyện", "huyện", "thị xã"])
            place = _place(rng)
            district = _node(top, 31 + index, 0, f"Ủy ban nhân dân {kind} {place}")
            district.place = f"{kind} {place}"
            districts.append(district)
    yield from level2
    yield from districts

    level3: list[_Node] = []
    for district in districts:
        urban = district.place.startswith(("thành phố", "thị xã"))
        for l3 in range(1, rng.randint(10, 25) + 1):
            kind = rng.choice(
                ["phường", "phường", "xã"] if urban else ["xã", "xã", "xã", "thị trấn"]
            )
            place = _place(rng)
            commune = _node(district, district.l2, l3, f"Ủy ban nhân dân {kind} {place}")
            commune.place = f"{kind} {place}"
            level3.append(commune)
    for unit in level2:
        for l3 in range(1, rng.randint(2, 5) + 1):
            sub_unit = rng.choice(SUB_UNITS)
            level3.append(_node(unit, unit.l2, l3, f"{sub_unit} - {unit.name}"))
    yield from level3

    # Level 4, breadth first: one more child for every level-3 unit per round.
    for round_number in range(1, LEVEL4_CAP + 1):
        for parent in level3:
            code = f"{round_number:03d}.{parent.l3:02d}.{parent.l2:02d}.{parent.block}"
            if parent.place:
                name = f"{rng.choice(COMMUNE_UNITS)} {parent.place}"
            else:
                name = f"{rng.choice(OFFICE_UNITS)} {round_number} - {parent.name}"
            yield _Node(code, name, parent, parent.block, parent.l2, parent.l3)


def _node(parent: _Node, l2: int, l3: int, name: str) -> _Node:
    return _Node(f"000.{l3:02d}.{l2:02d}.{parent.block}", name, parent, parent.block, l2, l3)
