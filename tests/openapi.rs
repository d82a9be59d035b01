//! The OpenAPI document: it is well-formed (every `$ref` resolves, path parameters
//! match their templates, operation ids are unique), every route the sources register
//! is in it with every method, and `/docs` renders it without any outside asset.

mod util;

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use serde_json::Value;
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
        let shared: Vec<&Value> = item.get("parameters").and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default();
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
                        let ok_code = code == "default" || (code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()));
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

/// Every route of `api::routes()` with its methods: `(file, path, methods)`. The
/// methods are read from the route table's source (a `MethodRouter` does not list
/// them); the count is checked against the table itself, so nothing is skipped.
fn registered_routes() -> Vec<(String, String, Vec<String>)> {
    let file = "src/api/mod.rs";
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap();
    let start = text.find("pub fn routes()").expect("api::routes() exists");
    let body = &text[start..start + text[start..].find("\n}\n").unwrap()];
    let mut out = Vec::new();
    for line in body.lines().map(str::trim).filter(|l| l.starts_with("(\"")) {
        let path = &line[2..2 + line[2..].find('"').unwrap()];
        let rest = &line[2 + path.len()..];
        let methods = ["get", "head", "post", "put", "patch", "delete"]
            .iter()
            .filter(|m| rest.contains(&format!(" {m}(")) || rest.contains(&format!(".{m}(")))
            .map(|m| m.to_string())
            .collect();
        out.push((file.to_string(), path.to_string(), methods));
    }
    let table: Vec<&str> = swarmcast::api::routes().into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        out.iter().map(|(_, p, _)| p.as_str()).collect::<Vec<_>>(),
        table,
        "each entry of api::routes() must sit on one line of its own"
    );
    out
}

#[test]
fn every_registered_route_is_documented() {
    let doc = doc();
    let routes = registered_routes();
    assert!(routes.len() >= 20, "the walker found too few routes: {routes:?}");
    assert!(routes.iter().any(|(_, p, m)| p == "/api/files/content" && m.contains(&"delete".to_string())));
    let mut missing = Vec::new();
    for (file, path, methods) in &routes {
        let Some(item) = doc["paths"].get(path) else {
            missing.push(format!("{path} (registered in {file}) is not in src/api/openapi.json"));
            continue;
        };
        for m in methods {
            if m == "any" {
                continue;
            }
            if item.get(m).is_none() {
                missing.push(format!("{} {path} (registered in {file}) is not in src/api/openapi.json", m.to_uppercase()));
            }
        }
        if methods.is_empty() && !item.as_object().unwrap().keys().any(|k| METHODS.contains(&k.as_str())) {
            missing.push(format!("{path} has no operation in src/api/openapi.json"));
        }
    }
    assert!(missing.is_empty(), "undocumented routes:\n{}", missing.join("\n"));
}

#[tokio::test]
async fn served_document_and_docs_page() {
    let app = util::spawn_app(|_| {}).await;
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
    let app = util::spawn_app(|_| {}).await;
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
