"""Load side of bench/first-page: a local SMTP sink (aiosmtpd) that notes when it accepts
each mail, and a sender that opens incidents through POST /v2/enqueue and notes when each
answer (202) came back. Prints one JSON line per run.

    first_page.py URL KEY SMTP_PORT
"""

import asyncio
import json
import re
import sys
import time

import aiohttp
from aiosmtpd.controller import Controller

URL, KEY, SMTP_PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])
SUBJECT = re.compile(rb"^Subject: .*?(fp-[0-9a-z]+-[0-9]+)", re.M | re.I)


class Sink:
    """Accepts every mail; remembers when the first one naming each incident arrived."""

    def __init__(self, loop):
        self.loop = loop
        self.accepted = {}
        self.waiters = {}

    async def handle_DATA(self, server, session, envelope):
        now = time.monotonic()
        m = SUBJECT.search(envelope.original_content or envelope.content)
        if m:
            tag = m.group(1).decode()
            self.accepted.setdefault(tag, now)
            w = self.waiters.pop(tag, None)
            if w:
                # The SMTP server runs its own loop in another thread.
                self.loop.call_soon_threadsafe(w.set_result, now)
        return "250 OK"


def percentile(xs, p):
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


async def enqueue(http, tag):
    body = {
        "routing_key": KEY,
        "event_action": "trigger",
        "dedup_key": tag,
        "payload": {"summary": tag, "source": "bench", "severity": "critical"},
    }
    async with http.post(URL + "/v2/enqueue", json=body) as r:
        await r.read()
        if r.status != 202:
            raise RuntimeError(f"enqueue answered {r.status}")
    return time.monotonic()


async def main():
    loop = asyncio.get_running_loop()
    sink = Sink(loop)
    controller = Controller(sink, hostname="127.0.0.1", port=SMTP_PORT)
    controller.start()
    run = f"{int(time.time()) % 100000:x}"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as http:
        # One at a time: each incident waits for its mail before the next is opened.
        lat = []
        for i in range(int(os_env("LONE", "50"))):
            tag = f"fp-{run}a-{i}"
            w = loop.create_future()
            sink.waiters[tag] = w
            answered = await enqueue(http, tag)
            accepted = await asyncio.wait_for(w, 120)
            lat.append((accepted - answered) * 1000)
        print(json.dumps({
            "run": "lone incidents, one at a time",
            "n": len(lat),
            "p50_ms": round(percentile(lat, 50), 1),
            "p99_ms": round(percentile(lat, 99), 1),
            "max_ms": round(max(lat), 1),
        }), flush=True)
        # A storm: every incident opened at once; time from the first request until every
        # first page is accepted.
        n = int(os_env("STORM", "1000"))
        tags = [f"fp-{run}b-{i}" for i in range(n)]
        waits = []
        for tag in tags:
            w = loop.create_future()
            sink.waiters[tag] = w
            waits.append(w)
        start = time.monotonic()
        answers = await asyncio.gather(*(enqueue(http, t) for t in tags))
        answered = max(answers) - start
        await asyncio.wait_for(asyncio.gather(*waits), 600)
        done = max(sink.accepted[t] for t in tags) - start
        print(json.dumps({
            "run": f"{n} incidents at once",
            "all_answered_s": round(answered, 2),
            "all_first_pages_accepted_s": round(done, 2),
            "emails_per_s": round(n / done, 1),
        }), flush=True)
    controller.stop()


def os_env(name, default):
    import os
    return os.environ.get(name, default)


asyncio.run(main())
