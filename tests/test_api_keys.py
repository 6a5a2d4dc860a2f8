"""The usage plan's quota periods as the local gateway counts them (emulator/api_keys.py): UTC
calendar periods, a WEEK from Monday, a MONTH from the 1st."""

from __future__ import annotations

import datetime as dt

import pytest

from core.config import QuotaPeriod
from emulator.api_keys import period_start

SUNDAY_NIGHT = dt.datetime(2026, 11, 29, 23, 59, tzinfo=dt.UTC).timestamp()


@pytest.mark.parametrize(("period", "start"), [
    (QuotaPeriod.DAY, dt.date(2026, 11, 29)), (QuotaPeriod.WEEK, dt.date(2026, 11, 23)),
    (QuotaPeriod.MONTH, dt.date(2026, 11, 1)),
])
def test_a_quota_period_starts_where_the_calendar_says(period, start):
    assert period_start(period, SUNDAY_NIGHT) == start
    assert period_start(period, SUNDAY_NIGHT + 120) != start or period is QuotaPeriod.MONTH
