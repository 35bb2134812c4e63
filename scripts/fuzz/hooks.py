"""schemathesis hooks for scripts/fuzz-api.

The fuzzer gets a fresh account every few seconds. Among the operations it
calls are sign-out, session revocation and account deletion, which end the
session it was using; and its random sign-ins with the account's handle
would set off the per-account back-off of sign-in.
"""

import json
import os
import urllib.request
import uuid

import schemathesis


@schemathesis.auth(refresh_interval=2)
class FreshAccount:
    def get(self, case, ctx):
        handle = "fz_" + uuid.uuid4().hex[:12]
        body = json.dumps(
            {
                "handle": handle,
                "email": f"{handle}@example.org",
                "password": os.environ["FUZZ_PASSWORD"],
            }
        ).encode()
        request = urllib.request.Request(
            os.environ["FUZZ_BASE"] + "/v1/auth/register",
            data=body,
            headers={"content-type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)["access_token"]

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
