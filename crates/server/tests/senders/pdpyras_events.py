"""Sends events to shinrai with PagerDuty's own Python client, pdpyras, unchanged but for
its base URL (pdpyras accepts http://). Prints what the client got back as JSON.

usage: pdpyras_events.py BASE_URL ROUTING_KEY
"""
import json
import sys
import warnings

warnings.simplefilter("ignore")  # pdpyras announces its successor on import.
import pdpyras  # noqa: E402

base, key = sys.argv[1], sys.argv[2]
session = pdpyras.EventsAPISession(key)
session.url = base

out = {}
out["first"] = session.trigger("Checkout latency above SLO", "prometheus", dedup_key="checkout/latency",
                               severity="error", custom_details={"p99_ms": 870},
                               links=[{"href": "https://grafana.example/d/checkout", "text": "Dashboard"}])
out["retry"] = session.trigger("Checkout latency above SLO", "prometheus", dedup_key="checkout/latency",
                               severity="error")
out["generated"] = session.trigger("Disk almost full", "node-exporter", severity="warning")
session.acknowledge("checkout/latency")
session.resolve("checkout/latency")
try:
    session.trigger("", "prometheus")
    out["invalid"] = "accepted"
except pdpyras.PDClientError as e:
    out["invalid"] = {"status": e.response.status_code, "body": e.response.json()}
print(json.dumps(out))
