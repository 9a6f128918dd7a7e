"""Letters (issue 15): the numbered written notices that a case's steps issue to the applicant
(acceptance, non-acceptance, supplement, the decisions, the complaint reply), as PDFs.

Which step issues which letter is a workflow fact (``Transition.letter``). ``issue_letter`` is
a step inside the transition's transaction (``cases.effects.notify_transition`` calls it): the
letter takes the next number of its kind and year, is rendered once, and is stored with its
SHA-256; it is never rendered again. The rest are queries: a case's letters, one letter's file
for whoever may see its case, and the public check of a verification code, which tells the
number, date, kind and result only. The e-mail notice of the step attaches the letter
(``mail``, registered with the dispatcher on import).
"""
from app.services.letters import mail as _mail  # noqa: F401  (registers the e-mail attachment)
from app.services.letters.codes import VERIFY_PATH
from app.services.letters.issue import issue_letter
from app.services.letters.kinds import TITLES
from app.services.letters.queries import Verified, file_name, get_letter_of, letters_of, verify_code

__all__ = ["TITLES", "VERIFY_PATH", "Verified", "file_name", "get_letter_of", "issue_letter", "letters_of",
           "verify_code"]
