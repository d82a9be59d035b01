#!/usr/bin/python3
"""A UPnP AV control point for tests/it/dlna.rs, on GUPnP 1.6 / GSSDP 1.6 / GUPnP-AV
(Debian's gir1.2-gupnp-1.6, gir1.2-gssdp-1.6, gir1.2-gupnp-av-1.0): the libraries
GNOME's UPnP clients (Rygel's peers, gupnp-tools' control points) are built on.

  control_point.py search IFACE TARGET SECONDS   M-SEARCH for TARGET; prints what answered
  control_point.py watch IFACE SECONDS           prints alive/byebye seen for ssdp:all
  control_point.py browse IFACE NAME SECONDS     finds the MediaServer called NAME and
                                                 walks it; prints one JSON document

Everything is printed as JSON on stdout; exit status 0 unless the tool itself broke.
"""

import json
import sys

import gi

gi.require_version("GUPnP", "1.6")
gi.require_version("GUPnPAV", "1.0")
gi.require_version("GSSDP", "1.6")
from gi.repository import GLib, GObject, GSSDP, GUPnP, GUPnPAV  # noqa: E402

CD = "urn:schemas-upnp-org:service:ContentDirectory:1"
CM = "urn:schemas-upnp-org:service:ConnectionManager:1"
MEDIA_SERVER = "urn:schemas-upnp-org:device:MediaServer:1"


def context(iface):
    return GUPnP.Context.new_full(iface, None, 0, GSSDP.UDAVersion.VERSION_1_0)


def run_loop(seconds, done=lambda: False):
    loop = GLib.MainLoop()
    GLib.timeout_add(int(seconds * 1000), loop.quit)
    GLib.timeout_add(100, lambda: (loop.quit() if done() else True))
    loop.run()


def search(iface, target, seconds):
    ctx = context(iface)
    seen = {}
    browser = GSSDP.ResourceBrowser.new(ctx, target)
    browser.connect("resource-available", lambda b, usn, locs: seen.__setitem__(usn, list(locs)))
    browser.set_active(True)
    run_loop(seconds)
    print(json.dumps([{"usn": u, "locations": l} for u, l in sorted(seen.items())]))


def watch(iface, seconds):
    ctx = context(iface)
    browser = GSSDP.ResourceBrowser.new(ctx, "ssdp:all")

    def say(kind, usn, locs=None):
        print(json.dumps({"event": kind, "usn": usn, "locations": list(locs or [])}), flush=True)

    browser.connect("resource-available", lambda b, usn, locs: say("alive", usn, locs))
    browser.connect("resource-unavailable", lambda b, usn: say("byebye", usn))
    browser.set_active(True)
    print(json.dumps({"event": "listening"}), flush=True)
    run_loop(seconds)


def gvalue(v):
    g = GObject.Value()
    if isinstance(v, int):
        g.init(GObject.TYPE_UINT)
        g.set_uint(v)
    else:
        g.init(GObject.TYPE_STRING)
        g.set_string(v)
    return g


def call(proxy, action, ins, outs):
    """Calls `action`; returns {name: value} or {"fault": code, "message": …}."""
    a = GUPnP.ServiceProxyAction.new_from_list(action, [k for k, _ in ins], [gvalue(v) for _, v in ins])
    try:
        a = proxy.call_action(a, None)
        ok, values = a.get_result_list([k for k, _ in outs], [t for _, t in outs])
    except GLib.Error as e:
        return {"fault": e.code, "message": e.message}
    return dict(zip([k for k, _ in outs], values))


def browse_call(cd, object_id, flag, start=0, count=0, sort=""):
    r = call(
        cd,
        "Browse",
        [("ObjectID", object_id), ("BrowseFlag", flag), ("Filter", "*"),
         ("StartingIndex", start), ("RequestedCount", count), ("SortCriteria", sort)],
        [("Result", GObject.TYPE_STRING), ("NumberReturned", GObject.TYPE_UINT),
         ("TotalMatches", GObject.TYPE_UINT), ("UpdateID", GObject.TYPE_UINT)],
    )
    if "fault" in r:
        return r
    parser = GUPnPAV.DIDLLiteParser()
    objects = []

    def container(_p, c):
        objects.append({"kind": "container", "id": c.get_id(), "parent": c.get_parent_id(),
                        "title": c.get_title(), "class": c.get_upnp_class(),
                        "children": c.get_child_count()})

    def item(_p, i):
        res = []
        for r_ in i.get_resources():
            pi = r_.get_protocol_info()
            res.append({"uri": r_.get_uri(), "protocol": pi.get_protocol(), "mime": pi.get_mime_type(),
                        "dlna_flags": int(pi.get_dlna_flags()), "dlna_operation": int(pi.get_dlna_operation()),
                        "size": r_.get_size64(), "duration": r_.get_duration()})
        objects.append({"kind": "item", "id": i.get_id(), "parent": i.get_parent_id(),
                        "title": i.get_title(), "class": i.get_upnp_class(), "res": res})

    parser.connect("container-available", container)
    parser.connect("item-available", item)
    # GUPnP-AV refuses an empty (valid) <DIDL-Lite/> as an error.
    if r["NumberReturned"] > 0:
        parser.parse_didl(r["Result"])
    r["objects"] = objects
    del r["Result"]
    return r


def browse(iface, name, seconds):
    ctx = context(iface)
    cp = GUPnP.ControlPoint.new(ctx, MEDIA_SERVER)
    found = []

    def available(_cp, dev):
        if dev.get_friendly_name() == name:
            found.append(dev)

    cp.connect("device-proxy-available", available)
    cp.set_active(True)
    run_loop(seconds, lambda: bool(found))
    if not found:
        print(json.dumps({"found": False}))
        return
    dev = found[0]
    cd = dev.get_service(CD)
    cm = dev.get_service(CM)
    out = {"found": True, "udn": dev.get_udn(), "location": dev.get_location(),
           "friendly_name": dev.get_friendly_name(), "model": dev.get_model_name()}
    out["root"] = browse_call(cd, "0", "BrowseDirectChildren")
    out["root_meta"] = browse_call(cd, "0", "BrowseMetadata")
    out["library"] = browse_call(cd, "library", "BrowseDirectChildren", 0, 0, "+dc:title")
    out["library_page"] = browse_call(cd, "library", "BrowseDirectChildren", 1, 1, "+dc:title")
    out["recent"] = browse_call(cd, "recent", "BrowseDirectChildren")
    out["downloading"] = browse_call(cd, "downloading", "BrowseDirectChildren")
    items = out["library"].get("objects", [])
    if items:
        out["item_meta"] = browse_call(cd, items[0]["id"], "BrowseMetadata")
    out["no_such_object"] = browse_call(cd, "library/nope/0", "BrowseMetadata")
    out["bad_flag"] = browse_call(cd, "0", "BrowseEverything")
    out["sort_caps"] = call(cd, "GetSortCapabilities", [], [("SortCaps", GObject.TYPE_STRING)])
    out["search_caps"] = call(cd, "GetSearchCapabilities", [], [("SearchCaps", GObject.TYPE_STRING)])
    out["update_id"] = call(cd, "GetSystemUpdateID", [], [("Id", GObject.TYPE_UINT)])
    # What a control point that tries to change things gets.
    out["destroy"] = call(cd, "DestroyObject", [("ObjectID", items[0]["id"] if items else "library")], [])
    out["create"] = call(cd, "CreateObject", [("ContainerID", "library"), ("Elements", "<DIDL-Lite/>")],
                         [("ObjectID", GObject.TYPE_STRING), ("Result", GObject.TYPE_STRING)])
    out["prepare"] = call(cm, "PrepareForConnection", [("RemoteProtocolInfo", "http-get:*:*:*"),
                                                       ("PeerConnectionManager", ""), ("PeerConnectionID", "-1"),
                                                       ("Direction", "Output")], [])
    out["protocol_info"] = call(cm, "GetProtocolInfo", [], [("Source", GObject.TYPE_STRING),
                                                           ("Sink", GObject.TYPE_STRING)])
    out["connection_ids"] = call(cm, "GetCurrentConnectionIDs", [], [("ConnectionIDs", GObject.TYPE_STRING)])
    out["connection_info"] = call(cm, "GetCurrentConnectionInfo", [("ConnectionID", "0")],
                                  [("Direction", GObject.TYPE_STRING), ("Status", GObject.TYPE_STRING)])
    print(json.dumps(out))


def main():
    mode = sys.argv[1]
    if mode == "search":
        search(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    elif mode == "watch":
        watch(sys.argv[2], float(sys.argv[3]))
    elif mode == "browse":
        browse(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
