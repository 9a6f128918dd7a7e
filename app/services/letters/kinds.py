"""What each kind of letter is called, how it is numbered, and the words every letter of a
workflow carries unless the policy says its own (``policy["letters"]``)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from workflows import COMPLAINT, OBJECTION, REPAIR, LetterKind

# The title of each kind, as the case page lists it and the letter heads it (in Chinese there).
TITLES = {
    LetterKind.ACCEPTANCE: _l("Notice of acceptance"),
    LetterKind.NON_ACCEPTANCE: _l("Notice of non-acceptance"),
    LetterKind.SUPPLEMENT_REQUEST: _l("Notice to supplement material"),
    LetterKind.OBJECTION_DECISION: _l("Decision on the objection"),
    LetterKind.REPAIR_APPROVAL: _l("Credit repair decision"),
    LetterKind.REPAIR_REFUSAL: _l("Decision not to repair"),
    LetterKind.COMPLAINT_REPLY: _l("Reply to the complaint"),
}

# The document number's prefix per kind: 信异决〔2026〕第000123号. Each kind counts on its own, from
# 1 every year.
PREFIXES = {
    LetterKind.ACCEPTANCE: "信受",
    LetterKind.NON_ACCEPTANCE: "信不受",
    LetterKind.SUPPLEMENT_REQUEST: "信补",
    LetterKind.OBJECTION_DECISION: "信异决",
    LetterKind.REPAIR_APPROVAL: "信修决",
    LetterKind.REPAIR_REFUSAL: "信不修",
    LetterKind.COMPLAINT_REPLY: "信投复",
}


def document_number(kind: str, year: int, seq: int) -> str:
    return f"{PREFIXES[LetterKind(kind)]}〔{year}〕第{seq:06d}号"


# The legal basis each workflow's letters cite, where the policy gives none of its own
# (``policy["letters"]["legal_basis"][workflow]``): the sources of DESIGN section 9.
LEGAL_BASIS = {
    OBJECTION.name: "《征信业管理条例》第二十五条；《上海市社会信用条例》第三十五条至第三十八条",
    REPAIR.name: "《信用修复管理办法》（国家发展和改革委员会令2025年第36号）；"
                 "《国务院办公厅关于进一步完善信用修复制度的通知》（国办发〔2025〕22号）",
    COMPLAINT.name: "《征信业管理条例》第二十六条；《市场监督管理投诉举报处理暂行办法》第十四条、第十五条",
}

# The right to seek review, on every letter (``policy["letters"]["review_rights"]`` replaces it).
REVIEW_RIGHTS = ("如对本文书所涉事项不服，可以自收到本文书之日起六十日内依法申请行政复议，"
                 "或者自收到本文书之日起六个月内依法向人民法院提起行政诉讼。")


def policy_words(body: dict, workflow: str) -> tuple[str, str]:
    """The legal basis and the review sentence under a policy version's body."""
    letters = body.get("letters") if isinstance(body.get("letters"), dict) else {}
    basis = (letters.get("legal_basis") or {}).get(workflow) or LEGAL_BASIS[workflow]
    return basis, letters.get("review_rights") or REVIEW_RIGHTS
