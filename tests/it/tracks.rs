//! Every track of a film end to end: an MKV with three audio tracks and three
//! embedded subtitle tracks, plus sidecar subtitle files (one in Windows-1251), in a
//! torrent from a real transmission seeder, read through `/api/stream`, the master
//! playlist's renditions, ffprobe, and the WebVTT segments after a seek.

use std::path::Path;
use std::process::Command;

use crate::fixture::{Daemon, Seeder, http, info_hash, make_torrent, run};
use serde_json::{Value, json};

/// The three audio tracks: language, codec, channels, tone.
const AUDIO: [(&str, &str, u32, u32); 3] =
    [("eng", "eac3", 6, 440), ("ger", "libvorbis", 2, 660), ("fra", "aac", 1, 880)];

fn srt(cues: &[(u32, u32, &str)]) -> String {
    cues.iter()
        .enumerate()
        .map(|(i, (a, b, t))| format!("{}\n00:00:{a:02},000 --> 00:00:{b:02},500\n{t}\n\n", i + 1))
        .collect()
}

/// `Film/Film.mkv` (30 s) with its subtitles, and sidecars beside it.
fn make_film(root: &Path) -> std::path::PathBuf {
    let dir = root.join("Film");
    std::fs::create_dir_all(&dir).unwrap();
    let tmp = root.join("parts");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(
        tmp.join("en.srt"),
        srt(&[(2, 4, "Hello from the start"), (16, 18, "The <i>middle</i> of the film")]),
    )
    .unwrap();
    std::fs::write(tmp.join("de.srt"), srt(&[(3, 5, "Guten Tag"), (17, 19, "Die Mitte")])).unwrap();
    std::fs::write(
        tmp.join("fr.ass"),
        "[Script Info]\nScriptType: v4.00+\nPlayResX: 640\nPlayResY: 360\n\n[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\nStyle: Default,Arial,20,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,1\n\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\nDialogue: 0,0:00:20.00,0:00:22.00,Default,,0,0,0,,{\\i1}Bonjour{\\i0} tout le monde\n",
    )
    .unwrap();
    let mut cmd = bounded(180, "ffmpeg");
    cmd.args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=30"]);
    for (_, _, _, hz) in AUDIO {
        cmd.args(["-f", "lavfi", "-i"]).arg(format!("sine=frequency={hz}:sample_rate=48000:duration=30"));
    }
    cmd.arg("-i").arg(tmp.join("en.srt")).arg("-i").arg(tmp.join("de.srt")).arg("-i").arg(tmp.join("fr.ass"));
    for m in ["0:v", "1:a", "2:a", "3:a", "4:s", "5:s", "6:s"] {
        cmd.args(["-map", m]);
    }
    cmd.args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-pix_fmt", "yuv420p", "-b:v", "500k"]);
    for (i, (lang, codec, ch, _)) in AUDIO.iter().enumerate() {
        cmd.args([format!("-c:a:{i}"), codec.to_string(), format!("-ac:a:{i}"), ch.to_string()]);
        cmd.args([format!("-metadata:s:a:{i}"), format!("language={lang}")]);
        cmd.args([format!("-disposition:a:{i}"), if i == 0 { "default" } else { "0" }.to_string()]);
    }
    cmd.args(["-c:s:0", "srt", "-c:s:1", "srt", "-c:s:2", "ass"]);
    for (i, lang) in ["eng", "ger", "fre"].iter().enumerate() {
        cmd.args([format!("-metadata:s:s:{i}"), format!("language={lang}")]);
    }
    cmd.arg(dir.join("Film.mkv"));
    run(&mut cmd);
    // Sidecars: Russian in Windows-1251, and a forced English one.
    let ru =
        srt(&[(6, 8, "Привет, мир! Это проверка кодировки."), (24, 26, "Съешь же ещё этих мягких французских булок.")]);
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(&ru);
    std::fs::write(dir.join("Film.ru.srt"), &bytes).unwrap();
    std::fs::write(dir.join("Film.eng.forced.srt"), srt(&[(10, 12, "[Sign: EXIT]")])).unwrap();
    std::fs::write(dir.join("notes.txt"), "not a subtitle").unwrap();
    std::fs::remove_dir_all(&tmp).unwrap();
    dir
}

fn text(url: &str) -> (u16, String) {
    let r = http().get(url).send().unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

/// The attributes of an `#EXT-X-…:` line.
fn attrs(line: &str) -> Vec<(String, String)> {
    let body = line.split_once(':').map_or("", |(_, b)| b);
    let mut out = Vec::new();
    let (mut key, mut val, mut in_key, mut quoted) = (String::new(), String::new(), true, false);
    for c in body.chars().chain([',']) {
        match c {
            '=' if in_key => in_key = false,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push((std::mem::take(&mut key), std::mem::take(&mut val)));
                in_key = true;
            }
            c if in_key => key.push(c),
            c => val.push(c),
        }
    }
    out
}

fn attr<'a>(a: &'a [(String, String)], k: &str) -> Option<&'a str> {
    a.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// Apple's rules for renditions (HLS authoring spec / RFC 8216 §4.4.6.1): every
/// `EXT-X-MEDIA` has TYPE, GROUP-ID, NAME; NAME unique in its group; at most one
/// DEFAULT=YES per group, and it AUTOSELECT=YES too; FORCED only on subtitles;
/// subtitles have a URI; every group a variant names exists, and its type matches.
fn check_renditions(master: &str) -> Vec<Vec<(String, String)>> {
    let media: Vec<_> = master.lines().filter(|l| l.starts_with("#EXT-X-MEDIA:")).map(attrs).collect();
    for m in &media {
        for k in ["TYPE", "GROUP-ID", "NAME", "DEFAULT", "AUTOSELECT"] {
            assert!(attr(m, k).is_some(), "{k} missing in {m:?}");
        }
        if attr(m, "DEFAULT") == Some("YES") {
            assert_eq!(attr(m, "AUTOSELECT"), Some("YES"), "{m:?}");
        }
        if attr(m, "TYPE") == Some("SUBTITLES") {
            assert!(attr(m, "URI").is_some() && attr(m, "FORCED").is_some(), "{m:?}");
        } else {
            assert!(attr(m, "FORCED").is_none(), "{m:?}");
        }
    }
    let groups: std::collections::BTreeSet<(&str, &str)> =
        media.iter().map(|m| (attr(m, "TYPE").unwrap(), attr(m, "GROUP-ID").unwrap())).collect();
    for (ty, g) in &groups {
        let members: Vec<_> = media.iter().filter(|m| attr(m, "GROUP-ID") == Some(g)).collect();
        assert!(members.iter().all(|m| attr(m, "TYPE") == Some(ty)), "group {g} mixes types");
        let names: std::collections::BTreeSet<_> = members.iter().map(|m| attr(m, "NAME")).collect();
        assert_eq!(names.len(), members.len(), "NAMEs repeat in group {g}");
        assert!(members.iter().filter(|m| attr(m, "DEFAULT") == Some("YES")).count() <= 1, "two defaults in {g}");
    }
    let variants: Vec<_> = master.lines().filter(|l| l.starts_with("#EXT-X-STREAM-INF:")).map(attrs).collect();
    assert!(!variants.is_empty());
    for v in &variants {
        for (key, ty) in [("SUBTITLES", "SUBTITLES"), ("AUDIO", "AUDIO")] {
            if let Some(g) = attr(v, key) {
                assert!(groups.contains(&(ty, g)), "variant names {key} group {g}, which has no rendition");
            }
        }
        for (ty, g) in &groups {
            let key = *ty;
            assert_eq!(attr(v, key), Some(*g), "variant does not name group {g}");
        }
    }
    media
}

/// The cues of a WebVTT text: (start seconds to 0.1 s, text).
fn cues(vtt: &str) -> Vec<(f64, String)> {
    let mut out = Vec::new();
    for block in vtt.split("\n\n") {
        let mut lines = block.lines().skip_while(|l| !l.contains("-->"));
        let Some(t) = lines.next() else { continue };
        let start = t.split("-->").next().unwrap().trim();
        let secs: f64 = start.split(':').fold(0.0, |acc, p| acc * 60.0 + p.parse::<f64>().unwrap());
        // To 0.1 s: FFmpeg shifts the whole file by the AAC track's priming (21 ms).
        out.push(((secs * 10.0).round() / 10.0, lines.collect::<Vec<_>>().join("\n")));
    }
    out
}

/// `program` under coreutils' `timeout`: killed after `secs` seconds, so no wait of
/// the test is unbounded.
fn bounded(secs: u32, program: &str) -> Command {
    let mut c = Command::new("timeout");
    c.args(["-k", "5", &secs.to_string(), program]);
    c
}

/// `secs` seconds of mono 48 kHz PCM decoded by ffmpeg from `input`.
fn pcm_of(input: &str, secs: f64) -> Vec<i16> {
    let out = bounded(90, "ffmpeg")
        .args([
            "-v",
            "error",
            "-i",
            input,
            "-t",
            &secs.to_string(),
            "-vn",
            "-ac",
            "1",
            "-ar",
            "48000",
            "-f",
            "s16le",
            "-",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "ffmpeg {input}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect()
}

/// The frequency of a pure tone, from its rising crossings (48 kHz).
fn tone(pcm: &[i16]) -> f64 {
    assert!(pcm.len() > 4_800, "only {} samples decoded", pcm.len());
    // Rising crossings with hysteresis (a quarter of the peak), so coding noise near
    // zero does not count twice; timed from the first crossing to the last.
    let peak = pcm.iter().map(|s| (*s as i32).abs()).max().unwrap_or(0);
    assert!(peak > 500, "silence (peak {peak})");
    let t = peak / 4;
    let (mut armed, mut first, mut last, mut n) = (false, None, 0usize, 0usize);
    for (i, s) in pcm.iter().map(|s| *s as i32).enumerate() {
        if s < -t {
            armed = true;
        } else if s > t && armed {
            armed = false;
            first.get_or_insert(i);
            last = i;
            n += 1;
        }
    }
    let first = first.expect("no crossing");
    assert!(n > 10, "only {n} periods");
    (n - 1) as f64 * 48_000.0 / (last - first) as f64
}

#[test]
fn every_track_of_a_film_from_a_seeder() {
    let src = tempfile::tempdir().unwrap();
    let dir = make_film(src.path());
    let torrent = make_torrent(&dir, &src.path().join("film.torrent"), &[]);
    let hash = info_hash(&torrent);
    let seeder = Seeder::start(&torrent, &dir, 0);
    let d = Daemon::start_with(&[("SWARMCAST_MEDIA_X264_PRESET", "ultrafast")]);

    let (status, body) = d.post("/api/stream", json!({ "magnet": seeder.magnet(&hash) }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["videoFile"], "Film.mkv", "{body}");
    let token = body["token"].as_str().unwrap().to_string();

    // The audio tracks, in the file's order, with a name a person reads.
    let audio = body["audioTracks"].as_array().expect("audioTracks").clone();
    let got: Vec<(&str, &str, u64, bool)> = audio
        .iter()
        .map(|a| {
            (
                a["language"].as_str().unwrap(),
                a["codec"].as_str().unwrap(),
                a["channels"].as_u64().unwrap(),
                a["default"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, vec![("en", "E-AC-3", 6, true), ("de", "Vorbis", 2, false), ("fr", "AAC", 1, false)], "{body}");
    assert_eq!(audio[0]["name"], "English · E-AC-3 5.1");
    assert_eq!(audio[2]["name"], "French · AAC mono");

    // Subtitles: the embedded ones in order, then the sidecars (not notes.txt).
    let subs = body["subtitleTracks"].as_array().expect("subtitleTracks").clone();
    // (index, language, format, source, forced, supported)
    type Row<'a> = (u64, Option<&'a str>, &'a str, &'a str, bool, bool);
    let got: Vec<Row> = subs
        .iter()
        .map(|s| {
            (
                s["index"].as_u64().unwrap(),
                s["language"].as_str(),
                s["format"].as_str().unwrap(),
                s["source"].as_str().unwrap(),
                s["forced"].as_bool().unwrap(),
                s["supported"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (0, Some("en"), "subrip", "embedded", false, true),
            (1, Some("de"), "subrip", "embedded", false, true),
            (2, Some("fr"), "ass", "embedded", false, true),
            (3, Some("en"), "subrip", "sidecar", true, true),
            (4, Some("ru"), "subrip", "sidecar", false, true),
        ],
        "{body}"
    );
    assert_eq!(subs[3]["default"], true, "forced subtitles show by default: {body}");
    let (s, tracks) = d.get(&format!("/api/stream/{hash}/tracks"));
    assert_eq!(s, 200, "{tracks}");
    assert_eq!(tracks["subtitleTracks"], Value::Array(subs.clone()));
    assert_eq!(tracks["audioTracks"], Value::Array(audio.clone()));

    // The master playlist: a rendition per subtitle track, by Apple's rules.
    let (s, master) = text(&d.url(&format!("/api/stream/{hash}?token={token}")));
    assert_eq!(s, 200);
    let media = check_renditions(&master);
    let subs_media: Vec<_> = media.iter().filter(|m| attr(m, "TYPE") == Some("SUBTITLES")).collect();
    assert_eq!(subs_media.len(), 5, "{master}");
    for (m, t) in subs_media.iter().zip(&subs) {
        assert_eq!(attr(m, "LANGUAGE"), t["language"].as_str(), "{master}");
        assert_eq!(attr(m, "FORCED"), Some(if t["forced"] == true { "YES" } else { "NO" }));
        assert_eq!(attr(m, "URI").unwrap(), format!("{hash}/subtitles/{}.m3u8?token={token}", t["index"]));
    }

    // ffprobe reads the master playlist: the video, the three audio renditions (and the
    // audio muxed into the main segments). Debian's FFmpeg 5.1 skips WebVTT renditions
    // in a master ("Can't support the subtitle"), so each subtitle rendition's
    // playlist is probed on its own below.
    let probe_url = |url: &str| {
        let out = bounded(60, "ffprobe")
            .args(["-v", "error", "-show_entries", "stream=codec_type,codec_name:stream_tags=language", "-of", "json"])
            .arg(url)
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (v, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (probe, err) = probe_url(&d.url(&format!("/api/stream/{hash}?token={token}")));
    let streams = probe["streams"].as_array().cloned().unwrap_or_default();
    let of = |ty: &str| streams.iter().filter(|s| s["codec_type"] == ty).cloned().collect::<Vec<_>>();
    assert_eq!(of("video").len(), 1, "ffprobe: {probe} {err}");
    let audio_streams = of("audio");
    let langs: Vec<&str> = audio_streams
        .iter()
        .filter_map(|s| s["tags"]["language"].as_str())
        .map(|l| match l {
            "ger" => "de",
            "eng" => "en",
            "fre" | "fra" => "fr",
            l => l,
        })
        .collect();
    for l in ["en", "de", "fr"] {
        assert!(langs.contains(&l), "ffprobe lists no {l} audio rendition: {probe} {err}");
    }
    assert!(of("audio").len() >= 3, "ffprobe: {probe} {err}");
    for t in &subs {
        let (p, err) = probe_url(&d.url(&format!("/api/stream/{hash}/subtitles/{}.m3u8?token={token}", t["index"])));
        let kinds: Vec<&str> = p["streams"]
            .as_array()
            .map(|a| a.iter().filter_map(|s| s["codec_name"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(kinds, vec!["webvtt"], "ffprobe on subtitle rendition {}: {p} {err}", t["index"]);
    }

    // Audio renditions: one per track, English the default; each holds its own tone.
    let audio_media: Vec<_> = media.iter().filter(|m| attr(m, "TYPE") == Some("AUDIO")).collect();
    assert_eq!(audio_media.len(), 3, "{master}");
    for (m, (a, (_, _, _, hz))) in audio_media.iter().zip(audio.iter().zip(AUDIO)) {
        assert_eq!(attr(m, "LANGUAGE"), a["language"].as_str());
        assert_eq!(attr(m, "NAME"), a["name"].as_str());
        assert_eq!(attr(m, "DEFAULT"), Some(if a["default"] == true { "YES" } else { "NO" }));
        let uri = attr(m, "URI").unwrap();
        assert_eq!(uri, format!("{hash}/audio/{}.m3u8?token={token}", a["index"]));
        let pcm = pcm_of(&d.url(&format!("/api/stream/{uri}")), 8.0);
        let f = tone(&pcm);
        assert!(
            (f - hz as f64).abs() < hz as f64 * 0.03,
            "rendition {} ({}) sounds at {f:.0} Hz, not {hz}",
            a["index"],
            a["name"]
        );
    }
    assert_eq!(of("video").len(), 1, "{probe}");

    // Seek to the middle first: the video segment holding 16.5 s (the cue starts at 16 s plus
    // the file's 21 ms shift, maybe past a segment boundary at 16 s plus the same shift).
    let (s, sub_pl) = text(&d.url(&format!("/api/stream/{hash}/subtitles/0.m3u8?token={token}")));
    assert_eq!(s, 200, "{sub_pl}");
    let (s, video_pl) = text(&d.url(&format!("/api/stream/{hash}/index.m3u8?token={token}")));
    assert_eq!(s, 200);
    let durations = |pl: &str| -> Vec<f64> {
        pl.lines()
            .filter_map(|l| l.strip_prefix("#EXTINF:"))
            .map(|d| d.trim_end_matches(',').parse().unwrap())
            .collect()
    };
    let (vd, sd) = (durations(&video_pl), durations(&sub_pl));
    assert_eq!(vd, sd, "subtitle segments lie on the video's grid");
    let mut start = 0.0;
    let mid = vd.iter().position(|d| {
        start += d;
        start > 16.5
    });
    let mid = mid.unwrap();
    let mid_start: f64 = vd[..mid].iter().sum();
    let seg = http().get(d.url(&format!("/api/stream/{hash}/seg{mid:05}.ts?token={token}"))).send().unwrap();
    assert_eq!(seg.status().as_u16(), 200);
    let seg_path = src.path().join("mid.ts");
    std::fs::write(&seg_path, seg.bytes().unwrap()).unwrap();
    let video_pts = first_pts(&seg_path, "v:0");

    let (s, whole0) = text(&d.url(&format!("/api/stream/{hash}/subtitles/0.vtt?token={token}")));
    assert_eq!(s, 200, "{whole0}");
    assert_eq!(
        cues(&whole0),
        vec![(2.0, "Hello from the start".into()), (16.0, "The <i>middle</i> of the film".into())],
        "{whole0}"
    );
    let (s, vtt) = text(&d.url(&format!("/api/stream/{hash}/subtitles/0-{mid:05}.vtt?token={token}")));
    assert_eq!(s, 200, "{vtt}");
    let map = vtt.lines().find(|l| l.starts_with("X-TIMESTAMP-MAP=")).expect("X-TIMESTAMP-MAP");
    let mpegts: u64 = map.split("MPEGTS:").nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
    assert!(map.ends_with("LOCAL:00:00:00.000"), "{map}");
    // The map's MPEG-TS time for media time 0 plus the segment's start is its first PTS.
    let at = (video_pts - mpegts as f64) / 90_000.0;
    assert!(
        (at - mid_start).abs() < 0.1,
        "segment {mid} starts at {mid_start} s, the map puts its first frame at {at} s"
    );
    let c = cues(&vtt);
    assert_eq!(c, vec![(16.0, "The <i>middle</i> of the film".to_string())], "{vtt}");

    // The German audio of that same middle segment: its tone, on the video's clock.
    let aseg = http().get(d.url(&format!("/api/stream/{hash}/audio/1-{mid:05}.ts?token={token}"))).send().unwrap();
    assert_eq!(aseg.status().as_u16(), 200);
    let aseg_path = src.path().join("mid-audio.ts");
    std::fs::write(&aseg_path, aseg.bytes().unwrap()).unwrap();
    let audio_pts = first_pts(&aseg_path, "a:0");
    let at = (audio_pts - mpegts as f64) / 90_000.0;
    assert!((at - mid_start).abs() < 0.1, "audio segment {mid} starts at {at} s, the video's at {mid_start} s");
    let f = tone(&pcm_of(aseg_path.to_str().unwrap(), 2.0));
    assert!((f - 660.0).abs() < 20.0, "German audio after a seek sounds at {f:.0} Hz");

    // audio=2, for players that ignore renditions: French muxed into the main segments,
    // around the very same video (made once, whatever the audio).
    let (s, master2) = text(&d.url(&format!("/api/stream/{hash}?token={token}&audio=2")));
    assert_eq!(s, 200, "{master2}");
    assert!(!master2.contains("TYPE=AUDIO") && master2.contains("TYPE=SUBTITLES"), "{master2}");
    assert!(master2.contains("index.m3u8?token=") && master2.contains("&audio=2"), "{master2}");
    let (_, pl2) = text(&d.url(&format!("/api/stream/{hash}/index.m3u8?token={token}&audio=2")));
    assert!(pl2.contains(&format!("seg{mid:05}.ts?token={token}&audio=2")), "{pl2}");
    let seg2 = http().get(d.url(&format!("/api/stream/{hash}/seg{mid:05}.ts?token={token}&audio=2"))).send().unwrap();
    assert_eq!(seg2.status().as_u16(), 200);
    let seg2_path = src.path().join("mid-fr.ts");
    std::fs::write(&seg2_path, seg2.bytes().unwrap()).unwrap();
    let (p2, err) = probe_url(seg2_path.to_str().unwrap());
    let kinds: Vec<&str> = p2["streams"].as_array().unwrap().iter().filter_map(|s| s["codec_type"].as_str()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "audio").count(), 1, "{p2} {err}");
    assert_eq!(kinds.iter().filter(|k| **k == "video").count(), 1, "{p2} {err}");
    let f = tone(&pcm_of(seg2_path.to_str().unwrap(), 2.0));
    assert!((f - 880.0).abs() < 25.0, "audio=2 sounds at {f:.0} Hz, not French's 880");
    let video_of = |p: &Path| {
        let out = bounded(60, "ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(p)
            .args(["-map", "0:v", "-c", "copy", "-f", "h264", "-"])
            .output()
            .unwrap();
        assert!(out.status.success() && !out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    assert!(video_of(&seg_path) == video_of(&seg2_path), "audio=2 changed the video of segment {mid}");
    let (s, v) = d.get(&format!("/api/stream/{hash}/seg{mid:05}.ts?audio=7"));
    assert_eq!((s, v["error"]["code"].as_str()), (400, Some("BAD_REQUEST")), "{v}");

    // burn=0: the English subtitles drawn into a transcode. The frame at 16.5 s differs
    // from the plain stream's where the cue is drawn (the bottom band), and hardly above.
    let (s, master3) = text(&d.url(&format!("/api/stream/{hash}?token={token}&burn=0")));
    assert_eq!(s, 200, "{master3}");
    assert!(!master3.contains("TYPE=SUBTITLES") && master3.contains("&burn=0"), "{master3}");
    let frame_at = |query: &str, at: f64, name: &str| -> Vec<u8> {
        let (s, pl) = text(&d.url(&format!("/api/stream/{hash}/index.m3u8?token={token}{query}")));
        assert_eq!(s, 200, "{pl}");
        let durs = durations(&pl);
        let (mut start, mut i) = (0.0, 0);
        while start + durs[i] <= at {
            start += durs[i];
            i += 1;
        }
        let seg = http().get(d.url(&format!("/api/stream/{hash}/seg{i:05}.ts?token={token}{query}"))).send().unwrap();
        assert_eq!(seg.status().as_u16(), 200, "segment {i}{query}");
        let p = src.path().join(name);
        std::fs::write(&p, seg.bytes().unwrap()).unwrap();
        // Where the segment starts on the media clock (its PTS less mpegtsmux's 3600 s).
        let out = bounded(60, "ffprobe")
            .args(["-v", "error", "-show_entries", "format=start_time", "-of", "csv=p=0"])
            .arg(&p)
            .output()
            .unwrap();
        let first = String::from_utf8_lossy(&out.stdout).trim().parse::<f64>().unwrap() - 3600.0;
        assert!(
            first <= at && at < start + durs[i] + 0.1,
            "segment {i}{query} starts at {first} s, listed at {start} s"
        );
        let out = bounded(60, "ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(&p)
            .args([
                "-ss",
                &format!("{:.3}", at - first),
                "-frames:v",
                "1",
                "-vf",
                "scale=640:360",
                "-pix_fmt",
                "gray",
                "-f",
                "rawvideo",
                "-",
            ])
            .output()
            .unwrap();
        assert_eq!(out.stdout.len(), 640 * 360, "a frame at {at} s{query}: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    let plain = frame_at("", 16.5, "plain.ts");
    let burned = frame_at("&burn=0", 16.5, "burned.ts");
    let diff = |rows: std::ops::Range<usize>| {
        let n = rows.len() * 640;
        rows.flat_map(|y| (0..640).map(move |x| y * 640 + x))
            .map(|k| (plain[k] as i32 - burned[k] as i32).unsigned_abs() as u64)
            .sum::<u64>() as f64
            / n as f64
    };
    let (top, bottom) = (diff(20..200), diff(300..356));
    eprintln!("burn=0 at 16.5 s: mean difference {top:.1} above, {bottom:.1} in the subtitle band");
    assert!(bottom > 1.5 && bottom > top * 10.0, "no subtitle drawn: {top:.1} above, {bottom:.1} in the band");
    let (s, v) = d.get(&format!("/api/stream/{hash}?burn=9"));
    assert_eq!((s, v["error"]["code"].as_str()), (400, Some("BAD_REQUEST")), "{v}");

    // Each other track holds its own text at its time.
    let whole = |n: usize| {
        let (s, v) = text(&d.url(&format!("/api/stream/{hash}/subtitles/{n}.vtt?token={token}")));
        assert_eq!(s, 200, "{v}");
        assert!(v.starts_with("WEBVTT"), "{v}");
        cues(&v)
    };
    assert_eq!(whole(1), vec![(3.0, "Guten Tag".into()), (17.0, "Die Mitte".into())]);
    assert_eq!(whole(2), vec![(20.0, "<i>Bonjour</i> tout le monde".into())]);
    assert_eq!(whole(3), vec![(10.0, "[Sign: EXIT]".into())]);
    // The Windows-1251 sidecar reads as Russian.
    assert_eq!(
        whole(4),
        vec![
            (6.0, "Привет, мир! Это проверка кодировки.".into()),
            (24.0, "Съешь же ещё этих мягких французских булок.".into())
        ]
    );
    // Bad names and tracks get the contract's errors.
    let (s, v) = d.get(&format!("/api/stream/{hash}/subtitles/9.vtt"));
    assert_eq!((s, v["error"]["code"].as_str()), (404, Some("NOT_FOUND")), "{v}");
    let (s, _) = d.get(&format!("/api/stream/{hash}/subtitles/zz.txt"));
    assert_eq!(s, 404);
}

/// hls.js in Chromium: the player's menus switch audio and show a subtitle cue at its
/// time (tests/it/e2e/tracks.spec.mjs).
#[test]
fn hls_js_switches_audio_and_shows_subtitles() {
    assert!(Path::new("/usr/bin/chromium").exists(), "/usr/bin/chromium is missing: run `scripts/setup.sh test`");
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let src = tempfile::tempdir().unwrap();
    let dir = make_film(src.path());
    let torrent = make_torrent(&dir, &src.path().join("film.torrent"), &[]);
    let hash = info_hash(&torrent);
    let seeder = Seeder::start(&torrent, &dir, 0);
    let d = Daemon::start_with(&[("SWARMCAST_MEDIA_X264_PRESET", "ultrafast")]);
    let (status, body) = d.post("/api/stream", json!({ "magnet": seeder.magnet(&hash) }));
    assert_eq!(status, 200, "{body}");
    let mut node = Command::new("node")
        .arg(root.join("tests/it/e2e/tracks.spec.mjs"))
        .env("SWARMCAST_URL", d.url(""))
        .env("E2E_HASH", &hash)
        .env("E2E_USER", "admin")
        .env("E2E_PASSWORD", "correct horse battery")
        .spawn()
        .expect("run node (Node.js 20+)");
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = node.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > std::time::Duration::from_secs(180) {
            let _ = node.kill();
            let _ = node.wait();
            panic!("the Chromium run took more than 180 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert!(status.success(), "the Chromium run failed (its output is above); daemon log:\n{}", d.log_text());
}

/// Each audio rendition of a local MKV, straight from `media::renditions`: the run
/// finishes within its bound and holds the track's tone on the video's clock.
#[test]
fn audio_renditions_of_a_local_file() {
    use swarmcast::media::{LocalFile, renditions};
    let src = tempfile::tempdir().unwrap();
    let dir = make_film(src.path());
    let file = LocalFile(dir.join("Film.mkv"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let info = rt.block_on(swarmcast::media::probe::probe(&file, std::time::Duration::from_secs(20))).unwrap();
    let mut heard = Vec::new();
    for (n, (_, _, _, hz)) in AUDIO.iter().enumerate() {
        let t0 = std::time::Instant::now();
        let bytes = rt
            .block_on(renditions::segment(
                &file,
                (n, info.audio[n].stream_key.clone()),
                (8_000_000_000, 12_000_000_000),
                (false, Some(info.audio[n].codec.clone())),
                std::time::Duration::from_secs(20),
            ))
            .unwrap_or_else(|e| panic!("audio track {n}: {e:#}"));
        let path = src.path().join(format!("a{n}.ts"));
        std::fs::write(&path, &bytes).unwrap();
        let f = tone(&pcm_of(path.to_str().unwrap(), 3.0));
        eprintln!("track {n}: {} bytes in {:?}, {f:.0} Hz", bytes.len(), t0.elapsed());
        let _ = std::fs::copy(&path, format!("/tmp/rendition-{n}.ts"));
        heard.push((n, f, *hz));
    }
    for (n, f, hz) in heard {
        assert!((f - hz as f64).abs() < hz as f64 * 0.03, "track {n} sounds at {f:.0} Hz, not {hz}");
    }
    // The first segment of each, all at once and twice over, as a prober asks for them.
    let runs = [2, 0, 1, 2, 0, 1].map(|n| {
        renditions::segment(
            &file,
            (n, info.audio[n].stream_key.clone()),
            (0, 4_000_000_000),
            (false, Some(info.audio[n].codec.clone())),
            std::time::Duration::from_secs(20),
        )
    });
    for (k, r) in rt.block_on(futures::future::join_all(runs)).into_iter().enumerate() {
        r.unwrap_or_else(|e| panic!("first segments at once, run {k}: {e:#}"));
    }
    // Each embedded subtitle track, by the probe's key.
    let expect: [&[(u64, &str)]; 3] = [
        &[(2, "Hello from the start"), (16, "The <i>middle</i> of the film")],
        &[(3, "Guten Tag"), (17, "Die Mitte")],
        &[(20, "<i>Bonjour</i> tout le monde")],
    ];
    for (n, want) in expect.iter().enumerate() {
        let key = info.subtitles[n].stream_key.clone();
        let cues = rt
            .block_on(swarmcast::media::subextract::extract(&file, (n, key), std::time::Duration::from_secs(20)))
            .unwrap();
        // Within 0.1 s: FFmpeg shifts the whole file by the AAC track's priming (21 ms).
        let got: Vec<(u64, &str)> =
            cues.iter().map(|c| ((c.start_ns + 100_000_000) / 1_000_000_000, c.text.as_str())).collect();
        assert_eq!(&got, want, "subtitle track {n}: {cues:?}");
    }
}

/// E-AC-3 5.1 and MP3 tracks in an MKV: probed, named, and each rendition holds its tone.
#[test]
fn eac3_and_mp3_tracks_in_mkv() {
    use swarmcast::media::{LocalFile, probe, renditions};
    let src = tempfile::tempdir().unwrap();
    let path = src.path().join("Film.mkv");
    let mut cmd = bounded(180, "ffmpeg");
    cmd.args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=8"]);
    for hz in [500, 750] {
        cmd.args(["-f", "lavfi", "-i"]).arg(format!("sine=frequency={hz}:sample_rate=48000:duration=8"));
    }
    cmd.args(["-map", "0:v", "-map", "1:a", "-map", "2:a", "-c:v", "libx264", "-preset", "ultrafast", "-g", "50"]);
    cmd.args([
        "-c:a:0",
        "eac3",
        "-ac:a:0",
        "6",
        "-metadata:s:a:0",
        "language=eng",
        "-c:a:1",
        "libmp3lame",
        "-ac:a:1",
        "2",
        "-metadata:s:a:1",
        "language=ger",
    ]);
    run(cmd.arg(&path));
    let file = LocalFile(path);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let info =
        rt.block_on(probe::probe(&file, std::time::Duration::from_secs(30))).unwrap_or_else(|e| panic!("probe: {e:#}"));
    let tracks = swarmcast::media::tracks::audio_tracks(&info, &[]);
    let names: Vec<&str> = tracks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, vec!["English · E-AC-3 5.1", "German · MP3 stereo"], "{info:?}");
    for (n, hz) in [(0, 500.0), (1, 750.0)] {
        let bytes = rt
            .block_on(renditions::segment(
                &file,
                (n, info.audio[n].stream_key.clone()),
                (2_000_000_000, 6_000_000_000),
                (false, Some(info.audio[n].codec.clone())),
                std::time::Duration::from_secs(20),
            ))
            .unwrap_or_else(|e| panic!("audio track {n}: {e:#}"));
        let p = src.path().join(format!("r{n}.ts"));
        std::fs::write(&p, bytes).unwrap();
        let f = tone(&pcm_of(p.to_str().unwrap(), 3.0));
        assert!((f - hz).abs() < hz * 0.03, "track {n} sounds at {f:.0} Hz, not {hz}");
    }
}

/// The first packet's PTS (90 kHz ticks) of `stream` (`v:0`, `a:0`) in the MPEG-TS file `path`.
fn first_pts(path: &std::path::Path, stream: &str) -> f64 {
    let out = bounded(60, "ffprobe")
        .args(["-v", "error", "-select_streams", stream, "-show_entries", "packet=pts", "-of", "csv=p=0"])
        .args(["-read_intervals", "%+#1"])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .next()
        .and_then(|l| l.split(',').next())
        .unwrap_or("")
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("no PTS of {stream} in {}: {text}", path.display()))
}
