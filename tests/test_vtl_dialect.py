"""API Gateway's dialect is installed into airspeed-ext explicitly, for the version it was written
for, and checked by rendering before the first template is parsed."""

from __future__ import annotations

import subprocess
import sys

import pytest
from airspeed import operators as airspeed

from emulator.vtl import MappingTemplate, RequestData, dialect


def _plain_airspeed_printer(value):
    return str(value)


@pytest.fixture
def uninstalled(monkeypatch):
    """airspeed as shipped (each element's own base class), to run install() as the first time;
    monkeypatch puts the installed dialect back afterwards."""
    for name, element in dialect.ELEMENTS.items():
        monkeypatch.setattr(airspeed, name, element.__mro__[1])
    monkeypatch.setattr(airspeed, "value_to_string", _plain_airspeed_printer)
    monkeypatch.setattr(dialect, "_installed", False)


def test_importing_the_engine_changes_nothing_in_airspeed():
    probe = ("import airspeed.operators as a; original = a.Block; import emulator.vtl; "
             "assert a.Block is original, 'import patched airspeed'; "
             "emulator.vtl.MappingTemplate('x'); assert a.Block is not original; print('ok')")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "ok", result.stderr


def test_install_refuses_another_airspeed_version(uninstalled, monkeypatch):
    monkeypatch.setattr(dialect.importlib.metadata, "version", lambda name: "0.7.0")
    with pytest.raises(RuntimeError) as raised:
        dialect.install()
    assert str(raised.value) == dialect.WRONG_VERSION.format(found="0.7.0", wanted=dialect.AIRSPEED_VERSION)


def test_a_failed_self_check_leaves_airspeed_untouched(uninstalled, monkeypatch):
    shipped = {name: element.__mro__[1] for name, element in dialect.ELEMENTS.items()}
    monkeypatch.setattr(dialect, "SELF_CHECK_EXPECTED", "something else")
    with pytest.raises(RuntimeError, match="did not take API Gateway's dialect"):
        dialect.install()
    assert {name: getattr(airspeed, name) for name in dialect.ELEMENTS} == shipped
    assert airspeed.value_to_string is _plain_airspeed_printer
    assert dialect._installed is False


def test_install_is_idempotent_and_renders_the_dialect():
    dialect.install()
    dialect.install()
    assert all(getattr(airspeed, name) is element for name, element in dialect.ELEMENTS.items())
    assert MappingTemplate(dialect.SELF_CHECK).render(RequestData()).body == dialect.SELF_CHECK_EXPECTED
