#!/usr/bin/env python3
"""Credentials for the secret-leak sweep (python3 stdlib only); used by tests/cli/secret_sweep.sh.

    creds.py account-sas ACCOUNT KEY PERMISSIONS START_OFFSET_S EXPIRY_OFFSET_S
        an account SAS (blob service, all resource types, version 2021-08-06) signed with KEY;
        offsets are seconds from now (negative = past), so an expired SAS is -7200 -3600
    creds.py sig SAS [decoded]     the sig value of SAS as it appears in the token (or decoded)
    creds.py token URL             an access token from a token server's IMDS-style endpoint
    creds.py jwt AUDIENCE EXP_OFFSET_S    an unsigned JWT like the token server's (for an
                                   expired token or one for the wrong audience)
    creds.py random-key            a random 64-byte account key, base64
    creds.py json-field FILE KEY   one field of a JSON file (for servers.json)
"""
import base64
import datetime
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.parse
import urllib.request

API_VERSION = "2021-08-06"


def iso(offset_s):
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset_s)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def account_sas(account, key, permissions, start_offset, expiry_offset):
    start, expiry = iso(int(start_offset)), iso(int(expiry_offset))
    services, resource_types, protocol = "b", "sco", "https,http"
    # Account SAS string-to-sign for 2020-12-06 and later (IP and encryption scope empty).
    to_sign = (f"{account}\n{permissions}\n{services}\n{resource_types}\n{start}\n{expiry}\n\n"
               f"{protocol}\n{API_VERSION}\n\n")
    sig = base64.b64encode(hmac.new(base64.b64decode(key), to_sign.encode(), hashlib.sha256)
                           .digest()).decode()
    items = [("sv", API_VERSION), ("ss", services), ("srt", resource_types), ("sp", permissions),
             ("st", start), ("se", expiry), ("spr", protocol), ("sig", sig)]
    return "&".join(f"{k}={urllib.parse.quote(v, safe='')}" for k, v in items)


def sig_of(sas, decoded):
    for part in sas.lstrip("?").split("&"):
        name, _, value = part.partition("=")
        if name == "sig":
            return urllib.parse.unquote(value) if decoded else value
    sys.exit("creds.py: the SAS has no sig")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(audience, exp_offset):
    now = int(time.time())
    header = {"alg": "RS256", "typ": "JWT", "kid": "dataport-sweep"}
    claims = {"aud": audience, "iss": "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/",
              "iat": now - 7200, "nbf": now - 7200, "exp": now + int(exp_offset),
              "oid": "00000000-0000-0000-0000-000000000002", "sub": "dataport-sweep"}
    return (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode()) + "." +
            b64url(os.urandom(48)))


def token(url):
    query = urllib.parse.urlencode({"api-version": "2018-02-01",
                                    "resource": "https://storage.azure.com/"})
    req = urllib.request.Request(f"{url}/metadata/identity/oauth2/token?{query}",
                                 headers={"Metadata": "true"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)["access_token"]


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    command, args = argv[1], argv[2:]
    if command == "account-sas" and len(args) == 5:
        print(account_sas(*args))
    elif command == "sig" and len(args) in (1, 2):
        print(sig_of(args[0], len(args) == 2 and args[1] == "decoded"))
    elif command == "token" and len(args) == 1:
        print(token(args[0]))
    elif command == "jwt" and len(args) == 2:
        print(jwt(args[0], args[1]))
    elif command == "random-key" and not args:
        print(base64.b64encode(os.urandom(64)).decode())
    elif command == "json-field" and len(args) == 2:
        with open(args[0], "r", encoding="utf-8") as f:
            value = json.load(f)
        for key in args[1].split("."):
            value = value[key]
        print(value)
    else:
        sys.exit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
