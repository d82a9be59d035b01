//! The OpenAPI document: it is well-formed (every `$ref` resolves, path parameters
//! match their templates, operation ids are unique), every route the sources register
//! (`api::routes()`) is in it with every method it answers, live answers match it,
//! and `/docs` renders it, in a real browser, without any outside asset.

use std::collections::{BTreeSet, HashSet};

use serde_json::Value;

use crate::fixture;
use swarmcast::api::openapi::OPENAPI_JSON;

const METHODS: [&str; 8] = ["get", "post", "put", "patch", "delete", "head", "options", "trace"];

fn doc() -> Value {
    serde_json::from_str(OPENAPI_JSON).expect("openapi.json is JSON")
}

fn resolve<'a>(doc: &'a Value, pointer: &str) -> Option<&'a Value> {
    doc.pointer(pointer.strip_prefix('#')?)
}

fn walk_refs(doc: &Value, v: &Value, at: &str, bad: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref")
                && resolve(doc, r).is_none()
            {
                bad.push(format!("{at}: $ref {r} does not resolve"));
            }
            for (k, v) in m {
                walk_refs(doc, v, &format!("{at}/{k}"), bad);
            }
        }
        Value::Array(a) => a.iter().enumerate().for_each(|(i, v)| walk_refs(doc, v, &format!("{at}/{i}"), bad)),
        _ => {}
    }
}

fn deref<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => resolve(doc, r).unwrap_or(v),
        None => v,
    }
}

#[test]
fn the_document_is_well_formed() {
    let doc = doc();
    let mut bad = Vec::new();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    walk_refs(&doc, &doc, "#", &mut bad);
    let tags: HashSet<&str> = doc["tags"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    let schemes: HashSet<&String> = doc["components"]["securitySchemes"].as_object().unwrap().keys().collect();
    let mut ids = HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with('/') {
            bad.push(format!("{path}: does not start with /"));
        }
        let template: BTreeSet<String> =
            path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).map(str::to_string).collect();
        let shared: Vec<&Value> =
            item.get("parameters").and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default();
        for (method, op) in item.as_object().unwrap() {
            if method == "parameters" {
                continue;
            }
            let at = format!("{} {path}", method.to_uppercase());
            if !METHODS.contains(&method.as_str()) {
                bad.push(format!("{at}: unknown method"));
                continue;
            }
            match op["operationId"].as_str() {
                Some(id) if ids.insert(id.to_string()) => {}
                other => bad.push(format!("{at}: operationId {other:?} missing or repeated")),
            }
            for t in op["tags"].as_array().into_iter().flatten() {
                if !tags.contains(t.as_str().unwrap_or("")) {
                    bad.push(format!("{at}: tag {t} is not declared"));
                }
            }
            for req in op["security"].as_array().into_iter().flatten() {
                for k in req.as_object().unwrap().keys() {
                    if !schemes.contains(k) {
                        bad.push(format!("{at}: security scheme {k} is not declared"));
                    }
                }
            }
            let params: Vec<&Value> = shared
                .iter()
                .copied()
                .chain(op.get("parameters").and_then(Value::as_array).into_iter().flatten())
                .map(|p| deref(&doc, p))
                .collect();
            let declared: BTreeSet<String> = params
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| {
                    if p["required"] != true {
                        bad.push(format!("{at}: path parameter {} must be required", p["name"]));
                    }
                    p["name"].as_str().unwrap_or("").to_string()
                })
                .collect();
            if declared != template {
                bad.push(format!("{at}: path parameters {declared:?} do not match the template {template:?}"));
            }
            for p in &params {
                if !matches!(p["in"].as_str(), Some("path" | "query" | "header" | "cookie")) || !p["name"].is_string() {
                    bad.push(format!("{at}: malformed parameter {p}"));
                }
            }
            match op["responses"].as_object() {
                Some(r) if !r.is_empty() => {
                    for (code, resp) in r {
                        let ok_code =
                            code == "default" || (code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()));
                        if !ok_code || !deref(&doc, resp)["description"].is_string() {
                            bad.push(format!("{at}: response {code} is malformed"));
                        }
                    }
                }
                _ => bad.push(format!("{at}: no responses")),
            }
        }
    }
    assert!(bad.is_empty(), "openapi.json has problems:\n{}", bad.join("\n"));
}

/// A concrete URL for a route template, with values that name nothing that exists (so
/// that probing changes nothing).
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| match seg {
            "{id}" => "9999999999999999999999999999999999999999",
            "{index}" => "0",
            "{prefix}" => "sc_00000000",
            s if s.starts_with('{') => "nope",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every route of `api::routes()` with the methods it answers: each method is sent
/// (as the admin) and counts unless the router answers `METHOD_NOT_ALLOWED`.
#[tokio::test]
async fn every_registered_route_is_documented() {
    let doc = doc();
    let app = fixture::spawn_app(|c| {
        c.auth.rate_limit.reads_per_min = 0;
        c.auth.rate_limit.writes_per_min = 0;
        c.auth.rate_limit.auth_attempts = 0;
    })
    .await;
    let routes = swarmcast::api::routes();
    assert!(routes.len() >= 20, "the route table looks incomplete");
    let mut missing = Vec::new();
    let mut probed = 0;
    for (path, _) in &routes {
        let Some(item) = doc["paths"].get(*path) else {
            missing.push(format!("{path} is not in src/api/openapi.json"));
            continue;
        };
        for m in ["get", "post", "put", "patch", "delete"] {
            let method = reqwest::Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
            let r = app
                .http
                .request(method, app.url(&concrete(path)))
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let status = r.status();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            probed += 1;
            if status == 405 && body["error"]["code"] == "METHOD_NOT_ALLOWED" {
                continue;
            }
            if item.get(m).is_none() {
                missing.push(format!("{} {path} (answers {status}) is not in src/api/openapi.json", m.to_uppercase()));
            }
        }
    }
    assert!(missing.is_empty(), "undocumented routes:\n{}", missing.join("\n"));
    assert_eq!(probed, routes.len() * 5);
}

#[tokio::test]
async fn served_document_and_docs_page() {
    let app = fixture::spawn_app(|_| {}).await;
    let r = app.http.get(app.url("/api/openapi.json")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let served: Value = r.json().await.unwrap();
    assert_eq!(served, doc());
    let r = app.http.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = r.text().await.unwrap();
    assert!(html.contains("fetch(\"/api/openapi.json\")"));
    for external in ["src=\"http", "href=\"http", "src=\"//", "@import", "cdn"] {
        assert!(!html.to_lowercase().contains(external), "/docs loads an outside asset: {external}");
    }
}

/// `/docs` rendered by a real browser: headless Chromium runs the page's script,
/// which fetches the document and draws one entry per operation.
#[tokio::test]
async fn docs_page_renders_in_chromium() {
    let app = fixture::spawn_app(|_| {}).await;
    let profile = app.tmp.path().join("chromium");
    let run = tokio::process::Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--virtual-time-budget=10000"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(app.url("/docs"))
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(90), run)
        .await
        .expect("chromium finished within 90 s")
        .expect("chromium is installed by scripts/setup.sh test");
    let dom = String::from_utf8_lossy(&out.stdout);
    let doc = doc();
    let mut ops = 0;
    for item in doc["paths"].as_object().unwrap().values() {
        for (m, op) in item.as_object().unwrap() {
            if m == "parameters" {
                continue;
            }
            ops += 1;
            let id = op["operationId"].as_str().unwrap();
            assert!(dom.contains(&format!("id=\"{id}\"")), "operation {id} was not rendered");
        }
    }
    assert_eq!(dom.matches("<span class=\"m ").count(), ops, "one method badge per operation");
    assert!(!dom.contains("id=\"content\">Cannot load"), "the page could not load the document");
    assert!(dom.contains("id=\"schema-Torrent\""));
}

/// Checks `v` against an OpenAPI schema: `$ref`, `oneOf`, `type` (one or several),
/// `enum`, `required`, `properties`, `items`, `additionalProperties: false`.
fn validate(doc: &Value, schema: &Value, v: &Value, at: &str, errs: &mut Vec<String>) {
    let s = deref(doc, schema);
    if let Some(branches) = s.get("oneOf").and_then(Value::as_array) {
        let ok = branches.iter().any(|b| {
            let mut e = Vec::new();
            validate(doc, b, v, at, &mut e);
            e.is_empty()
        });
        if !ok {
            errs.push(format!("{at}: matches no oneOf branch"));
        }
        return;
    }
    if let Some(t) = s.get("type") {
        let types: Vec<&str> = match t {
            Value::String(t) => vec![t.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let is = |t: &str| match t {
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "string" => v.is_string(),
            "boolean" => v.is_boolean(),
            "array" => v.is_array(),
            "object" => v.is_object(),
            "null" => v.is_null(),
            _ => false,
        };
        if !types.iter().any(|t| is(t)) {
            errs.push(format!("{at}: {v} is not {types:?}"));
            return;
        }
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        errs.push(format!("{at}: {v} is not one of {e:?}"));
    }
    if let Some(obj) = v.as_object() {
        for r in s.get("required").and_then(Value::as_array).into_iter().flatten() {
            if !obj.contains_key(r.as_str().unwrap_or("")) {
                errs.push(format!("{at}: required field {r} is missing"));
            }
        }
        let props = s.get("properties").and_then(Value::as_object);
        for (k, val) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(ps) => validate(doc, ps, val, &format!("{at}.{k}"), errs),
                None if s.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errs.push(format!("{at}: field {k} is not in the schema"))
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(arr)) = (s.get("items"), v.as_array()) {
        for (i, item) in arr.iter().enumerate().take(20) {
            validate(doc, items, item, &format!("{at}[{i}]"), errs);
        }
    }
}

/// Live answers of the routes this tree implements match their documented schemas.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_responses_match_the_document() {
    let app = fixture::spawn_app(|_| {}).await;
    std::fs::create_dir_all(app.download_dir().join("docs")).unwrap();
    std::fs::write(app.download_dir().join("docs/a.bin"), fixture::noise(70_000, 2)).unwrap();
    let created = app
        .http
        .post(app.url("/api/torrents/create"))
        .json(&serde_json::json!({"path": "docs/a.bin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let t: Value = created.json().await.unwrap();
    let id = t["id"].as_str().unwrap().to_string();
    let announce = format!(
        "/announce?info_hash={}&peer_id={}&port=7000&left=0",
        fixture::enc(&hex::decode(&id).unwrap()),
        fixture::enc(&[3; 20])
    );
    app.http.get(app.url(&announce)).send().await.unwrap();
    let doc = doc();
    let checks = [
        ("/api/health", "/api/health", "200"),
        ("/api/torrents", "/api/torrents", "200"),
        (&format!("/api/torrents/{id}") as &str, "/api/torrents/{id}", "200"),
        (&format!("/api/torrents/{id}/peers"), "/api/torrents/{id}/peers", "200"),
        ("/api/files?path=docs", "/api/files", "200"),
        ("/api/tracker/torrents", "/api/tracker/torrents", "200"),
        ("/api/activity", "/api/activity", "200"),
        ("/api/stats", "/api/stats", "200"),
        ("/api/torrents/0000000000000000000000000000000000000000", "/api/torrents/{id}", "404"),
        ("/api/files?path=../x", "/api/files", "403"),
        ("/api/tracker/torrents?sort=x", "/api/tracker/torrents", "400"),
    ];
    let mut errs = Vec::new();
    let created_schema = &deref(&doc, &doc["paths"]["/api/torrents/create"]["post"]["responses"]["201"])["content"]["application/json"]
        ["schema"];
    validate(&doc, created_schema, &t, "POST /api/torrents/create 201", &mut errs);
    let mut check = |template: &str, status: &str, v: &Value| {
        let resp = deref(&doc, &doc["paths"][template]["get"]["responses"][status]);
        let schema = &resp["content"]["application/json"]["schema"];
        assert!(schema.is_object(), "GET {template} {status} has no JSON schema in the document");
        validate(&doc, schema, v, &format!("GET {template} {status}"), &mut errs);
    };
    for (url, template, status) in checks {
        let r = app.http.get(app.url(url)).send().await.unwrap();
        assert_eq!(r.status().as_str(), status, "{url}");
        let v: Value = r.json().await.unwrap();
        check(template, status, &v);
    }
    assert!(errs.is_empty(), "answers differ from the document:\n{}", errs.join("\n"));
}
