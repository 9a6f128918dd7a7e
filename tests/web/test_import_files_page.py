"""The import page as a department's staff meet it: a template to fill in, the values the coded
columns accept, files from Excel or WPS in either encoding they write, and a refusal that names
the file, not "1 problem in 0 rows"."""
from __future__ import annotations

import csv
import io
from io import BytesIO

from sqlalchemy import select

from app.models import CreditRecord
from app.models.enums import Role
from tests.factories import make_user, uscc
from tests.web.helpers import csrf_token, sign_in, text

ROW = "{code},{name},行政处罚信息,一般,{number},2026-06-01,未按规定公示年报,罚款人民币五千元\n"


def _upload(client, data: bytes, name: str = "records.csv"):
    return client.post("/dept/records/import", data={
        "csrf_token": csrf_token(client, "/dept/records/import"),
        "file": (BytesIO(data), name)}, content_type="multipart/form-data")


def _template(client) -> str:
    response = client.get("/dept/records/import/template.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return response.get_data(as_text=True)


def test_the_template_names_every_column_in_chinese_and_imports_once_filled(client, db, frozen):
    sign_in(client, make_user(Role.DEPARTMENT).username)
    template = _template(client)
    assert template.startswith("\ufeff")  # Excel opens it as UTF-8
    header = next(csv.reader(io.StringIO(template.lstrip("\ufeff"))))
    assert header[:8] == ["统一社会信用代码", "名称", "信息类别", "失信程度", "决定文书号", "决定日期", "失信事实", "惩戒措施"]
    assert {"处罚种类", "所属领域", "轻微失信仍公示", "操作", "限制措施截止日期"} <= set(header)
    row = {"统一社会信用代码": uscc(), "名称": "模板导入有限公司", "信息类别": "行政处罚信息", "失信程度": "一般",
           "决定文书号": "沪模罚1号", "决定日期": "2026-06-01", "失信事实": "事实", "惩戒措施": "罚款",
           "处罚种类": "fine"}
    filled = template + ",".join(row.get(h, "") for h in header) + "\n"
    assert _upload(client, filled.encode()).status_code == 302
    assert db.session.scalar(select(CreditRecord.decision_number)) == "沪模罚1号"


def test_an_english_reader_gets_the_code_names(client, db):
    sign_in(client, make_user(Role.DEPARTMENT, locale="en").username)
    header = _template(client).lstrip("\ufeff").splitlines()[0]
    assert header.startswith("identifier,subject_name,category,severity,decision_number,decision_date")


def test_the_page_lists_what_each_coded_column_accepts(client, db):
    sign_in(client, make_user(Role.DEPARTMENT).username)
    page = text(client.get("/dept/records/import"))
    for shown in ("serious_dishonesty_list", "严重失信主体名单", "轻微", "licence_revoked", "吊销许可证",
                  "special_equipment", "特种设备", "更正"):
        assert shown in page, shown


def test_a_gb18030_file_from_excel_imports_like_a_utf8_one(client, db, frozen):
    sign_in(client, make_user(Role.DEPARTMENT).username)
    header = "统一社会信用代码,名称,信息类别,失信程度,决定文书号,决定日期,失信事实,惩戒措施\n"
    gb = (header + ROW.format(code=uscc(), name="国标编码有限公司", number="沪国标罚1号")).encode("gb18030")
    with_bom = ("\ufeff" + header + ROW.format(code=uscc(), name="带签名有限公司", number="沪签罚2号")).encode()
    assert _upload(client, gb).status_code == 302
    assert _upload(client, with_bom).status_code == 302
    names = set(db.session.scalars(select(CreditRecord.decision_number)))
    assert names == {"沪国标罚1号", "沪签罚2号"}
    record = db.session.scalar(select(CreditRecord).where(CreditRecord.decision_number == "沪国标罚1号"))
    assert record.facts == "未按规定公示年报"  # decoded, not mojibake


def test_a_file_that_is_no_text_is_refused_as_a_file_not_as_rows(client, db):
    sign_in(client, make_user(Role.DEPARTMENT).username)
    page = _upload(client, b"identifier,subject_name\n\x00\x01\x02\xff\xfe binary")
    assert page.status_code == 422
    body = text(page)
    assert "文件无法读取" in body and "GB18030" in body
    assert "0 行" not in body and "0 row" not in body
    assert db.session.scalar(select(CreditRecord)) is None


def test_a_utf8_file_with_nul_characters_is_refused(client, db):
    sign_in(client, make_user(Role.DEPARTMENT).username)
    page = _upload(client, "identifier,名称\n91350100M000100Y43,\x00\x00\n".encode())
    assert page.status_code == 422 and "文件无法读取" in text(page)


def test_a_character_split_between_two_pieces_of_the_reading_is_still_utf8(tmp_path):
    from app.services.records.import_files import MB, csv_encoding

    path = tmp_path / "big.csv"
    path.write_bytes(b"a" * (MB - 1) + "公司".encode() * 3)  # 公 starts one byte before the first piece ends
    assert csv_encoding(path) == "utf-8-sig"
    path.write_bytes(b"a" * (MB - 1) + "公司".encode("gb18030") * 3)
    assert csv_encoding(path) == "gb18030"
