#!/usr/bin/env python3
"""Checks Arachne's URL resolution against the web-platform-tests URL data.

Usage: wpt_url.py URL_PROBE urltestdata.json [--list]

The data file is the public suite's `url/resources/urltestdata.json` (not
shipped here). Counted are the http(s) cases: those whose expected result is
an http or https URL, and expected failures whose base (or, without a base,
whose input) is http or https. An expected URL is compared after the
normalisation Arachne documents (docs/urls.md): fragment and userinfo
dropped, escapes of unreserved characters decoded, hex digits upper case.
Prints the share that agrees and, with --list, every case that does not.
"""
import json
import re
import subprocess
import sys

UNRESERVED = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def normalise_escapes(text):
    def one(m):
        byte = int(m.group(1), 16)
        return chr(byte) if byte in UNRESERVED else "%" + m.group(1).upper()
    return re.sub(r"%([0-9A-Fa-f]{2})", one, text)


def expected_of(case):
    href = case["href"].split("#", 1)[0]
    scheme = case["protocol"]
    rest = href[len(scheme) + 2:]
    slash = rest.find("/")
    tail = rest[slash:] if slash >= 0 else "/"
    return scheme + "//" + case["host"] + normalise_escapes(tail)


def is_web(text):
    return re.match(r"^[\x00-\x20]*https?:", text or "", re.I) is not None


def main():
    probe, data = sys.argv[1], sys.argv[2]
    cases = [c for c in json.load(open(data, encoding="utf-8")) if isinstance(c, dict)]
    chosen = []
    for c in cases:
        base = c.get("base")
        if c.get("failure"):
            if is_web(base) or (base is None and is_web(c["input"])):
                chosen.append(c)
        elif c["protocol"] in ("http:", "https:"):
            chosen.append(c)
    lines = []
    for c in chosen:
        base = c.get("base")
        text = c["input"].encode("utf-8", "surrogatepass").hex() or "-"
        use_base = base is not None and is_web(base)
        lines.append(text + " " + (base.encode("utf-8").hex() if use_base else "-"))
    out = subprocess.run([probe], input="\n".join(lines) + "\n", capture_output=True,
                         text=True, check=True).stdout.splitlines()
    agree = 0
    for c, got in zip(chosen, out):
        want = "!failure" if c.get("failure") else expected_of(c)
        ok = got.startswith("!") if want == "!failure" else got == want
        agree += ok
        if not ok and "--list" in sys.argv:
            print("DIFF input=%r base=%r\n  want %s\n  got  %s" % (c["input"], c.get("base"), want, got))
    print("%d of %d http(s) cases agree (%.1f%%)" % (agree, len(chosen), 100.0 * agree / len(chosen)))


if __name__ == "__main__":
    main()
