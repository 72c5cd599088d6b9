"""gbfs_ingest.timeutil: POSIX and RFC 3339 as real feeds write them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gbfs_ingest.timeutil import coerce_posix, parse_rfc3339, parse_timestamp


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-10-21T04:12:17Z", datetime(2025, 10, 21, 4, 12, 17, tzinfo=UTC)),
        ("2025-10-21T04:12:17+00:00", datetime(2025, 10, 21, 4, 12, 17, tzinfo=UTC)),
        ("2025-10-21T06:12:17+02:00", datetime(2025, 10, 21, 4, 12, 17, tzinfo=UTC)),
        (
            "2025-10-21T06:14:17.9919234+02:00",
            datetime(2025, 10, 21, 4, 14, 17, 991923, tzinfo=UTC),
        ),
        ("2025-10-21T04:13:42.910865597Z", datetime(2025, 10, 21, 4, 13, 42, 910865, tzinfo=UTC)),
        ("2025-10-21T04:13:19.619Z", datetime(2025, 10, 21, 4, 13, 19, 619000, tzinfo=UTC)),
        ("2025-10-20T22:12:17-06:00", datetime(2025, 10, 21, 4, 12, 17, tzinfo=UTC)),
        (" 2025-10-21 04:12:17+00:00 ", datetime(2025, 10, 21, 4, 12, 17, tzinfo=UTC)),
    ],
)
def test_rfc3339(text: str, expected: datetime) -> None:
    value, issue = parse_rfc3339(text)
    assert (value, issue) == (expected, None)
    assert value is not None and value.utcoffset() is not None and value.tzinfo is UTC


def test_rfc3339_long_fraction_and_naive_and_garbage() -> None:
    value, issue = parse_rfc3339("2025-10-21T04:12:17.1234567890123z")
    assert (value, issue) == (datetime(2025, 10, 21, 4, 12, 17, 123456, tzinfo=UTC), None)
    assert parse_rfc3339("2025-10-21T04:12:17") == (
        datetime(2025, 10, 21, 4, 12, 17, tzinfo=UTC),
        "naive",
    )
    assert parse_rfc3339("yesterday") == (None, "invalid")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1_761_018_446, (1_761_018_446, None)),
        (1_761_018_446.5, (1_761_018_446.5, "float")),
        ("1761018446", (1_761_018_446, "string")),
        (" 1761018446.25 ", (1_761_018_446.25, "string")),
        (1_761_018_446_000, (1_761_018_446, "milliseconds")),
        (True, (None, "invalid")),
        (None, (None, "invalid")),
        ("soon", (None, "invalid")),
        (float("nan"), (None, "invalid")),
        (float("inf"), (None, "invalid")),
    ],
)
def test_coerce_posix(value: object, expected: tuple[float | None, str | None]) -> None:
    assert coerce_posix(value) == expected


def test_parse_timestamp_either_way() -> None:
    expected = datetime(2025, 10, 21, 3, 47, 26, tzinfo=UTC)
    assert parse_timestamp(1_761_018_446) == (expected, None)
    assert parse_timestamp("1761018446") == (expected, "string")
    assert parse_timestamp("2025-10-21T05:47:26+02:00") == (expected, None)
    assert parse_timestamp(10**30) == (None, "invalid")
    assert parse_timestamp([1]) == (None, "invalid")
