"""Demo data: departments, subjects, a thousand records over three years, a few cases, one account per role.

Deterministic (seeded random), so every installation shows the same data. Used by
``flask --app wsgi seed-demo`` and by the README's run command on first start.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.identifiers import USCC_ALPHABET, complete_id_number, complete_uscc
from app.models import CreditRecord, Department, RecordEvent, Subject, User
from app.models.enums import (
    AttachmentPurpose,
    BindingMethod,
    CaseKind,
    RecordCategory,
    RecordClass,
    RecordState,
    Role,
    SubjectKind,
)
from app.services import cases, records
from app.services.accounts import hash_password
from app.services.binding.verification import bind_verified
from app.services.calendar import get_working_calendar
from app.services.cases import files
from app.services.policy import get_policy_in_force
from app.services.transaction import use_case
from workflows import RecordTrigger


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str
    display_name: str


DEMO_ACCOUNTS = (
    DemoAccount("applicant", "demo-applicant-2026", Role.APPLICANT, "张敏（示范企业联系人）"),
    DemoAccount("person", "demo-person-2026", Role.APPLICANT, "李强"),
    DemoAccount("officer", "demo-officer-2026", Role.OFFICER, "王芳（受理专员）"),
    DemoAccount("supervisor", "demo-supervisor-2026", Role.SUPERVISOR, "赵磊（科长）"),
    DemoAccount("department", "demo-department-2026", Role.DEPARTMENT, "陈静（市场监管局）"),
    DemoAccount("admin", "demo-admin-2026", Role.ADMIN, "系统管理员"),
)

DEPARTMENTS = (
    ("SAMR-SH", "上海市市场监督管理局", "credit@scjgj.example.gov.cn"),
    ("TAX-SH", "国家税务总局上海市税务局", "credit@tax.example.gov.cn"),
    ("EE-SH", "上海市生态环境局", "credit@sthj.example.gov.cn"),
    ("EM-SH", "上海市应急管理局", "credit@yjglj.example.gov.cn"),
    ("HRSS-SH", "上海市人力资源和社会保障局", "credit@rsj.example.gov.cn"),
)

_COMPANY_STEMS = "恒信 华亿 金桥 申达 东方 博远 宏图 新联 瑞丰 安泰 嘉禾 汇通 鑫源 天成 永盛 中和 锦程 康达 长江 浦江".split()
_COMPANY_TRADES = "贸易 建筑工程 餐饮管理 物流 科技 食品 化工 装饰 医药 环保 电子 服装".split()
_SURNAMES = "王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 高 林 罗".split()
_GIVEN = "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 涛 明 超 秀英 霞 平 刚".split()
_DISTRICTS = ("310101", "310104", "310105", "310106", "310107", "310110", "310112", "310115")

# (department code, category, sector, sanction kinds, fact, sanction) — what each department decides.
_DECISIONS = {
    "SAMR-SH": [
        (RecordCategory.ADMINISTRATIVE_PENALTY, None, ["fine"], "销售不符合食品安全标准的食品", "罚款人民币二万元，没收违法所得"),
        (RecordCategory.ADMINISTRATIVE_PENALTY, None, ["warning"], "未按规定公示年度报告", "警告"),
        (RecordCategory.ABNORMAL_OPERATION_LIST, None, ["listing"], "通过登记的住所无法联系", "列入经营异常名录"),
        (RecordCategory.ADMINISTRATIVE_PENALTY, "special_equipment", ["fine"], "使用未经定期检验的特种设备", "罚款人民币五万元"),
        (RecordCategory.SERIOUS_DISHONESTY_LIST, None, ["listing", "business_restricted"], "提交虚假材料取得登记", "列入严重违法失信名单"),
    ],
    "TAX-SH": [
        (RecordCategory.ADMINISTRATIVE_PENALTY, None, ["fine"], "逾期未申报纳税", "罚款人民币二千元"),
        (RecordCategory.SERIOUS_DISHONESTY_LIST, None, ["listing"], "虚开增值税专用发票", "列入重大税收违法失信主体名单"),
    ],
    "EE-SH": [
        (RecordCategory.ADMINISTRATIVE_PENALTY, None, ["fine"], "超标排放大气污染物", "罚款人民币十万元，责令改正"),
        (RecordCategory.ADMINISTRATIVE_PENALTY, None, ["fine", "licence_revoked"], "无证排污且拒不改正", "罚款并吊销排污许可证"),
    ],
    "EM-SH": [
        (RecordCategory.ADMINISTRATIVE_PENALTY, "work_safety", ["fine"], "未按规定开展安全生产教育培训", "罚款人民币三万元"),
        (RecordCategory.ADMINISTRATIVE_PENALTY, "fire", ["fine"], "占用、堵塞消防通道", "罚款人民币一万元"),
    ],
    "HRSS-SH": [
        (RecordCategory.ADMINISTRATIVE_PENALTY, None, ["fine"], "拖欠劳动者工资", "罚款人民币五万元，责令支付"),
        (RecordCategory.SERIOUS_DISHONESTY_LIST, None, ["listing", "employment_restricted"], "拒不支付劳动报酬情节严重", "列入拖欠农民工工资失信联合惩戒对象名单"),
    ],
}


class AlreadySeeded(RuntimeError):
    pass


def has_data() -> bool:
    return bool(db.session.scalar(select(func.count()).select_from(Department)))


@use_case
def seed_demo(subjects: int = 200, records: int = 1000, seed: int = 20261125) -> dict[str, int]:
    """Load the demo data set in one transaction; refuses if departments already exist."""
    if has_data():
        raise AlreadySeeded("the database already holds data; demo data is only loaded into an empty one")
    rng = random.Random(seed)
    today = clock.today()
    policy = get_policy_in_force()

    departments = [Department(code=c, name=n, contact_email=e) for c, n, e in DEPARTMENTS]
    db.session.add_all(departments)

    people = _make_subjects(rng, subjects, today)
    db.session.add_all(people)
    db.session.flush()

    made = _make_records(rng, records, today, policy, departments, people)
    accounts = _make_accounts(departments, people)
    db.session.flush()
    n_cases = _make_cases(accounts, made)
    db.session.commit()
    return {
        "departments": len(departments),
        "subjects": len(people),
        "records": len(made),
        "cases": n_cases,
        "accounts": len(accounts),
    }


def _make_subjects(rng: random.Random, n: int, today: date) -> list[Subject]:
    subjects: list[Subject] = []
    seen: set[str] = set()
    n_natural = n * 2 // 5
    while len(subjects) < n:
        natural = len(subjects) < n_natural
        if natural:
            # Two of the persons are minors: their records must never be published.
            if len(subjects) < 2:
                birth = today - timedelta(days=rng.randint(14 * 365, 17 * 365))
            else:
                birth = date(rng.randint(1955, 2000), rng.randint(1, 12), rng.randint(1, 28))
            identifier = complete_id_number(
                f"{rng.choice(_DISTRICTS)}{birth:%Y%m%d}{rng.randint(0, 999):03d}"
            )
            name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
            subject = Subject(kind=SubjectKind.NATURAL, identifier=identifier, name=name, birth_date=birth)
        else:
            body = "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
            identifier = complete_uscc(f"91{rng.choice(_DISTRICTS)}{body}")
            name = f"上海{rng.choice(_COMPANY_STEMS)}{rng.choice(_COMPANY_TRADES)}有限公司"
            subject = Subject(kind=SubjectKind.LEGAL, identifier=identifier, name=name)
        if identifier in seen:
            continue
        seen.add(identifier)
        subjects.append(subject)
    # The demo applicant accounts are bound to the last legal entity and to the third person.
    subjects[-1].name = "上海示范贸易有限公司"
    return subjects


def _make_records(rng, n, today, policy, departments, subjects) -> list[CreditRecord]:
    by_code = {d.code: d for d in departments}
    legal = [s for s in subjects if s.kind == SubjectKind.LEGAL]
    natural = [s for s in subjects if s.kind == SubjectKind.NATURAL]
    made: list[CreditRecord] = []
    serial: dict[str, int] = {}
    for i in range(n):
        # Every 194th record is the demo company's, decided by the demo department's bureau.
        code = "SAMR-SH" if i % 194 == 0 else rng.choice(list(_DECISIONS))
        category, sector, kinds, facts, sanction = rng.choice(_DECISIONS[code])
        if category == RecordCategory.ABNORMAL_OPERATION_LIST or rng.random() < 0.8:
            subject = legal[-1] if i % 97 == 0 else rng.choice(legal)
        else:
            subject = natural[2] if i % 89 == 0 else rng.choice(natural)
        if category == RecordCategory.SERIOUS_DISHONESTY_LIST:
            severity = RecordClass.SERIOUS
        elif "warning" in kinds:
            severity = RecordClass.MINOR
        else:
            severity = rng.choices([RecordClass.MINOR, RecordClass.GENERAL, RecordClass.SERIOUS], [15, 65, 20])[0]
        decided = today - timedelta(days=rng.randint(3, 3 * 365))
        serial[code] = serial.get(code, 0) + 1
        published_day = get_working_calendar().add_working_days(decided, rng.choice([1, 2, 3, 5, 6, 9]))
        published_day = min(published_day, today - timedelta(days=1))  # never after the demo is loaded
        record = records.build_record(
            subject,
            by_code[code],
            severity=severity,
            decision_date=decided,
            publish_minor=rng.random() < 0.2,
            policy=policy,
            category=category,
            decision_number=f"沪{code.split('-')[0]}罚〔{decided.year}〕{serial[code]:05d}号",
            facts=facts,
            sanction=sanction,
            sanction_kinds=kinds,
            sector=sector,
            published_at=clock.start_of_day(published_day) + timedelta(hours=10),
        )
        made.append(record)
    db.session.add_all(made)
    db.session.flush()

    events = []
    for record in made:
        events.append(
            RecordEvent(
                record_id=record.id, seq=1, at=record.published_at, trigger="publish",
                from_state=None, to_state=RecordState.PUBLISHED, reason="demo data",
            )
        )
        if record.publicity_end < today:
            # Publicity ended before the demo started: retire it as the expiry job would have.
            record.state = RecordState.RETIRED
            record.retired_at = clock.end_of_day(record.publicity_end)
            events.append(
                RecordEvent(
                    record_id=record.id, seq=2, at=record.retired_at, trigger=RecordTrigger.EXPIRE,
                    from_state=RecordState.PUBLISHED, to_state=RecordState.RETIRED,
                    reason="publicity period ended",
                )
            )
    db.session.add_all(events)
    return made


def _make_accounts(departments, subjects) -> dict[str, User]:
    natural = [s for s in subjects if s.kind == SubjectKind.NATURAL]
    bindings = {
        "applicant": {"subject": subjects[-1]},
        "person": {"subject": natural[2]},
        "department": {"department": departments[0]},
    }
    accounts = {}
    for account in DEMO_ACCOUNTS:
        user = User(
            username=account.username,
            display_name=account.display_name,
            email=f"{account.username}@demo.example.cn",
            password_hash=hash_password(account.password),
            role=account.role,
            **bindings.get(account.username, {}),
        )
        db.session.add(user)
        accounts[account.username] = user
    db.session.flush()
    for user in accounts.values():  # the demo's applicants act for their subjects from the start
        if user.subject_id is not None:
            bind_verified(user, BindingMethod.DEMO)
    return accounts


# A one-page PDF, enough to stand for evidence in the demo.
DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _make_cases(accounts, records) -> int:
    """Cases in different states, each driven through the workflow services as a user would.

    The clock is set back for each step so the history and the deadlines look lived-in: one
    objection is overdue at its department, one went all the way to a revocation.
    """
    db.session.commit()  # the cases service commits per step; start from a committed base
    applicant, person = accounts["applicant"], accounts["person"]
    officer, department = accounts["officer"], accounts["department"]
    today = clock.today()
    own = [r for r in records if r.subject_id == applicant.subject_id and r.state == RecordState.PUBLISHED]
    repairable = [
        r for r in own
        if r.shortest_publicity_end < today - timedelta(days=30)
        and not set(r.sanction_kinds) & {"licence_revoked", "business_restricted", "employment_restricted"}
    ]
    objectable = [r for r in own if r not in repairable[:2]]
    # The full objection runs at the demo department, so its user can see the referral.
    objectable.sort(key=lambda r: r.department_id != department.department_id)
    objectable = objectable[1:] + objectable[:1]
    theirs = [r for r in records if r.subject_id == person.subject_id and r.state == RecordState.PUBLISHED]
    made = 0

    def at(days_ago: int, hour: int = 10):
        now = clock.local(clock.now())
        moment = (now - timedelta(days=days_ago)).replace(hour=hour, minute=0, second=0, microsecond=0)
        return clock.frozen_clock(min(moment, now - timedelta(minutes=days_ago + 1)))  # loaded at 7:30: not 10:00

    def submit(days_ago, user, kind, record, title, uploads=()):
        with at(days_ago):
            return cases.submit_case(
                user, cases.Submission(kind=kind, title=title, statement=f"{title}。请予核查。",
                                       record_id=record.id if record else None, uploads=list(uploads)),
            )

    def act(days_ago, case, trigger, user, reason=None, **extra):
        with at(days_ago, hour=15):
            return cases.transition_case(case.id, cases.Action(trigger, case.version, reason, **extra), user)

    if len(objectable) > 1:
        submit(1, applicant, CaseKind.OBJECTION, objectable[0], "处罚决定认定的违法事实有误")
        made += 1
    if len(objectable) > 2:
        case = submit(12, applicant, CaseKind.OBJECTION, objectable[1], "处罚金额与决定书不一致")
        act(11, case, "accept", officer)
        act(10, case, "refer", officer)
        made += 1
    if objectable and objectable[-1].department_id == department.department_id:
        case = submit(26, applicant, CaseKind.OBJECTION, objectable[-1], "该处罚决定已被行政复议撤销")
        act(25, case, "accept", officer)
        act(24, case, "refer", officer)
        act(20, case, "reply", department, "经核查，该处罚决定已于复议程序中撤销，请予撤销公示。", verification="revoke")
        act(19, case, "decide_revoke", officer, "认定单位确认原处罚决定已撤销，撤销该失信信息公示。")
        act(18, case, "close", officer)
        made += 1
    proofs = [
        files.Upload(AttachmentPurpose.OBLIGATION_PROOF, "罚款缴纳凭证.pdf", DEMO_PDF),
        files.Upload(AttachmentPurpose.CREDIT_COMMITMENT, "信用承诺书.pdf", DEMO_PDF),
    ]
    if repairable:
        submit(2, applicant, CaseKind.REPAIR, repairable[0], "已履行行政处罚义务，申请信用修复", proofs)
        made += 1
    if len(repairable) > 1:
        case = submit(6, applicant, CaseKind.REPAIR, repairable[1], "已完成整改，申请信用修复", proofs)
        act(5, case, "request_supplement", officer, "请补充整改完成的现场照片。")
        made += 1
    if own:
        case = submit(4, applicant, CaseKind.COMPLAINT, own[0], "认定单位未及时答复更正申请")
        act(3, case, "accept", officer)
        act(3, case, "assign", officer, assignee_id=officer.id)
        made += 1
    if theirs:
        submit(0, person, CaseKind.OBJECTION, theirs[0], "本人从未从事该经营活动")
        made += 1
    return made
