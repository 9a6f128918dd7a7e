"""Letters: the PDF download for whoever may see the case, and the public check of a code."""
from __future__ import annotations

import base64
from io import BytesIO

from flask import Blueprint, current_app, render_template, request, send_file
from flask_limiter.util import get_remote_address
from flask_login import current_user

from app.errors import NotFound
from app.extensions import limiter
from app.services import cases, letters
from app.web.access import public, signed_in

bp = Blueprint("letters", __name__)


@bp.app_template_global("case_letters")
def case_letters(case) -> list[tuple]:
    """(letter, its kind's title) for the case page, which has checked that its viewer may see the case."""
    return [(letter, letters.TITLES[letter.kind]) for letter in letters.letters_of(case)]


@bp.route("/cases/<id:case_id>/letters/<id:letter_id>.pdf")
@signed_in
def download(case_id: int, letter_id: int):
    """The letter as issued (its stored bytes, never rendered again), to whoever may see its case."""
    letter = letters.get_letter_of(cases.get_case_for(current_user, case_id), letter_id)
    response = send_file(BytesIO(letter.pdf), mimetype="application/pdf", as_attachment=True,
                         download_name=letters.file_name(letter), etag=letter.sha256, max_age=0)
    # RFC 9530: the receiver can check the file against the SHA-256 kept since it was issued.
    response.headers["Repr-Digest"] = "sha-256=:" + base64.b64encode(bytes.fromhex(letter.sha256)).decode() + ":"
    return response


def _has_code() -> bool:
    return bool(request.args.get("code", "").strip())


@bp.route(letters.VERIFY_PATH)
@public
@limiter.limit(lambda: current_app.config["LETTER_VERIFY_LIMIT_PER_ADDRESS"], key_func=get_remote_address,
               scope="letter-verify-address", exempt_when=lambda: not _has_code())
def verify():
    """Anyone holding a letter checks it by its code (typed, or from the QR code's link): the
    number, date, kind and result, and nothing of the people or the record."""
    typed = request.args.get("code", "").strip()[:64]
    if not typed:
        return render_template("letters/verify.html", code="", verified=None, unknown=False)
    try:
        verified = letters.verify_code(typed)
    except NotFound:
        return render_template("letters/verify.html", code=typed, verified=None, unknown=True), 404
    return render_template("letters/verify.html", code=typed, verified=verified, unknown=False)
