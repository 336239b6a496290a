import itertools

import pytest
from opsbook.waiting import WaitTimeout, wait_until

pytestmark = pytest.mark.unit


def test_returns_first_truthy_value():
    counter = itertools.count()
    assert wait_until(lambda: next(counter) >= 3 and "listo", timeout=5, interval=0.01) == "listo"


def test_timeout_names_what_and_last_state():
    with pytest.raises(WaitTimeout) as info:
        wait_until(lambda: "", timeout=0.1, interval=0.02,
                   what="la ejecución termine")
    assert "la ejecución termine" in str(info.value)
    assert info.value.last == ""


def test_retry_on_exceptions_counts_as_not_yet():
    calls = itertools.count()

    def flaky():
        if next(calls) < 2:
            raise ConnectionError("refused")
        return 7

    assert wait_until(flaky, timeout=5, interval=0.01, retry_on=(ConnectionError,)) == 7


def test_last_exception_reported_on_timeout():
    def down():
        raise ConnectionError("refused")

    with pytest.raises(WaitTimeout) as info:
        wait_until(down, timeout=0.05, interval=0.01, what="Prometheus",
                   retry_on=(ConnectionError,))
    assert "ConnectionError: refused" in str(info.value)


def test_other_exceptions_propagate():
    def boom():
        raise ValueError("mal")

    with pytest.raises(ValueError):
        wait_until(boom, timeout=1, interval=0.01)


def test_until_accepts_a_falsy_result_and_returns_it():
    values = iter([["a", "b"], ["a"], []])
    assert wait_until(lambda: next(values), timeout=5, interval=0.01,
                      until=lambda left: not left) == []


def test_until_reports_the_last_state_not_none():
    with pytest.raises(WaitTimeout) as info:
        wait_until(lambda: "running", timeout=0.05, interval=0.01, what="la ejecución termine",
                   until=lambda state: state in {"success", "failed"})
    assert info.value.last == "running"
    assert "'running'" in str(info.value)


def test_wait_timeout_is_a_timeout_error():
    with pytest.raises(TimeoutError):
        wait_until(lambda: False, timeout=0.02, interval=0.01)
