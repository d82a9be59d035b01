//! Passkeys over real HTTP announces: a private torrent made by the box refuses
//! announces without a passkey (with a readable reason) and with an unknown one;
//! announces through a passkey credit the bytes to its user; the .torrent carries the
//! caller's passkey; a new passkey retires the old.

use serde_json::Value;

use crate::fixture::*;

async fn announce(app: &TestApp, path: &str, hash: &[u8; 20], peer: u8, up: u64, down: u64, left: u64) -> Vec<u8> {
    let q = format!(
        "info_hash={}&peer_id={}&port={}&uploaded={up}&downloaded={down}&left={left}&compact=1",
        enc(hash),
        enc(&[peer; 20]),
        40000 + peer as u16
    );
    let r = reqwest::get(app.url(&format!("{path}?{q}"))).await.unwrap();
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap().to_vec()
}

fn failure(body: &[u8]) -> Option<String> {
    let s = String::from_utf8_lossy(body);
    s.contains("failure reason").then(|| s.into_owned())
}

#[tokio::test]
async fn private_torrents_take_passkeys_and_credit_users() {
    let app = spawn_app(|_| {}).await;
    std::fs::write(app.download_dir().join("film.bin"), noise(300_000, 9)).unwrap();
    let r = app
        .http
        .post(app.url("/api/torrents/create"))
        .json(&serde_json::json!({"path": "film.bin", "private": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let t: Value = r.json().await.unwrap();
    let id = t["id"].as_str().unwrap().to_string();
    let hash: [u8; 20] = hex::decode(&id).unwrap().try_into().unwrap();

    let me: Value = app.http.get(app.url("/api/user/me")).send().await.unwrap().json().await.unwrap();
    let admin_key = me["passkey"].as_str().unwrap().to_string();
    assert_eq!(admin_key.len(), 32);
    // The .torrent carries the caller's passkey.
    let bytes =
        app.http.get(app.url(&format!("/api/torrents/{id}/torrent"))).send().await.unwrap().bytes().await.unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains(&format!("/announce/{admin_key}")), "{text:.300}");

    let viewer = app.state.store.insert_user("viewer", None, "x", false, 0).unwrap();
    let key = app.state.store.passkey(viewer.id).unwrap().unwrap();

    // Without a passkey, or with a wrong one: refused in words.
    let reason = failure(&announce(&app, "/announce", &hash, 1, 0, 0, 300_000).await).expect("refused");
    assert!(reason.contains("private") && reason.contains("passkey"), "{reason}");
    let reason = failure(&announce(&app, "/announce/0123456789abcdef0123456789abcdef", &hash, 1, 0, 0, 300_000).await)
        .expect("refused");
    assert!(reason.contains("unknown passkey"), "{reason}");

    // With the viewer's passkey: accepted, and the deltas credited.
    let path = format!("/announce/{key}");
    assert_eq!(failure(&announce(&app, &path, &hash, 1, 0, 0, 300_000).await), None);
    assert_eq!(failure(&announce(&app, &path, &hash, 1, 1_000, 200_000, 100_000).await), None);
    assert_eq!(failure(&announce(&app, &path, &hash, 1, 5_000, 300_000, 0).await), None);
    let s: Value =
        app.http.get(app.url(&format!("/api/user/{}/stats", viewer.id))).send().await.unwrap().json().await.unwrap();
    assert_eq!(s["uploaded"], 5_000, "{s}");
    assert_eq!(s["downloaded"], 300_000, "{s}");
    assert_eq!(s["seeding"], 1, "{s}");
    assert_eq!(s["completed"], 1, "{s}");
    assert_eq!(s["username"], "viewer");

    // A public torrent's announces still work without one.
    assert_eq!(failure(&announce(&app, "/announce", &[7; 20], 2, 0, 0, 10).await), None);

    // A new passkey retires the old one.
    let r = app.http.post(app.url("/api/user/me/passkey")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let fresh: Value = r.json().await.unwrap();
    assert_ne!(fresh["passkey"], admin_key.as_str());
    let reason =
        failure(&announce(&app, &format!("/announce/{admin_key}"), &hash, 3, 0, 0, 10).await).expect("old key refused");
    assert!(reason.contains("unknown passkey"), "{reason}");

    // Another user's stats are an admin's business only.
    let r = app.http.get(app.url("/api/user/abc/stats")).send().await.unwrap();
    assert_eq!(r.status(), 400);
}
