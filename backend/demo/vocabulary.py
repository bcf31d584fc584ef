"""Words of the demo's six months: subjects built from templates × topics, directions, progress
notes, results and reasons, all in Vietnamese as an office writes them."""

from __future__ import annotations

# Fields of work a provincial People's Committee office deals with (trích yếu topics).
TOPICS = (
    "công tác cải cách hành chính",
    "chuyển đổi số và xây dựng chính quyền số",
    "phòng, chống thiên tai và tìm kiếm cứu nạn",
    "giải ngân vốn đầu tư công",
    "quản lý, sử dụng đất đai",
    "xây dựng nông thôn mới",
    "phòng cháy, chữa cháy và cứu nạn, cứu hộ",
    "bảo đảm trật tự, an toàn giao thông",
    "bảo vệ môi trường và xử lý rác thải sinh hoạt",
    "chăm sóc sức khỏe Nhân dân",
    "tuyển sinh vào lớp 10 trung học phổ thông",
    "giảm nghèo bền vững",
    "thu ngân sách nhà nước",
    "phòng, chống dịch bệnh truyền nhiễm",
    "tiếp công dân, giải quyết khiếu nại, tố cáo",
    "thực hành tiết kiệm, chống lãng phí",
    "quản lý thị trường, chống buôn lậu và gian lận thương mại",
    "đào tạo, bồi dưỡng cán bộ, công chức, viên chức",
    "bảo đảm an toàn thực phẩm",
    "phát triển du lịch",
    "thu hút đầu tư vào các khu công nghiệp",
    "sắp xếp đơn vị hành chính cấp xã",
    "công tác văn thư, lưu trữ",
    "cấp căn cước và định danh điện tử",
    "hỗ trợ doanh nghiệp nhỏ và vừa",
    "phòng, chống tham nhũng, tiêu cực",
    "chính sách đối với người có công",
    "bảo tồn và phát huy giá trị di sản văn hóa",
    "quản lý quy hoạch xây dựng đô thị",
    "sản xuất vụ Đông Xuân",
    "phòng, chống bệnh dịch tả lợn châu Phi",
    "quản lý tài sản công",
    "thi hành pháp luật về xử lý vi phạm hành chính",
    "bảo hiểm xã hội, bảo hiểm y tế toàn dân",
    "an toàn, an ninh mạng",
    "phổ biến, giáo dục pháp luật",
)

# Per document type: templates of its trích yếu ({topic}, {period}).
SUBJECTS: dict[str, tuple[str, ...]] = {
    "CV": (
        "Về việc triển khai {topic}",
        "Về việc báo cáo tình hình {topic} {period}",
        "Về việc góp ý dự thảo văn bản về {topic}",
        "Về việc đề nghị hướng dẫn thực hiện {topic}",
        "Về việc tăng cường {topic}",
        "Về việc đôn đốc thực hiện {topic}",
        "Về việc cung cấp thông tin, số liệu về {topic}",
        "Về việc kiểm tra, rà soát {topic}",
    ),
    "BC": (
        "Kết quả thực hiện {topic} {period}",
        "Tình hình {topic} {period} và phương hướng, nhiệm vụ thời gian tới",
        "Tổng kết {topic} {period}",
    ),
    "KH": (
        "Kế hoạch thực hiện {topic} năm {year}",
        "Kế hoạch kiểm tra {topic} năm {year}",
        "Kế hoạch tuyên truyền về {topic} năm {year}",
    ),
    "QD": (
        "Quyết định phê duyệt kế hoạch {topic} năm {year}",
        "Quyết định thành lập Tổ công tác về {topic}",
        "Quyết định ban hành quy chế phối hợp về {topic}",
    ),
    "TB": (
        "Thông báo kết luận của lãnh đạo về {topic}",
        "Thông báo kết quả kiểm tra {topic}",
    ),
    "GM": (
        "Giấy mời dự hội nghị sơ kết {topic} {period}",
        "Giấy mời dự họp về {topic}",
    ),
    "HD": ("Hướng dẫn thực hiện {topic}", "Hướng dẫn đánh giá, chấm điểm {topic} năm {year}"),
    "CT": ("Chỉ thị về tăng cường {topic}",),
    "CD": ("Công điện về việc tập trung chỉ đạo {topic}",),
    "TTR": ("Tờ trình đề nghị phê duyệt đề án {topic}",),
    "QPPL-QD": ("Quyết định ban hành Quy định về {topic} trên địa bàn tỉnh",),
}

# Types of incoming documents and their weights (công văn dominate, as in any register).
INCOMING_TYPES = (
    ("CV", 46),
    ("BC", 14),
    ("KH", 8),
    ("QD", 9),
    ("TB", 7),
    ("GM", 8),
    ("HD", 3),
    ("CT", 1),
    ("TTR", 3),
    ("CD", 1),
)
OUTGOING_TYPES = (
    ("CV", 52),
    ("QD", 22),
    ("TB", 8),
    ("KH", 7),
    ("BC", 6),
    ("GM", 3),
    ("CT", 1),
    ("QPPL-QD", 1),
)
# Độ khẩn: mostly thường, some khẩn, few thượng khẩn and hỏa tốc.
URGENCIES = ((0, 82), (1, 13), (2, 4), (3, 1))

# Who signs what an issuer sends, by kind of issuer: (title, signing competence).
SIGNERS = {
    "so": (("Giám đốc", ""), ("Phó Giám đốc", "KT.")),
    "ubnd": (("Chủ tịch", "TM."), ("Phó Chủ tịch", "KT.")),
    "bo": (("Bộ trưởng", ""), ("Thứ trưởng", "KT.")),
    "khac": (("Giám đốc", ""), ("Phó Giám đốc", "KT."), ("Chánh Văn phòng", "TL.")),
}
SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô")
MIDDLE = ("Văn", "Thị", "Minh", "Quốc", "Thanh", "Hữu", "Ngọc", "Đức")
GIVEN = ("An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hương", "Khánh", "Lâm", "Long",
         "Nga", "Phong", "Quang", "Tâm", "Thảo", "Tuấn", "Vân", "Xuân", "Yến")  # fmt: skip

DIRECTIONS = (
    "Giao {unit} chủ trì nghiên cứu, tham mưu UBND tỉnh xử lý theo quy định.",
    "Giao {unit} chủ trì, phối hợp các sở, ngành liên quan kiểm tra, đề xuất; báo cáo "
    "UBND tỉnh trước hạn.",
    "Giao {unit} theo dõi, tổng hợp, tham mưu văn bản trả lời.",
    "Đề nghị {unit} khẩn trương tham mưu, báo cáo kết quả trước hạn.",
    "Giao {unit} nghiên cứu, tham mưu dự thảo văn bản chỉ đạo.",
)
REASSIGN_NOTES = (
    "Đồng chí nghiên cứu, tham mưu theo chỉ đạo.",
    "Giao đồng chí chủ trì xử lý, báo cáo trước hạn.",
    "Đồng chí theo dõi, tổng hợp và dự thảo văn bản trả lời.",
)
PROGRESS_NOTES = (
    "Đã làm việc với các sở, ngành liên quan, đang tổng hợp ý kiến.",
    "Đã dự thảo văn bản, đang xin ý kiến các đơn vị phối hợp.",
    "Đã tổng hợp số liệu, đang hoàn thiện báo cáo.",
    "Đang chờ ý kiến của Sở Tài chính và Sở Nội vụ.",
    "Đã kiểm tra thực tế tại địa phương, đang hoàn thiện đề xuất.",
)
INPUT_NOTES = (
    "Đơn vị đã gửi ý kiến tham gia bằng văn bản.",
    "Thống nhất với dự thảo, không có ý kiến bổ sung.",
)
RESULTS = (
    "Đã tham mưu văn bản trả lời, trình lãnh đạo ký ban hành.",
    "Đã tổng hợp, báo cáo UBND tỉnh; hồ sơ lưu tại đơn vị.",
    "Đã hướng dẫn đơn vị thực hiện theo quy định.",
    "Đã tham mưu Quyết định, trình lãnh đạo ký.",
    "Đã thông báo đến các địa phương, theo dõi thực hiện.",
)
RETURN_REASONS = (
    "Nội dung không thuộc lĩnh vực phụ trách của đơn vị, đề nghị giao Phòng Kinh tế chủ trì.",
    "Văn bản thiếu phụ lục số liệu, đề nghị văn thư liên hệ cơ quan gửi bổ sung.",
    "Đề nghị giao Phòng Nội chính chủ trì do liên quan đến công tác thanh tra.",
)
FORWARD_NOTES = (
    "Kính trình đồng chí cho ý kiến chỉ đạo.",
    "Đề nghị đồng chí cho ý kiến chỉ đạo; đề xuất giao Phòng Kinh tế chủ trì.",
    "Kính trình đồng chí xem xét, chỉ đạo.",
)
RECIPIENTS = (
    "Các sở, ban, ngành tỉnh;\nUBND các huyện, thị xã, thành phố;\nLưu: VT.",
    "Sở Tài chính;\nSở Kế hoạch và Đầu tư;\nLưu: VT, KT.",
    "Văn phòng Chính phủ;\nBộ Nội vụ;\nLưu: VT, NC.",
    "UBND huyện Bình Minh;\nUBND thị xã Phú Thịnh;\nLưu: VT.",
)
# Drafts waiting in the leaders' "Chờ ký" today: (author, signer, type, urgency, subject).
DRAFTS = (
    ("chuyenvien1", "chutich", "CD", 3,
     "Công điện về việc tập trung ứng phó khẩn cấp với mưa lũ và sạt lở đất"),
    ("chuyenvien1", "chutich", "QD", 0,
     "Quyết định phê duyệt Kế hoạch chuyển đổi số tỉnh Sông Hồng năm 2027"),
    ("truongphongkt", "chutich", "CV", 1,
     "Về việc đẩy nhanh tiến độ giải ngân vốn đầu tư công những tháng cuối năm"),
    ("chuyenvien2", "chutich", "BC", 0,
     "Báo cáo kết quả công tác tiếp công dân, giải quyết khiếu nại, tố cáo năm 2026"),
    ("chuyenvien2", "phochutich", "KH", 0,
     "Kế hoạch kiểm tra công tác cải cách hành chính năm 2027"),
    ("truongphongkt", "phochutich", "CV", 2,
     "Về việc bảo đảm an toàn thực phẩm dịp Tết Nguyên đán"),
    ("chuyenvien1", "phochutich", "TB", 0,
     "Thông báo kết luận của Phó Chủ tịch UBND tỉnh tại cuộc họp về xây dựng nông thôn mới"),
    # The office chief signs "TL. CHỦ TỊCH" for invitations (the demo's signing rules).
    ("chuyenvien1", "chanhvanphong", "GM", 0,
     "Giấy mời dự họp giao ban công tác tháng 12 năm 2026"),
)  # fmt: skip
# A draft the vice-chairman sent back, with the comment the author reads.
RETURNED_DRAFT = (
    "chuyenvien2", "phochutich", "CV", 0,
    "Về việc tăng cường công tác phòng cháy, chữa cháy mùa hanh khô",
    "Đề nghị bổ sung số liệu các vụ cháy năm 2026 và làm rõ trách nhiệm của UBND cấp huyện; "
    "sửa lại phần nơi nhận.",
)  # fmt: skip
