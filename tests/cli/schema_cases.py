#!/usr/bin/env python3
"""Generates YAML cases for the schema/validator differential test (schema_diff.bats).

schema_cases.py OUT N SEED writes OUT/NNNN/{kind,file,yaml}: each case is one file of a copy
of examples/ with one mutation (a value from a pool of valid and invalid ones, a key removed
or added), so the rest of the repository stays valid. Deterministic for a seed.
"""
import os
import random
import sys

OUT, N, SEED = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(SEED)

DURATIONS = ["0", "1", "86400", "30d", "1h30m", "90s", "2w", "1w2d", "10m", "1x", "-1", "1.5",
             "d", "30 d", "1d1w", "99999999999", "3153600000", "3153600001", "''", "1h", "0s"]
NAMES = ["www", "a.b_c-d", "", "has space", "ünï", "x" * 129, "x" * 128, "UPPER", "a/b", "-x", "1"]
DIRS = ["/", "/static/", "static/", "/a b/", "/a\\tb/", "", "/x?y/", "/x#y/", "/x*/", "/pic",
        "/ü/", "/%20/", "/" + "a" * 300, "/a\"b/", "/a<b/", "//"]
SUFFIXES = ["jpg", ".jpg", "j.pg", "j pg", "", "png", "a/b", "ü", "x" * 40, "JPG", "t*"]
PATHS = ["/index.html", "index.html", "/a b", "", "/a?b", "/x", "/ü", "/" + "p" * 300]
HOSTS = ["www.example.cn", "*.example.cn", "", "a b", "www.example.cn:443", "EXAMPLE.cn",
         "x" * 254, "-bad.example.cn", "www.example.cn."]
SCHEMES = ["https", "http", "gopher", "HTTPS", ""]
MODES = ["manage", "observe", "purge-only", "sometimes", ""]
BOOLS = ["true", "false", "'true'", "yes", "1", "null"]
INTS = ["0", "1", "30", "100", "101", "-1", "1.5", "'5'", "99999999999", "null"]
GUIDS = ["e0fbea86-6cf2-4b2d-81e2-9c59f4f96bcb", "not-a-guid", "", "{env: X}",
         "E0FBEA86-6CF2-4B2D-81E2-9C59F4F96BCB"]
URLS = ["https://api.example.com", "http://127.0.0.1:8080", "http://api.example.com", "ftp://x",
        "", "not a url"]
PROVIDERS = ["azure-china", "azure", "cdnpro", "aws", ""]
PURGE_FILES = ["/logo.png", "logo.png", "https://www.example.cn/a.png", "/a*b", "/%zz", "/a/../b",
               "/a b", "", "ftp://x/y", "/" + "f" * 2100]
PURGE_DIRS = ["/img/", "/img", "img/", "/", "", "/a b/"]


def q(v):
    """A YAML scalar as written: pool entries are YAML text already unless they need quotes."""
    if v == "" or any(c in v for c in ":#{}[],&*!|>'\"%@`") and not v.startswith("{"):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return v


def endpoint(m):
    ep = {"endpoint": "www", "account": "cn",
          "remote": "{endpoint_id: 8137ecc4-71c4-11e7-8259-0017fa00a611}",
          "hosts": "[www.example.cn]", "scheme": "https", "mode": None}
    cache = {"ignore_cache_control": "false", "ignore_cookie": "true", "ignore_query_string": "true"}
    rule = {"kind": "dir", "items": ["/pic/", "/doc/"], "ttl": "1d", "name": None}
    k = m
    if k == "name":
        ep["endpoint"] = q(rnd.choice(NAMES)) or '""'
    elif k == "account":
        ep["account"] = q(rnd.choice(NAMES))
    elif k == "hosts":
        ep["hosts"] = "[" + ", ".join(q(rnd.choice(HOSTS)) for _ in range(rnd.randint(0, 2))) + "]"
    elif k == "scheme":
        ep["scheme"] = q(rnd.choice(SCHEMES))
    elif k == "mode":
        ep["mode"] = q(rnd.choice(MODES))
    elif k == "flag":
        cache[rnd.choice(list(cache))] = rnd.choice(BOOLS)
    elif k == "ttl":
        rule["ttl"] = q(rnd.choice(DURATIONS))
    elif k == "dir":
        rule["items"] = [rnd.choice(DIRS) for _ in range(rnd.randint(0, 2))]
    elif k == "suffix":
        rule["kind"], rule["items"] = "suffix", [rnd.choice(SUFFIXES) for _ in range(rnd.randint(1, 2))]
    elif k == "path":
        rule["kind"], rule["items"] = "path", [rnd.choice(PATHS) for _ in range(rnd.randint(1, 2))]
    elif k == "rulename":
        rule["name"] = q(rnd.choice(["cacheRule1", "1bad", "bad name", "ok", ""]))
    elif k == "drop":
        del ep[rnd.choice(["endpoint", "account", "remote", "hosts"])]
    elif k == "extra":
        ep[rnd.choice(["colour", "ttl", "Endpoint"])] = "1"
    elif k == "remote":
        ep["remote"] = rnd.choice(["{endpoint_id: " + q(rnd.choice(GUIDS)) + "}", "{}", "{target: production}",
                                   "{endpoint_id: 8137ecc4-71c4-11e7-8259-0017fa00a611, x: 1}", "x"])
    lines = []
    for key, v in ep.items():
        if v is not None:
            lines.append(f"{key}: {v}")
    lines.append("cache:")
    for key, v in cache.items():
        lines.append(f"  {key}: {v}")
    lines.append("  rules:")
    lines.append("    - path: [/index.html, /sw.js]\n      ttl: 0")
    lines.append(f"    - {rule['kind']}: [" + ", ".join(q(i) for i in rule["items"]) + "]")
    lines.append(f"      ttl: {rule['ttl']}")
    if rule["name"] is not None:
        lines.append(f"      name: {rule['name']}")
    lines.append("    - suffix: [css, js]\n      ttl: 7d")
    return "\n".join(lines) + "\n"


def settings(m):
    acc = {"provider": "azure-china", "subscription": "e0fbea86-6cf2-4b2d-81e2-9c59f4f96bcb",
           "key_id": "{env: AZURECDN_KEY_ID}", "key_value": "{env: AZURECDN_KEY_VALUE}", "timeout": "60s"}
    safety = {"max_change_pct": "30", "min_rules": "5"}
    version = "1"
    if m == "provider":
        acc["provider"] = q(rnd.choice(PROVIDERS))
    elif m == "subscription":
        acc["subscription"] = q(rnd.choice(GUIDS))
    elif m == "secret":
        acc["key_value"] = rnd.choice(["{env: X}", "literal", "{file: k}", "{env: 1X}", "{env: X, file: y}", "{}"])
    elif m == "timeout":
        acc["timeout"] = q(rnd.choice(DURATIONS))
    elif m == "base_url":
        acc["base_url"] = q(rnd.choice(URLS))
    elif m == "safety":
        safety[rnd.choice(list(safety))] = rnd.choice(INTS)
    elif m == "version":
        version = rnd.choice(["1", "2", "'1'", "0"])
    elif m == "drop":
        del acc[rnd.choice(["provider", "subscription", "key_id", "key_value"])]
    elif m == "extra":
        acc[rnd.choice(["tenant", "user", "colour"])] = "x"
    elif m == "rate":
        acc["rate_limit"] = "{per_minute: %s, burst: %s}" % (rnd.choice(INTS), rnd.choice(INTS))
    lines = [f"version: {version}", "accounts:", "  cn:"]
    lines += [f"    {k}: {v}" for k, v in acc.items()]
    lines += ["  global:", "    provider: azure", "    subscription: {env: AZURE_SUBSCRIPTION_ID}",
              "    tenant: {env: AZURE_TENANT_ID}", "    client_id: {env: AZURE_CLIENT_ID}",
              "    client_secret: {env: AZURE_CLIENT_SECRET}", "  pro:", "    provider: cdnpro",
              "    user: {env: CDNPRO_USER}", "    api_key: {env: CDNPRO_API_KEY}", "safety:"]
    lines += [f"  {k}: {v}" for k, v in safety.items()]
    return "\n".join(lines) + "\n"


def purge(m):
    p = {"purge": "2026-11-21-logo", "endpoints": "[www]", "files": "[/logo.png, /favicon.ico]",
         "dirs": None, "preload": "[/index.html]", "action": None}
    if m == "id":
        p["purge"] = q(rnd.choice(NAMES))
    elif m == "files":
        p["files"] = "[" + ", ".join(q(rnd.choice(PURGE_FILES)) for _ in range(rnd.randint(0, 2))) + "]"
    elif m == "dirs":
        p["dirs"] = "[" + ", ".join(q(rnd.choice(PURGE_DIRS)) for _ in range(rnd.randint(1, 2))) + "]"
    elif m == "action":
        p["action"] = q(rnd.choice(["invalidate", "delete", "refresh", ""]))
    elif m == "drop":
        del p[rnd.choice(["purge", "endpoints", "files"])]
    elif m == "extra":
        p["colour"] = "1"
    elif m == "endpoints":
        p["endpoints"] = rnd.choice(["[]", "[www]", "[www, www]", "www", "[ghost]"])
    return "\n".join(f"{k}: {v}" for k, v in p.items() if v is not None) + "\n"


KINDS = [
    ("endpoint", "endpoints/www.yaml", endpoint,
     ["name", "account", "hosts", "scheme", "mode", "flag", "ttl", "ttl", "dir", "dir", "suffix", "path",
      "rulename", "drop", "extra", "remote", None]),
    ("settings", "cacheform.yaml", settings,
     ["provider", "subscription", "secret", "timeout", "base_url", "safety", "version", "drop", "extra",
      "rate", None]),
    ("purge", "purges/2026-11-21-logo.yaml", purge,
     ["id", "files", "dirs", "action", "drop", "extra", "endpoints", None]),
]

for i in range(N):
    kind, path, fn, muts = KINDS[i % 3] if i % 5 else KINDS[0]
    m = rnd.choice(muts)
    d = os.path.join(OUT, f"{i:04d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "case.yaml"), "w") as f:
        f.write(fn(m))
    with open(os.path.join(d, "meta"), "w") as f:
        f.write(f"{kind} {path} {m}\n")
