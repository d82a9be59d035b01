#!/usr/bin/python3
"""An mDNS / DNS-SD client for tests/it/dlna.rs, on python3-zeroconf (Debian).

  mdns_browse.py ADDRESS SECONDS TYPE...

Browses each service TYPE (`_http._tcp.local.`) on the interface with ADDRESS,
resolves every instance (SRV, TXT, and the A records of its host name) and prints
one JSON list of {type, name, server, port, addresses, txt}.
"""

import json
import sys
import time

from zeroconf import ServiceBrowser, ServiceStateChange, Zeroconf


def main():
    address, seconds, types = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    zc = Zeroconf(interfaces=[address])
    found = {}

    def changed(zeroconf, service_type, name, state_change):
        if state_change is ServiceStateChange.Added:
            found.setdefault((service_type, name), None)

    browsers = [ServiceBrowser(zc, t, handlers=[changed]) for t in types]
    deadline = time.monotonic() + seconds
    out = []
    while time.monotonic() < deadline:
        time.sleep(0.2)
        for (t, name), info in list(found.items()):
            if info is None:
                info = zc.get_service_info(t, name, timeout=1000)
                if info is not None and info.parsed_addresses():
                    found[(t, name)] = info
        if len(found) >= len(types) and all(v is not None for v in found.values()):
            break
    for (t, name), info in sorted(found.items(), key=lambda kv: kv[0]):
        if info is None:
            out.append({"type": t, "name": name, "resolved": False})
            continue
        txt = {k.decode(): (v.decode() if v is not None else None) for k, v in info.properties.items()}
        out.append({"type": t, "name": name, "resolved": True, "server": info.server, "port": info.port,
                    "addresses": info.parsed_addresses(), "txt": txt})
    for b in browsers:
        b.cancel()
    zc.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
