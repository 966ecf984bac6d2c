"""Time, one way everywhere: stored in UTC, shown in the controller's local time zone, typed by operators as
local ISO 8601 (`--at`, `--since`, `--month`)."""
from datetime import datetime, timezone

YEARS = (1970, 2100)          # a time outside these years is a typing error, not a record


class TimeError(ValueError):
    """A time an operator typed cannot be used; the message says why."""


def now():
    return datetime.now(timezone.utc)


def as_utc(value):
    """Stored times come back naive from SQLite and aware from PostgreSQL; both are UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def local(value):
    """A stored time in the controller's time zone (None stays None)."""
    value = as_utc(value)
    return value.astimezone() if value is not None else None


def minute(value):
    """YYYY-MM-DD HH:MM, local."""
    return local(value).strftime('%Y-%m-%d %H:%M')


def day(value):
    """YYYY-MM-DD, local."""
    return local(value).strftime('%Y-%m-%d')


def in_range(value, shown):
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise TimeError('%s is out of range: give a time between %d and %d' % (shown, YEARS[0], YEARS[1]))
    return value


def parse_local(text, shown=None):
    """An operator's YYYY-MM-DD[THH:MM[:SS]] (local unless it names a zone) as naive UTC, for store queries."""
    shown = shown or repr(text)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise TimeError('not a date or time: %s (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)' % shown)
    in_range(value, shown)
    if value.tzinfo is None:
        value = value.astimezone()  # local time as typed by the operator
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def month_bounds(month):
    """[start, end) of a local month YYYY-MM, in UTC."""
    try:
        start = datetime.strptime(month, '%Y-%m')
    except ValueError:
        raise TimeError('--month must be YYYY-MM, got %r' % month)
    if not YEARS[0] <= start.year <= YEARS[1]:
        raise TimeError('--month %s is out of range: give a month between %d and %d' % (month, YEARS[0], YEARS[1]))
    end = datetime(start.year + start.month // 12, start.month % 12 + 1, 1)
    return as_utc(start.astimezone()), as_utc(end.astimezone())   # local month boundaries


def months_of(since, until):
    """The local months YYYY-MM that [since, until) touches, oldest first."""
    months, year, month = [], local(since).year, local(since).month
    while month_bounds('%04d-%02d' % (year, month))[0] < until:
        months.append('%04d-%02d' % (year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months
