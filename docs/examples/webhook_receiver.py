"""A webhook receiver for the gateway, with the standard library only: it checks the Standard
Webhooks signature with a licence's whsec_ secret, answers 204 (delivered) or 401, and prints the event.

    python docs/examples/webhook_receiver.py whsec_... [PORT]     # listens on 127.0.0.1:PORT (9000)
"""

import base64
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

KEY = base64.b64decode(sys.argv[1].removeprefix("whsec_"))  # the HMAC key is the secret's bytes


def verified(headers, body: bytes) -> bool:
    msg_id, stamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "0")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > 300:  # refuse replays of old requests
        return False
    mac = hmac.new(KEY, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    expected = "v1," + base64.b64encode(mac).decode()
    return any(hmac.compare_digest(s, expected) for s in headers.get("webhook-signature", "").split())


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        ok = verified(self.headers, body)
        self.send_response(204 if ok else 401)  # any 2xx is a delivery; anything else is retried
        self.end_headers()
        if ok:
            event = json.loads(body)
            data = event["data"]
            print(self.headers["webhook-id"], event["type"], data["id"], data["status"], flush=True)
        else:
            print("refused: bad or missing signature", flush=True)

    def log_message(self, *args: object) -> None:  # no access lines: the events are the output
        pass


HTTPServer(("127.0.0.1", int(sys.argv[2]) if len(sys.argv) > 2 else 9000), Receiver).serve_forever()
