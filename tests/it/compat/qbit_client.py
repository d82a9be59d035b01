"""Drives swarmcast's qBittorrent Web API with the qbittorrent-api package, as
Sonarr/Radarr-style tools do, and checks what they would see. Run by
tests/it/compat.rs: argv = base URL, username, password, magnet, info-hash, save path,
swarmcast API key. Prints one JSON line per step; exits non-zero on the first failure."""

import json
import os
import sys
import time
import urllib.request

import qbittorrentapi

base, user, password, magnet, ih, save_path, api_key = sys.argv[1:8]


def step(step_name, **kv):
    print(json.dumps({"step": step_name, **kv}), flush=True)


def check(cond, what):
    if not cond:
        raise SystemExit(f"FAILED: {what}")


def swarmcast(path):
    req = urllib.request.Request(base + path, headers={"X-API-Key": api_key})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def wait(what, limit_s, f):
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        v = f()
        if v:
            return v
        time.sleep(0.3)
    raise SystemExit(f"FAILED: waited {limit_s} s for {what}")


c = qbittorrentapi.Client(host=base, username=user, password=password, REQUESTS_ARGS={"timeout": 30},
                          VERIFY_WEBUI_CERTIFICATE=False)
c.auth_log_in()
check(c._SID, "login sets the SID cookie")
check(c.app.version == "v5.0.0", f"app version {c.app.version}")
step("login", version=c.app.version, webapi=c.app.web_api_version)

# A wrong password is refused (as qBittorrent: LoginFailed).
try:
    qbittorrentapi.Client(host=base, username=user, password="wrong-password").auth_log_in()
    raise SystemExit("FAILED: a wrong password logged in")
except qbittorrentapi.LoginFailed:
    pass

c.torrents_create_category(name="films", save_path="films-default")
cats = c.torrents_categories()
check("films" in cats, f"categories {cats}")
check(cats["films"]["savePath"].endswith("films-default"), f"category save path {cats['films']}")
prefs = c.app_preferences()
check(prefs["queueing_enabled"] is False and "save_path" in prefs, f"preferences {prefs}")
step("category", categories=cats)

r = c.torrents_add(urls=magnet, category="films", save_path=save_path, tags="sonarr",
                   ratio_limit=2.5, seeding_time_limit=90)
check(r == "Ok.", f"torrents/add answered {r!r}")

# While it downloads.
seen_downloading = None
def downloading():
    global seen_downloading
    ts = c.torrents_info(category="films")
    if not ts:
        return None
    t = ts[0]
    check(t.hash == ih, f"listed hash {t.hash}")
    if t.state in ("downloading", "stalledDL", "metaDL") and 0 < t.progress < 1:
        props = c.torrents_properties(torrent_hash=ih)
        files = c.torrents_files(torrent_hash=ih)
        seen_downloading = {"state": t.state, "progress": t.progress, "eta": t.eta,
                            "save_path": props.save_path, "files": len(files)}
        return True
    return t.progress >= 1  # it may finish between two polls
wait("the torrent in torrents/info", 60, downloading)
step("downloading", seen=seen_downloading)
if seen_downloading is not None:
    check(seen_downloading["files"] >= 1, "files while downloading")
    check(os.path.realpath(seen_downloading["save_path"]) == os.path.realpath(save_path),
          f"save_path while downloading: {seen_downloading['save_path']}")

done = wait("the torrent to finish", 120,
            lambda: next((t for t in c.torrents_info(hashes=ih) if t.progress >= 1 and t.state in ("uploading", "stalledUP")), None))
check(done.category == "films", f"category {done.category}")
check("sonarr" in done.tags, f"tags {done.tags}")
check(done.ratio_limit == 2.5 and done.seeding_time_limit == 90, f"limits {done.ratio_limit} {done.seeding_time_limit}")
check(done.eta == 8640000, f"eta when done {done.eta}")
check(done.completion_on > 0 and done.seeding_time >= 0, "completion time")
props = c.torrents_properties(torrent_hash=ih)
files = c.torrents_files(torrent_hash=ih)
check(all(f.progress == 1 for f in files), f"files after: {files}")
check(os.path.realpath(props.save_path) == os.path.realpath(save_path), f"save_path {props.save_path}")
# Sonarr's import path for qBittorrent: content_path.
check(os.path.exists(done.content_path), f"content_path {done.content_path} is not on disk")
check(os.path.realpath(done.content_path) == os.path.realpath(os.path.join(done.save_path, done.name)),
      f"content_path {done.content_path} is not save_path + name")
for f in files:
    check(os.path.isfile(os.path.join(done.save_path, f.name)), f"file {f.name} is not under save_path")
step("done", content_path=done.content_path, save_path=done.save_path, name=done.name, state=done.state)

# The same torrent, seen through swarmcast's own API.
own = swarmcast(f"/api/torrents?category=films")
check([t["id"] for t in own] == [ih], f"/api/torrents?category=films: {own}")
settings = swarmcast(f"/api/torrents/{ih}/settings")
check(settings.get("ratio_limit") == 2.5 and settings.get("seed_time_limit_minutes") == 90, f"settings {settings}")
c.torrents_set_share_limits(ratio_limit=-1, seeding_time_limit=-2, inactive_seeding_time_limit=-2, torrent_hashes=ih)
settings = swarmcast(f"/api/torrents/{ih}/settings")
check(settings.get("ratio_limit") == 0.0 and settings.get("seed_time_limit_minutes") is None, f"settings after: {settings}")

md = c.sync_maindata()
check(ih in md["torrents"] and "films" in md["categories"], f"maindata {list(md.keys())}")
check(md["torrents"][ih]["state"] in ("uploading", "stalledUP"), "maindata state")
step("maindata", rid=md["rid"])

c.torrents_pause(torrent_hashes=ih)
wait("stoppedUP", 30, lambda: c.torrents_info(hashes=ih)[0].state == "stoppedUP")
check(swarmcast(f"/api/torrents/{ih}")["status"] == "paused", "paused in /api/torrents")
c.torrents_resume(torrent_hashes=ih)
wait("seeding again", 60, lambda: c.torrents_info(hashes=ih)[0].state in ("uploading", "stalledUP"))
step("pause-resume")

c.torrents_delete(delete_files=True, torrent_hashes=ih)
wait("the torrent to go", 30, lambda: not c.torrents_info(hashes=ih))
wait("its files to go", 30, lambda: not os.path.exists(done.content_path))
c.auth_log_out()
step("deleted")
