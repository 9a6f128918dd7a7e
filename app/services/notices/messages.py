"""Texts of the notices, in Chinese with an English variant.

Each template has a subject and one line per item; a digest puts many items of one template
for one recipient into one message. Placeholders are the keys of the notice's payload.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import has_app_context
from flask_babel import force_locale, gettext

from app.site import absolute
from workflows import CASE_WORKFLOWS

TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "case_submitted": {
        "zh": ("申请已提交：{case}", "您的申请 {case} 已提交，我们将在规定时限内办理。"),
        "en": ("Application submitted: {case}", "Your application {case} has been submitted."),
    },
    "case_changed": {
        "zh": ("案件进展：{case}", "案件 {case} 已办理“{trigger}”，当前状态：{state}。"),
        "en": ("Case update: {case}", "Case {case}: {trigger}; now {state}."),
    },
    "case_assigned": {
        "zh": ("案件已分派给您：{case}", "案件 {case} 已分派给您办理。"),
        "en": ("Case assigned to you: {case}", "Case {case} was assigned to you."),
    },
    "case_referred": {
        "zh": ("转办核查：{case}", "案件 {case} 已转至贵单位核查，请在规定时限内答复。"),
        "en": ("Referral: {case}", "Case {case} was referred to you for verification."),
    },
    "opinion_requested": {
        "zh": ("征求意见：{case}", "信用修复案件 {case} 征求贵单位意见，请在规定时限内出具意见。"),
        "en": ("Opinion requested: {case}", "Your opinion is requested on repair case {case}."),
    },
    "record_corrected": {
        "zh": ("失信信息已更正：{record}", "贵单位提供的失信信息 {record} 已依异议案件 {case} 更正。"),
        "en": ("Record corrected: {record}", "Record {record} was corrected (case {case})."),
    },
    "record_revoked": {
        "zh": ("失信信息已撤销：{record}", "贵单位提供的失信信息 {record} 已依异议案件 {case} 撤销，请解除据此实施的相关措施。"),
        "en": ("Record revoked: {record}", "Record {record} was revoked (case {case}); lift any measure based on it."),
    },
    "record_repaired": {
        "zh": ("信用修复完成：{record}", "失信信息 {record} 已依信用修复案件 {case} 停止公示，请同步停止共享并解除相关措施。"),
        "en": ("Credit repaired: {record}", "Record {record} left publicity after repair (case {case})."),
    },
    "record_republished": {
        "zh": ("信用修复撤销：{record}", "因提供虚假材料，修复案件 {case} 已撤销，失信信息 {record} 恢复公示。"),
        "en": ("Repair revoked: {record}", "Repair {case} was revoked for false material; record {record} is public again."),
    },
    "records_retired": {  # one per department and run of the expiry job; the e-mail attaches the list (CSV)
        "zh": ("失信信息公示期满停止公示（{count}条）",
               "贵单位提供的 {count} 条失信信息公示期满，已停止公示。清单见附件（CSV），也可在部门工作台查看：{link}"),
        "en": ("Records retired at publicity end ({count})",
               "{count} of your records reached the end of publicity. The list is attached (CSV) and in the "
               "department console: {link}"),
    },
    "record_leaving_soon": {  # RETIREMENT_NOTICE_WORKING_DAYS ahead (records.ahead)
        "zh": ("失信信息即将停止公示：{record}", "您的失信信息 {record} 公示期将满，将于 {leaves_on} 停止公示。"),
        "en": ("Record leaving publicity: {record}", "Your record {record} leaves publicity on {leaves_on}."),
    },
    "record_retired": {
        "zh": ("失信信息已停止公示：{record}", "您的失信信息 {record} 公示期满，已停止公示。"),
        "en": ("Record retired: {record}", "Your record {record} reached the end of its publicity period."),
    },
    "binding_verified": {
        "zh": ("主体认证已通过：{subject}", "您的账户已认证为 {subject} 办理业务，现在可以查看该主体的信息并提交申请。"),
        "en": ("Verified for {subject}", "Your account is verified to act for {subject}."),
    },
    "binding_refused": {
        "zh": ("主体认证未通过：{subject}", "您的主体认证未通过：{reason}。请补充或更换材料后重新提交。"),
        "en": ("Verification refused: {subject}", "Your verification was refused: {reason}. Please send the documents again."),
    },
    "binding_ended": {
        "zh": ("主体认证已终止：{subject}", "您的账户代表 {subject} 办理业务的认证已终止：{reason}。"),
        "en": ("Binding ended: {subject}", "Your account no longer acts for {subject}: {reason}."),
    },
    "binding_due": {
        "zh": ("身份核验时限即将届满", "{subject} 的主体认证待核验，时限 {due_at}。"),
        "en": ("Identity check due", "The identity check for {subject} is due on {due_at}."),
    },
    "binding_overdue": {
        "zh": ("身份核验已超期", "{subject} 的主体认证身份核验已超过时限（{due_at}），仍未办理。"),
        "en": ("Identity check overdue", "The identity check for {subject} passed its deadline ({due_at})."),
    },
    "binding_added": {
        "zh": ("新的账户已认证：{subject}", "账户 {account} 已认证为 {subject} 办理业务。如非贵方授权，请立即联系平台。"),
        "en": ("Another account verified: {subject}", "Account {account} is now verified to act for {subject}. "
               "If you did not authorise it, tell the platform at once."),
    },
    "sign_up_link": {
        "zh": ("完成注册：信用主体账户",
               "有人（希望是您本人）使用本邮箱申请注册信用主体账户。请在 {hours} 小时内打开以下链接完成注册：\n{link}\n"
               "如非本人操作，请忽略本邮件，不会创建任何账户。"),
        "en": ("Finish your sign-up",
               "Someone (you, we hope) asked for a credit subject account with this address. Open this link within "
               "{hours} hours to finish:\n{link}\nIf it was not you, ignore this message: no account is made."),
    },
    "sign_up_exists": {
        "zh": ("本邮箱已有账户",
               "有人使用本邮箱申请注册新账户，但本邮箱已有账户。请直接登录：{sign_in}\n"
               "如忘记密码，请在登录页点击“忘记密码？”重设。如非本人操作，请忽略本邮件。"),
        "en": ("An account already exists for this address",
               "Someone asked for a new account with this address, but an account already exists for it. Sign in: "
               "{sign_in}\nIf you forgot the password, choose “Forgot password?” on the sign-in page. If it "
               "was not you, ignore this message."),
    },
    "password_reset_link": {  # {link} is made as the mail goes out (app/services/recovery): never in the outbox
        "zh": ("重设密码",
               "有人（希望是您本人）为账户 {account} 申请重设密码。请在 {minutes} 分钟内打开以下链接设置新密码，"
               "链接只能使用一次：\n{link}\n如非本人操作，请忽略本邮件，您的密码不会改变。"),
        "en": ("Set a new password",
               "Someone (you, we hope) asked to set a new password for the account {account}. Open this link "
               "within {minutes} minutes to set it; it works once:\n{link}\nIf it was not you, ignore this "
               "message: your password stays as it is."),
    },
    "sla_due_soon": {
        "zh": ("办理时限即将届满", "案件 {case} 的办理时限将于 {due_at} 届满。"),
        "en": ("Deadline approaching", "Case {case} is due at {due_at}."),
    },
    "sla_breached": {
        "zh": ("办理超期提醒", "案件 {case} 已超过办理时限（{due_at}）。"),
        "en": ("Deadline passed", "Case {case} passed its deadline ({due_at})."),
    },
}

# Payload fields that are single-use secrets: the dispatcher blanks them once the message is sent.
SECRET_FIELDS = {"sign_up_link": ("link",)}

# Templates whose notices to one recipient are sent together as one message.
DIGESTED = {"sla_due_soon", "sla_breached", "records_retired", "record_retired", "record_leaving_soon", "binding_due",
            "binding_overdue"}


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _step_line(payload: dict, locale: str) -> str | None:
    """A case's step as the applicant reads it (the transition's own ``notice``, translated), with
    the link to the case; None for a step without one."""
    workflow = CASE_WORKFLOWS.get(payload.get("kind") or "")
    taken = next((t for t in workflow.transitions if t.trigger == payload.get("trigger")), None) if workflow else None
    if taken is None or not taken.notice:
        return None
    text = taken.notice
    if has_app_context():
        with force_locale("en" if locale == "en" else "zh_CN"):
            text = gettext(taken.notice)
    link = payload.get("link")
    return text + (f"\n{link}" if link else "")


def _line(template: str, locale: str, payload: dict) -> tuple[str, str]:
    texts = TEMPLATES.get(template, {})
    subject, line = texts.get(locale) or texts.get("zh") or (template, "{payload}")
    if template == "case_changed":
        line = _step_line(payload, locale) or line
    values = _Missing({k: ("、" if locale == "zh" else ", ").join(v) if isinstance(v, list) else v
                       for k, v in payload.items()}, payload=payload)
    if isinstance(payload.get("link"), str) and has_app_context():
        values["link"] = absolute(payload["link"])  # a page of the site, as a mail can open it
    return subject.format_map(values), line.format_map(values)


def render(template: str, payloads: list[dict], locale: str = "zh", total: int | None = None) -> Message:
    """One message for one or more notices of the same template (a digest when several).
    ``total``: how many notices the digest stands for when ``payloads`` are only its first ones
    (an in-app entry lists a few lines and says how many more there are)."""
    locale = "en" if (locale or "").startswith("en") else "zh"
    lines = [_line(template, locale, p) for p in payloads]
    total = max(total or 0, len(lines))
    if total == 1:
        return Message(lines[0][0], lines[0][1])
    heading = f"（共{total}项）" if locale == "zh" else f" ({total} items)"
    body = [f"- {line}" for _, line in lines]
    if total > len(lines):
        more = total - len(lines)
        body.append(f"……另有{more}项" if locale == "zh" else f"... and {more} more")
    return Message(lines[0][0] + heading, "\n".join(body))
