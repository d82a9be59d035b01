//! `POST /api/files/upload` over real HTTP: files land where asked (folders made on
//! the way), traversal, absolute paths, a symlinked folder and bad names are refused,
//! the quota and the upload limit apply, and an existing file is kept unless asked.

use reqwest::multipart::{Form, Part};
use serde_json::Value;

use crate::fixture::*;

fn form(path: &str, files: &[(&str, Vec<u8>)]) -> Form {
    let mut f = Form::new().text("path", path.to_string());
    for (name, bytes) in files {
        f = f.part("file", Part::bytes(bytes.clone()).file_name(name.to_string()));
    }
    f
}

async fn post(app: &TestApp, query: &str, form: Form) -> (u16, Value) {
    let r = app.http.post(app.url(&format!("/api/files/upload{query}"))).multipart(form).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn upload_lands_where_asked_and_refuses_escapes() {
    let app = spawn_app(|_| {}).await;
    let root = app.download_dir();
    let outside = app.tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("linked")).unwrap();

    // Two files into a folder that does not exist yet, two levels deep.
    let (s, body) = post(
        &app,
        "",
        form(
            "films/Big Film",
            &[("film.srt", b"1\n00:00:01,000 --> 00:00:02,000\nhi\n".to_vec()), ("film.nfo", noise(70_000, 3))],
        ),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body[0]["name"], "film.srt");
    assert_eq!(body[0]["path"], "films/Big Film/film.srt");
    assert_eq!(body[1]["size"], 70_000);
    assert_eq!(std::fs::read(root.join("films/Big Film/film.nfo")).unwrap(), noise(70_000, 3));
    let left: Vec<_> =
        std::fs::read_dir(root.join("films/Big Film")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(left.len(), 2, "no part files left behind: {left:?}");
    // And the file browser sees it.
    let r = app.http.get(app.url("/api/files?path=films/Big%20Film")).send().await.unwrap();
    assert_eq!(r.status(), 200);

    for (path, name) in [
        ("../escape", "a.txt"),
        ("films/../../escape", "a.txt"),
        ("/tmp", "a.txt"),
        ("linked", "a.txt"),
        ("linked/deeper", "a.txt"),
        ("films", "../a.txt"),
        ("films", "sub/a.txt"),
        ("films", ".."),
        ("films", "a\0b.txt"),
    ] {
        let (s, body) = post(&app, "", form(path, &[(name, b"data".to_vec())])).await;
        assert!(s == 403 || s == 400, "{path:?}/{name:?} gave {s}: {body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    }
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0, "nothing landed behind the symlink");
    assert!(!app.tmp.path().join("escape").exists());
    assert!(!std::path::Path::new("/tmp/a.txt").exists() || std::fs::read("/tmp/a.txt").unwrap() != b"data");

    // An existing file is kept unless overwrite=true.
    let (s, body) = post(&app, "", form("films/Big Film", &[("film.srt", b"new".to_vec())])).await;
    assert_eq!(s, 409, "{body}");
    assert_eq!(body["error"]["code"], "CONFLICT");
    assert_ne!(std::fs::read(root.join("films/Big Film/film.srt")).unwrap(), b"new");
    let (s, body) = post(&app, "?overwrite=true", form("films/Big Film", &[("film.srt", b"new".to_vec())])).await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(std::fs::read(root.join("films/Big Film/film.srt")).unwrap(), b"new");

    // No file field at all.
    let (s, _) = post(&app, "", Form::new().text("path", "films")).await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn upload_over_the_quota_or_the_limit_is_refused() {
    let app = spawn_app(|c| c.quota.max_bytes = 1 << 20).await;
    let root = app.download_dir();
    let (s, body) = post(&app, "", form("", &[("small.bin", noise(100_000, 1))])).await;
    assert_eq!(s, 201, "{body}");
    let (s, body) = post(&app, "", form("big", &[("big.bin", noise(2 << 20, 2))])).await;
    assert_eq!(s, 507, "{body}");
    assert_eq!(body["error"]["code"], "QUOTA_EXCEEDED");
    assert!(!root.join("big/big.bin").exists());
    assert_eq!(std::fs::read_dir(root.join("big")).unwrap().count(), 0, "the part file is removed");

    let app = spawn_app(|c| c.server.max_upload_bytes = 512 << 10).await;
    let (s, body) = post(&app, "", form("", &[("huge.bin", noise(2 << 20, 4))])).await;
    assert_eq!(s, 413, "{body}");
    assert_eq!(body["error"]["code"], "PAYLOAD_TOO_LARGE");
    assert_eq!(std::fs::read_dir(app.download_dir()).unwrap().count(), 0, "nothing left behind");
    let (s, body) = post(&app, "", form("", &[("ok.bin", noise(100_000, 5))])).await;
    assert_eq!(s, 201, "the daemon still takes uploads: {body}");
}
