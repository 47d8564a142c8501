//! Every response a test receives is checked against docs/openapi.yaml: the
//! status is documented for its operation, the content type is one the
//! document lists, `x-request-id` is present, documented required headers are
//! sent, and the body validates against the documented schema. So every
//! end-to-end test is also a contract test, and the document cannot drift
//! from what the API does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{json, Value};

fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let path = crate::repo_root().join("docs/openapi.yaml");
        let text = std::fs::read_to_string(&path).expect("docs/openapi.yaml");
        serde_yaml::from_str(&text).expect("docs/openapi.yaml is YAML")
    })
}

/// Follows a local `$ref` (`#/components/responses/X`) to what it names.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("openapi: dangling $ref {r}")),
        None => v,
    }
}

type Validators = Mutex<HashMap<String, Arc<jsonschema::Validator>>>;

/// A validator for `schema`, whose `#/components/...` refs resolve against the document.
fn validator(key: &str, schema: &Value) -> Arc<jsonschema::Validator> {
    static CACHE: OnceLock<Validators> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(key) {
        return v.clone();
    }
    let mut rooted = json!({"allOf": [schema]});
    rooted["components"] = document()["components"].clone();
    let v = Arc::new(
        jsonschema::draft202012::new(&rooted)
            .unwrap_or_else(|e| panic!("openapi: schema of {key} does not compile: {e}")),
    );
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key.to_owned(), v.clone());
    v
}

/// Checks one response. Operations the document does not describe (unknown
/// paths, other methods, CORS preflights) are the gateway's business and are
/// not checked.
/// The document's entry for `path`: exactly, or through a template whose
/// `{param}` segments stand for any one non-empty segment.
fn documented_path<'d>(doc: &'d Value, path: &str) -> Option<&'d Value> {
    let paths = doc["paths"].as_object()?;
    if let Some(exact) = paths.get(path) {
        return Some(exact);
    }
    let got: Vec<&str> = path.split('/').collect();
    paths.iter().find_map(|(template, entry)| {
        let want: Vec<&str> = template.split('/').collect();
        let fits = want.len() == got.len()
            && want.iter().zip(&got).all(|(w, g)| {
                *w == *g || (w.starts_with('{') && w.ends_with('}') && !g.is_empty())
            });
        fits.then_some(entry)
    })
}

pub fn check(
    method: &str,
    path: &str,
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &str,
) {
    let doc = document();
    let Some(op) = documented_path(doc, path).and_then(|p| p.get(method.to_ascii_lowercase()))
    else {
        return;
    };
    let responses = &op["responses"];
    let class = format!("{}XX", status / 100);
    let Some(response) = responses
        .get(status.to_string())
        .or_else(|| responses.get(&class))
        .or_else(|| responses.get("default"))
    else {
        panic!("openapi: {method} {path} answered {status}, which it does not document: {body}");
    };
    let response = resolve(doc, response);
    assert!(
        headers.contains_key("x-request-id"),
        "{method} {path} {status}: no x-request-id"
    );
    if let Some(documented) = response.get("headers").and_then(Value::as_object) {
        for (name, header) in documented {
            let header = resolve(doc, header);
            if header["required"] == true {
                assert!(
                    headers.contains_key(name.to_ascii_lowercase().as_str()),
                    "{method} {path} {status}: documented header {name} missing"
                );
            }
        }
    }
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_owned());
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        assert!(
            body.is_empty(),
            "{method} {path} {status}: a body where none is documented"
        );
        return;
    };
    let content_type = content_type.unwrap_or_else(|| {
        panic!(
            "{method} {path} {status}: no content type, documented {:?}",
            content.keys()
        )
    });
    let Some(media) = content.get(&content_type) else {
        panic!(
            "openapi: {method} {path} {status} answered {content_type}, documented {:?}",
            content.keys()
        );
    };
    let Some(schema) = media.get("schema") else {
        return;
    };
    let instance: Value = serde_json::from_str(body)
        .unwrap_or_else(|_| panic!("{method} {path} {status}: body is not JSON: {body}"));
    let key = format!("{method} {path} {status} {content_type}");
    let v = validator(&key, schema);
    let errors: Vec<String> = v
        .iter_errors(&instance)
        .map(|e| format!("{} at {}", e.masked(), e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "openapi: {key} does not match its schema: {errors:?}\n{body}"
    );
}
