"""How often a cron schedule fires: a small reader of the five standard cron fields."""

from __future__ import annotations

MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
          "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}


def _field_values(text: str, lo: int, hi: int) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part in ("*", "?"):
            start, end = lo, hi
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = int(a), int(b)
        else:
            start = int(part)
            end = hi if step > 1 else start
        values.update(range(start, end + 1, step))
    return {v for v in values if lo <= v <= hi}


def runs_per_day(schedule: str) -> float | None:
    """Average runs a day of a cron schedule, or None when it cannot be read.

    >>> runs_per_day("* * * * *"), runs_per_day("*/15 * * * *"), runs_per_day("0 3 * * 1-5")
    (1440.0, 96.0, 0.7142857142857143)
    """
    text = MACROS.get(schedule.strip(), schedule.strip())
    fields = text.split()
    if len(fields) == 6:  # a leading TZ= or seconds field is not standard; drop seconds
        fields = fields[1:]
    if len(fields) != 5:
        return None
    try:
        minutes = _field_values(fields[0], 0, 59)
        hours = _field_values(fields[1], 0, 23)
        dom_restricted = fields[2] not in ("*", "?")
        dow_restricted = fields[4] not in ("*", "?")
        day_share = 1.0
        if dow_restricted and not dom_restricted:
            day_share = len(_field_values(fields[4].replace("7", "0"), 0, 6)) / 7
        elif dom_restricted and not dow_restricted:
            day_share = len(_field_values(fields[2], 1, 31)) / 30.44
        elif dom_restricted and dow_restricted:
            day_share = min(1.0, len(_field_values(fields[4], 0, 6)) / 7 + len(_field_values(fields[2], 1, 31)) / 30.44)
        if fields[3] not in ("*", "?"):
            day_share *= len(_field_values(fields[3], 1, 12)) / 12
    except ValueError:
        return None
    return len(minutes) * len(hours) * day_share
