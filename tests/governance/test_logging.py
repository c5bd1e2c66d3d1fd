"""The redacting log filter and formatter, through real loggers and handlers."""
from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from governance.logging import RedactingFilter, RedactingFormatter, install_redacting_logging
from governance.pii import Redactor

PHONE = "０９０－１２３４－５６７８"
ADDRESS = "東京都新宿区西新宿2-8-1"


@pytest.fixture()
def capture() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s|%(resident)s"))
    logger = logging.getLogger(f"tests.governance.logging.{id(stream)}")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    install_redacting_logging(logger)
    yield logger, stream
    logger.removeHandler(handler)


def test_message_arguments_and_extras_are_redacted(capture) -> None:
    logger, stream = capture
    logger.info("問い合わせ %s / %r", f"電話は{PHONE}です", {"住所": ADDRESS}, extra={"resident": "a@example.jp"})
    line = stream.getvalue()
    assert "1234" not in line and "１２３４" not in line and "2-8-1" not in line and "a@example.jp" not in line
    assert line == "問い合わせ 電話は〔電話番号〕です / {'住所': '東京都新宿区〔住所〕'}|〔メール〕\n"


def test_exception_and_stack_text_are_redacted(capture) -> None:
    logger, stream = capture
    try:
        {}[f"携帯 {PHONE}"]  # KeyError shows its key with repr(): escapes must not hide the number
    except KeyError:
        logger.exception("lookup failed", extra={"resident": "-"}, stack_info=True)
    output = stream.getvalue()
    assert "Traceback" in output and "KeyError" in output and "Stack (most recent call last)" in output
    assert "１２３４" not in output and "〔電話番号〕" in output


def test_json_escaped_personal_data_is_redacted(capture) -> None:
    logger, stream = capture
    payload = json.dumps({"text": f"住所は{ADDRESS}、電話{PHONE}"})  # ensure_ascii: everything is \\uXXXX
    logger.warning("payload=%s", payload, extra={"resident": "-"})
    line = stream.getvalue()
    assert "\\uff11\\uff12\\uff13\\uff14" not in line and "2-8-1" not in line
    assert "〔住所〕" in line and "〔電話番号〕" in line


def test_mismatched_arguments_do_not_raise_and_stay_redacted(capture) -> None:
    logger, stream = capture
    logger.info("two placeholders %s %s", f"電話{PHONE}", extra={"resident": "-"})
    assert "１２３４" not in stream.getvalue() and "〔電話番号〕" in stream.getvalue()


def test_install_covers_records_propagated_from_child_loggers_and_is_idempotent() -> None:
    root = logging.getLogger("tests.governance.logging.parent")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    root.propagate = False
    try:
        first = install_redacting_logging(root)
        assert install_redacting_logging(root) is first
        assert handler.filters.count(first) == 1
        logging.getLogger("tests.governance.logging.parent.child").warning("メール taro@example.jp")
        assert stream.getvalue() == "メール 〔メール〕\n"
    finally:
        root.removeHandler(handler)


def test_install_on_the_root_logger_by_default() -> None:
    root = logging.getLogger()
    saved = root.handlers[:]
    stream = io.StringIO()
    root.handlers = [logging.StreamHandler(stream)]
    try:
        install_redacting_logging()
        logging.getLogger("some.library").error("生年月日は昭和60年4月1日です")
        assert stream.getvalue() == "生年月日は〔生年月日〕です\n"
    finally:
        root.handlers = saved


def test_the_last_resort_handler_is_covered_when_nothing_is_configured(capsys) -> None:
    install_redacting_logging(logging.getLogger("tests.governance.logging.unconfigured"))
    lonely = logging.getLogger("tests.governance.logging.unconfigured")
    lonely.propagate = False  # no handler anywhere: logging falls back to lastResort (stderr)
    lonely.warning("連絡先 090-1234-5678")
    assert capsys.readouterr().err == "連絡先 〔電話番号〕\n"


def test_a_tenant_redactor_keeps_the_city_number() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.governance.logging.tenant")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        installed = install_redacting_logging(logger, Redactor(keep=["06-6375-5151"]))
        assert [f for f in handler.filters if isinstance(f, RedactingFilter)] == [installed]
        logger.warning("answer cited 06-6375-5151; resident gave 06-1234-5678")
        assert stream.getvalue() == "answer cited 06-6375-5151; resident gave 〔電話番号〕\n"
    finally:
        logger.removeHandler(handler)


def test_formatter_redacts_the_finished_line() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "住所 %s", (ADDRESS,), None)
    formatted = RedactingFormatter(logging.Formatter("%(levelname)s %(message)s")).format(record)
    assert formatted == "INFO 住所 東京都新宿区〔住所〕"
