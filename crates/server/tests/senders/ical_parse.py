"""Reads an iCalendar feed on stdin with Python's `icalendar` and prints its events as
JSON, with the longest physical line in octets (RFC 5545 folds at 75)."""
import json
import sys

import icalendar

raw = sys.stdin.buffer.read()
longest = max(len(line) for line in raw.split(b"\r\n"))
raw.decode("utf-8")  # the feed is valid UTF-8: folding never split a character
cal = icalendar.Calendar.from_ical(raw)
events = [
    {
        "uid": str(e["UID"]),
        "start": e.decoded("DTSTART").isoformat(),
        "end": e.decoded("DTEND").isoformat(),
        "summary": str(e["SUMMARY"]),
    }
    for e in cal.walk("VEVENT")
]
print(json.dumps({"longest_line": longest, "events": events, "name": str(cal.get("X-WR-CALNAME"))}))
