import pytest

from topolint.lint.units import parse_duration, parse_rate, parse_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (42, 42),
        ("10kB", 10_000),
        ("10 kB", 10_000),
        ("1KiB", 1024),
        ("512MiB", 512 * 1024**2),
        ("2GB", 2 * 10**9),
        ("100B", 100),
        ("7", 7),
        ("1.5kB", 1500),
    ],
)
def test_sizes(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("500us", 500e-6), ("1ms", 1e-3), ("2s", 2.0), ("1min", 60.0), (3, 3.0), ("0.5", 0.5)],
)
def test_durations(text, expected):
    assert parse_duration(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "expected"), [("1000/s", 1000.0), ("5/ms", 5000.0), (250, 250.0), ("60/min", 1.0)]
)
def test_rates(text, expected):
    assert parse_rate(text) == pytest.approx(expected)


@pytest.mark.parametrize("bad", ["10 parsecs", "kB", "-5kB", "1e999kB", True, "10kb", [1]])
def test_bad_sizes_say_what_is_expected(bad):
    with pytest.raises(ValueError, match="size"):
        parse_size(bad)


@pytest.mark.parametrize("bad", ["3 fortnights", "fast", "-1s", "nan", 1e300, "1e12min"])
def test_bad_durations(bad):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


@pytest.mark.parametrize("bad", ["1000/week", "lots", "5/", 1e308, "1e20/s"])
def test_bad_rates(bad):
    with pytest.raises(ValueError, match="rate"):
        parse_rate(bad)
