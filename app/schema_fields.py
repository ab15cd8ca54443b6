"""Marshmallow fields the API schemas share."""
from __future__ import annotations

from datetime import datetime, timezone

from marshmallow import ValidationError, fields

# Far outside any incident, complaint or report period, and inside what every database,
# Python's datetime and the UTC conversion can hold (year 0001 at +08:00 is year 0 in UTC).
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(9000, 1, 1, tzinfo=timezone.utc)
OUT_OF_RANGE = "时间超出范围，须在 1970 年至 9000 年之间 (out of range: must be between 1970 and 9000)"


def check_in_range(moment: datetime) -> datetime:
    """``moment`` unchanged when its UTC time lies in [EARLIEST, LATEST); ValidationError otherwise."""
    try:
        utc = moment.astimezone(timezone.utc)
    except OverflowError:
        raise ValidationError(OUT_OF_RANGE) from None
    if not EARLIEST <= utc < LATEST:
        raise ValidationError(OUT_OF_RANGE)
    return moment


class Moment(fields.AwareDateTime):
    """An ISO 8601 time with an offset, within the range every layer below can hold."""

    def _deserialize(self, value, attr, data, **kwargs):
        return check_in_range(super()._deserialize(value, attr, data, **kwargs))
