//! Fixtures for the auth tests: an `AppState` with a manual clock on temp dirs, and a
//! request helper that sets the client address.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use swarmcast::api::AppState;
use swarmcast::auth::Auth;
use swarmcast::system::clock::ManualClock;
use swarmcast::config::Config;

pub const T0: i64 = 1_800_000_000;

pub struct Env {
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    pub dir: tempfile::TempDir,
}

pub async fn env_with(tweak: impl FnOnce(&mut Config)) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::offline(dir.path());
    tweak(&mut config);
    config.validate().unwrap();
    let mut state = swarmcast::daemon::build(config.clone(), Default::default()).await.unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    state.auth = Arc::new(Auth::open(&config, state.store.clone(), clock.clone()).unwrap());
    Env { state, clock, dir }
}

pub async fn env() -> Env {
    env_with(|_| {}).await
}

/// A response, with its body parsed as JSON when it is JSON.
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub fn code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or("").to_string()
    }
    /// `name=value` of a `Set-Cookie` header, and the whole header.
    pub fn cookie(&self, name: &str) -> Option<(String, String)> {
        self.headers.get_all(header::SET_COOKIE).iter().find_map(|v| {
            let s = v.to_str().unwrap().to_string();
            let (kv, _) = s.split_once(';').unwrap_or((&s, ""));
            let (k, val) = kv.split_once('=')?;
            (k == name).then(|| (val.to_string(), s.clone()))
        })
    }
}

/// A request builder preset with a good Host.
pub fn req(method: Method, path: &str) -> axum::http::request::Builder {
    Request::builder().method(method).uri(path).header(header::HOST, "localhost:6991")
}

/// A request builder with the given Host.
pub fn req_host(method: Method, path: &str, host: &str) -> axum::http::request::Builder {
    Request::builder().method(method).uri(path).header(header::HOST, host)
}

pub fn json_req(method: Method, path: &str, body: &Value) -> Request<Body> {
    req(method, path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

impl Env {
    pub fn app(&self) -> Router {
        swarmcast::api::app(self.state.clone())
    }

    /// Sends a request from `from` (an `ip:port`).
    pub async fn send_from(&self, from: &str, r: Request<Body>) -> Resp {
        let addr: SocketAddr = from.parse().unwrap();
        let resp = self.app().layer(MockConnectInfo(addr)).oneshot(r).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
        Resp { status, headers, body }
    }

    pub async fn send(&self, r: Request<Body>) -> Resp {
        self.send_from("192.168.1.50:40000", r).await
    }

    /// Creates an admin through `/auth/setup`; returns the session cookie value.
    pub async fn setup_admin(&self, name: &str, password: &str) -> String {
        let r = self
            .send(json_req(Method::POST, "/auth/setup", &serde_json::json!({"username": name, "password": password})))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
        r.cookie("session").unwrap().0
    }

    /// Creates a plain user directly.
    pub fn add_user(&self, name: &str, password: &str, admin: bool) -> i64 {
        self.state.auth.create_user(name, password, None, admin).unwrap().id
    }

    pub async fn login(&self, name: &str, password: &str, remember: bool) -> Resp {
        self.send(json_req(
            Method::POST,
            "/auth/login",
            &serde_json::json!({"username": name, "password": password, "remember_me": remember}),
        ))
        .await
    }
}

pub fn with_cookie(mut r: Request<Body>, cookie: &str) -> Request<Body> {
    r.headers_mut().insert(header::COOKIE, cookie.parse().unwrap());
    r
}

pub fn get(path: &str) -> Request<Body> {
    req(Method::GET, path).body(Body::empty()).unwrap()
}
