"""Signs a Twilio webhook the way Twilio does, with the official `twilio` library:
reads {"token", "url", "params"} as JSON on stdin, prints the X-Twilio-Signature."""
import json
import sys

from twilio.request_validator import RequestValidator

req = json.load(sys.stdin)
print(RequestValidator(req["token"]).compute_signature(req["url"], req["params"]))
