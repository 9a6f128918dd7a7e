"""No identity number reaches a log in clear: not in the message, the traceback or the stack.

Issue 13 measured a traceback (an ``IntegrityError`` with its parameters) writing a number to the
log while the scrubber saw only the message. Each test logs through a handler of its own on a
logger that does not propagate, as gunicorn's error and access logs are set up, so what is
checked is what any handler would write.
"""
from __future__ import annotations

import io
import logging

import pytest
import sqlalchemy as sa

from app.identifiers import complete_id_number
from app.logging_setup import ScrubIdentifiers, install_scrubber
from config import load_config

NUMBER = complete_id_number("11010519800101001")  # 110105198001010017... with its check digit
MASKED = NUMBER[:6] + "*" * 8 + NUMBER[-4:]


@pytest.fixture
def written():
    """A logger like gunicorn's (own handler, no propagation) and the text its handler wrote."""
    install_scrubber()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("casedesk.test.scrubbing")
    logger.propagate, logger.level = False, logging.INFO
    logger.addHandler(handler)
    try:
        yield logger, out
    finally:
        logger.removeHandler(handler)


def test_the_number_is_scrubbed_from_a_logged_exception(written):
    logger, out = written
    try:
        raise ValueError(f"no subject with identifier {NUMBER}")
    except ValueError:
        logger.exception("lookup failed")
    text = out.getvalue()
    assert "Traceback" in text and "ValueError" in text
    assert NUMBER not in text and MASKED in text


def test_a_chained_cause_is_scrubbed_too(written):
    logger, out = written
    try:
        try:
            raise KeyError(NUMBER)
        except KeyError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError:
        logger.error("failed", exc_info=True)
    text = out.getvalue()
    assert "direct cause" in text and NUMBER not in text and MASKED in text


def test_the_stack_is_scrubbed(written):
    logger, out = written
    logger.warning("with stack", stack_info=True)  # 11010519800101001X would be in the stack: a source line
    text = out.getvalue()
    assert "Stack (most recent call last)" in text
    assert "11010519800101001X" not in text and "110105********001X" in text


def _integrity_error(**engine_options) -> sa.exc.IntegrityError:
    engine = sa.create_engine("sqlite://", **engine_options)
    subjects = sa.Table("subject", sa.MetaData(), sa.Column("identifier", sa.String, unique=True))
    subjects.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(subjects.insert(), {"identifier": NUMBER})
    try:
        with engine.begin() as conn, pytest.raises(sa.exc.IntegrityError) as raised:
            conn.execute(subjects.insert(), {"identifier": NUMBER})
    finally:
        engine.dispose()
    return raised.value


def test_a_real_integrity_error_with_the_number_in_its_parameters_is_scrubbed(written):
    logger, out = written
    error = _integrity_error()
    assert NUMBER in str(error)  # the premise: SQLAlchemy prints the parameters
    try:
        raise error
    except sa.exc.IntegrityError:
        logger.exception("unhandled error on POST /api/v1/records")
    text = out.getvalue()
    assert "IntegrityError" in text and NUMBER not in text and MASKED in text


def test_the_engine_hides_statement_parameters_from_its_errors():
    """Parameters carry names, phone numbers and statements too, which no pattern recognises:
    the engine keeps them out of its errors (and so of every traceback) in every environment."""
    options = load_config("testing")["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options.get("hide_parameters") is True
    assert NUMBER not in str(_integrity_error(**options))


def test_the_filter_on_a_handler_scrubs_the_exception_too():
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(ScrubIdentifiers())
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed for %s", (NUMBER,), None)
    try:
        raise ValueError(NUMBER)
    except ValueError as error:
        record.exc_info = (type(error), error, error.__traceback__)
    handler.handle(record)
    assert NUMBER not in out.getvalue() and out.getvalue().count(MASKED) == 2


def test_installing_twice_scrubs_once_and_keeps_the_factory():
    install_scrubber()
    factory = logging.getLogRecordFactory()
    install_scrubber()
    assert logging.getLogRecordFactory() is factory
