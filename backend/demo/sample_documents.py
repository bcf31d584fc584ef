"""A handful of incoming documents for the demo province, registered like a clerk would."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.blobs import BlobStore
from backend.core.clock import VIETNAM, Clock
from backend.core.models import User
from backend.documents.forms import parse_incoming
from backend.documents.intake import Limits, Registrar, Upload, register_incoming
from backend.documents.samples import SampleText, render_sample
from backend.documents.verification import SignatureChecker
from backend.documents.workers import PdfWorkers

PARAGRAPHS = (
    "Thực hiện chỉ đạo của Ủy ban nhân dân tỉnh, đề nghị các cơ quan, đơn vị nghiêm túc triển "
    "khai các nội dung sau đây, bảo đảm đúng tiến độ và chất lượng.",
    "Các cơ quan, đơn vị tổng hợp kết quả thực hiện, khó khăn, vướng mắc và đề xuất giải pháp, "
    "gửi về cơ quan chủ trì trước thời hạn quy định để tổng hợp, báo cáo.",
    "Trong quá trình thực hiện, nếu có vướng mắc, đề nghị phản ánh kịp thời để được hướng dẫn.",
)

# (fields, sample header parent, title, signer competence/title/name, pages)
DOCUMENTS = [
    ({"type_code": "CV", "number_symbol": "2491/STC-BCTC", "urgency": "1",
      "issuer_name": "Sở Tài chính tỉnh Sông Hồng (DEMO)", "issuer_code": "000.00.11.H99",
      "subject": "Về việc báo cáo tình hình thực hiện dự toán ngân sách nhà nước quý I năm 2026",
      "source": "truc-lien-thong"},
     "UBND TỈNH SÔNG HỒNG", "", "KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "Phan Văn Tài", 2),
    ({"type_code": "BC", "number_symbol": "45/BC-UBND", "urgency": "0",
      "issuer_name": "Ủy ban nhân dân huyện Bình Minh (DEMO)", "issuer_code": "000.00.32.H99",
      "subject": "Kết quả công tác phòng, chống thiên tai và tìm kiếm cứu nạn năm 2025",
      "source": "truc-lien-thong"},
     "UBND TỈNH SÔNG HỒNG", "BÁO CÁO", "TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Lương Văn Bình", 3),
    ({"type_code": "KH", "number_symbol": "12/KH-SNV", "urgency": "0",
      "issuer_name": "Sở Nội vụ tỉnh Sông Hồng (DEMO)", "issuer_code": "000.00.12.H99",
      "subject": "Kiểm tra công tác văn thư, lưu trữ và ứng dụng văn bản điện tử năm 2026",
      "source": "truc-lien-thong"},
     "UBND TỈNH SÔNG HỒNG", "KẾ HOẠCH", "", "GIÁM ĐỐC", "Đỗ Thị Thu Trang", 2),
    ({"type_code": "CD", "number_symbol": "03/CĐ-TTg", "urgency": "3",
      "issuer_name": "Thủ tướng Chính phủ", "issuer_code": "000.00.00.G22",
      "subject": "Về việc tập trung ứng phó khẩn cấp với bão số 3 và mưa lũ",
      "source": "truc-lien-thong"},
     "", "CÔNG ĐIỆN", "KT. THỦ TƯỚNG", "PHÓ THỦ TƯỚNG", "(Người ký mẫu)", 1),
    ({"type_code": "QD", "number_symbol": "15/QĐ-UBND", "urgency": "2",
      "issuer_name": "Ủy ban nhân dân tỉnh Đồng Nai", "issuer_code": "000.00.00.H39",
      "subject": "Quyết định phê duyệt Đề án chuyển đổi số tỉnh Đồng Nai giai đoạn 2026 - 2030",
      "source": "buu-dien"},
     "", "QUYẾT ĐỊNH", "TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "(Người ký mẫu)", 2),
]  # fmt: skip


async def load(
    db: AsyncSession, *, clock: Clock, blobs: BlobStore, workers: PdfWorkers, clerk: User
) -> int:
    today = clock.now().astimezone(VIETNAM).date()
    for index, (fields, parent, title, competence, signer_title, signer, pages) in enumerate(
        DOCUMENTS
    ):
        issued = today - timedelta(days=len(DOCUMENTS) - index)
        fields = {**fields, "issue_date": issued.isoformat(), "signer_name": signer,
                  "signer_title": signer_title.capitalize(), "signer_competence":
                  competence.split(" ")[0] if competence else "",
                  "deadline": (today + timedelta(days=3 + 2 * index)).isoformat()}  # fmt: skip
        pdf = render_sample(
            SampleText(
                issuer_parent=parent,
                issuer=fields["issuer_name"].replace(" (DEMO)", ""),
                number_symbol=fields["number_symbol"],
                place="Sông Hồng",
                issued=issued,
                title=title,
                subject=fields["subject"],
                paragraphs=PARAGRAPHS,
                signer_competence=competence,
                signer_title=signer_title,
                signer_name=signer,
            ),
            pages=pages,
        )
        await register_incoming(
            db,
            clock=clock,
            blobs=blobs,
            workers=workers,
            registrar=Registrar.clerk(clerk),
            form=parse_incoming(fields, today=today),
            pdfs=[
                Upload(f"{fields['number_symbol'].replace('/', '-')}.pdf", "application/pdf", pdf)
            ],
            scans=[],
            limits=Limits(max_bytes=50 * 1024 * 1024),
            checker=SignatureChecker(None),
        )
    return len(DOCUMENTS)
