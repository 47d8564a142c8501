//! template.yaml as CloudFormation will see it: translated by SAM's own
//! translator (aws-sam-translator, offline), then held against the code —
//! the routes of the `Route` enum, each function's IAM policy against the
//! access its routes declare (shared/src/functions.rs) — and against the
//! rules that make a first deploy and its retries safe.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde_json::{json, Value};
use voicegate::adapters::aws_calls::Access;
use voicegate::edge::functions::{self, Function};
use voicegate::Route;
use voicegate_tests::repo_root;

fn translated() -> &'static Value {
    static T: OnceLock<Value> = OnceLock::new();
    T.get_or_init(|| {
        let python = repo_root().join(".tools/lint/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run `make test`",
            python.display()
        );
        let out = std::process::Command::new(python)
            .arg(repo_root().join("infra/tools/translate.py"))
            .arg(repo_root().join("template.yaml"))
            .output()
            .expect("run SAM's translator");
        assert!(
            out.status.success(),
            "SAM's translator refused template.yaml: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("translated template is JSON")
    })
}

fn source() -> serde_yaml::Value {
    serde_yaml::from_str(&std::fs::read_to_string(repo_root().join("template.yaml")).unwrap())
        .unwrap()
}

fn resources() -> &'static serde_json::Map<String, Value> {
    translated()["Resources"].as_object().expect("Resources")
}

fn http_api_body() -> &'static Value {
    let api = resources()
        .values()
        .find(|r| r["Type"] == "AWS::ApiGatewayV2::Api")
        .expect("an HTTP API");
    &api["Properties"]["Body"]
}

/// The logical id of the Lambda function deployed for `f`.
fn logical_id(f: &Function) -> String {
    let name = json!({"Fn::Sub": format!("${{AWS::StackName}}-{}", f.name)});
    resources()
        .iter()
        .find(|(_, r)| {
            r["Type"] == "AWS::Lambda::Function" && r["Properties"]["FunctionName"] == name
        })
        .map(|(id, _)| id.clone())
        .unwrap_or_else(|| panic!("no function named <stack>-{}", f.name))
}

#[test]
fn cors_survives_the_sam_transform_as_a_whole_object() {
    let cors = &http_api_body()["x-amazon-apigateway-cors"];
    assert!(cors.is_object(), "CORS became {cors}");
    assert_eq!(
        cors["allowOrigins"],
        json!({"Fn::Split": [",", {"Ref": "CorsAllowedOrigins"}]})
    );
    for (field, wanted) in [
        ("allowMethods", vec!["GET", "POST", "OPTIONS"]),
        ("allowHeaders", vec!["authorization", "content-type"]),
        (
            "exposeHeaders",
            vec!["x-request-id", "retry-after", "www-authenticate"],
        ),
    ] {
        let have: Vec<&str> = cors[field]
            .as_array()
            .unwrap_or_else(|| panic!("{field}: {cors}"))
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for w in wanted {
            assert!(have.contains(&w), "{field} lacks {w}: {have:?}");
        }
    }
    assert!(cors["maxAge"].as_u64().is_some_and(|s| s > 0));
}

#[test]
fn the_api_has_exactly_the_routes_of_the_route_enum_each_on_its_function() {
    let paths = http_api_body()["paths"].as_object().expect("paths");
    let mut deployed = BTreeSet::new();
    for (path, methods) in paths {
        for (method, op) in methods.as_object().unwrap() {
            let key = format!("{} {path}", method.to_uppercase());
            let uri = op["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
                .as_str()
                .unwrap_or_default();
            let route = Route::ALL
                .iter()
                .find(|r| r.key() == key)
                .unwrap_or_else(|| panic!("{key} is deployed but is no route"));
            let function = functions::ALL
                .iter()
                .find(|f| f.routes.contains(route))
                .unwrap();
            // Through the function's `live` alias, which the gradual deployment moves.
            let alias = format!("${{{}Aliaslive}}", logical_id(function));
            assert!(
                uri.contains(&alias),
                "{key} integrates with {uri}, not {alias}"
            );
            deployed.insert(key);
        }
    }
    let expected: BTreeSet<String> = Route::ALL.iter().map(|r| r.key()).collect();
    assert_eq!(deployed, expected);
}

/// Each role allows exactly what the function's routes declare: the
/// table's item actions they use, the secrets they read, SMS only if they
/// text, never a wildcard action, no other managed policy than logs and X-Ray.
#[test]
fn each_function_gets_exactly_the_access_its_routes_declare() {
    for f in functions::ALL {
        let id = logical_id(&f);
        let role_id = resources()[&id]["Properties"]["Role"]["Fn::GetAtt"][0]
            .as_str()
            .unwrap()
            .to_owned();
        let role = &resources()[&role_id]["Properties"];
        let managed: BTreeSet<&str> = role["ManagedPolicyArns"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(
            managed,
            BTreeSet::from([
                "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"
            ]),
            "{}",
            f.name
        );
        let mut granted: BTreeSet<Access> = BTreeSet::new();
        for policy in role["Policies"].as_array().unwrap() {
            for st in policy["PolicyDocument"]["Statement"].as_array().unwrap() {
                assert_eq!(st["Effect"], "Allow");
                let actions: Vec<&str> = match &st["Action"] {
                    Value::String(a) => vec![a.as_str()],
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                    other => panic!("{}: action {other}", f.name),
                };
                assert!(
                    actions.iter().all(|a| !a.contains('*')),
                    "{}: wildcard action in {actions:?}",
                    f.name
                );
                let resource = &st["Resource"];
                for action in actions {
                    let access = match action {
                        "dynamodb:GetItem" => Access::GetItem,
                        "dynamodb:BatchGetItem" => Access::BatchGetItem,
                        "dynamodb:PutItem" => Access::PutItem,
                        "dynamodb:UpdateItem" => Access::UpdateItem,
                        "dynamodb:DeleteItem" => Access::DeleteItem,
                        "dynamodb:Query" => Access::Query,
                        "secretsmanager:GetSecretValue"
                            if *resource == json!({"Ref": "AppSecret"}) =>
                        {
                            Access::AppSecret
                        }
                        "secretsmanager:GetSecretValue"
                            if *resource
                                == json!({"Fn::If": ["CreateLiveKitSecret", {"Ref": "LiveKitSecret"}, {"Ref": "ExistingLiveKitSecretArn"}]}) =>
                        {
                            Access::LiveKitSecret
                        }
                        "secretsmanager:GetSecretValue"
                            if *resource
                                == json!({"Fn::If": ["CreateAgentClientsSecret", {"Ref": "AgentClientsSecret"}, {"Ref": "ExistingAgentClientsSecretArn"}]}) =>
                        {
                            Access::AgentClientsSecret
                        }
                        "sns:Publish" => {
                            assert_eq!(
                                st["NotResource"], "arn:aws:sns:*:*:*",
                                "{}: SMS must exclude every topic",
                                f.name
                            );
                            assert!(st.get("Resource").is_none(), "{}", f.name);
                            Access::PublishSms
                        }
                        other => panic!("{}: grants {other} on {resource}", f.name),
                    };
                    if action.starts_with("dynamodb:") {
                        assert_eq!(
                            *resource,
                            json!({"Fn::GetAtt": ["Table", "Arn"]}),
                            "{}: {action} beyond the table",
                            f.name
                        );
                    }
                    granted.insert(access);
                }
            }
        }
        let declared: BTreeSet<Access> = f.needs().into_iter().collect();
        assert_eq!(
            granted, declared,
            "{}: the role grants other access than its routes declare",
            f.name
        );
    }
}

/// A failed first create rolls back cleanly and a retry (or a new stack of
/// the same name) never meets "already exists": nothing is `Retain`, and what
/// is kept after deletion has no fixed physical name.
#[test]
fn nothing_retained_can_block_the_next_create() {
    let template = source();
    let resources = template["Resources"].as_mapping().unwrap();
    for (id, r) in resources {
        let policy = r.get("DeletionPolicy").and_then(|p| p.as_str());
        assert_ne!(
            policy,
            Some("Retain"),
            "{id:?} is Retain: a failed first create leaves it behind"
        );
        if policy == Some("RetainExceptOnCreate") {
            let props = r.get("Properties").and_then(|p| p.as_mapping());
            for name in [
                "LogGroupName",
                "TableName",
                "Name",
                "BucketName",
                "AliasName",
            ] {
                assert!(
                    props.is_none_or(|p| !p.contains_key(name)),
                    "{id:?} is kept after the stack and has a fixed {name}: the next create would collide"
                );
            }
            assert!(
                r.get("UpdateReplacePolicy").is_some(),
                "{id:?} has no UpdateReplacePolicy"
            );
        }
    }
    // Deletion protection defaults off, so a failed first create can roll the table back.
    assert_eq!(
        template["Parameters"]["TableDeletionProtection"]["Default"],
        "false"
    );
}

/// The generated secrets: CloudFormation regenerates a value whenever its
/// GenerateSecretString changes, which would invalidate every token and code
/// (or overwrite operator-set LiveKit credentials). They are pinned here, and
/// no parameter feeds them.
#[test]
fn generated_secrets_never_change() {
    let template = source();
    for (id, expected) in [
        (
            "AppSecret",
            r#"{"SecretStringTemplate": "{\"signing_kid\":\"k1\"}", "GenerateStringKey": "seed", "PasswordLength": 64, "ExcludePunctuation": true}"#,
        ),
        (
            "LiveKitSecret",
            r#"{"SecretStringTemplate": "{\"api_key\":\"voicegate\"}", "GenerateStringKey": "api_secret", "PasswordLength": 48, "ExcludePunctuation": true}"#,
        ),
    ] {
        let generate = &template["Resources"][id]["Properties"]["GenerateSecretString"];
        let as_json: Value = serde_json::to_value(generate).unwrap();
        assert_eq!(
            as_json,
            serde_json::from_str::<Value>(expected).unwrap(),
            "{id}"
        );
    }
}

/// On-call's documents follow the template: every parameter in
/// docs/deploy.md, every alarm and saved query in docs/operations.md with the
/// runbook section its description points to.
#[test]
fn docs_cover_every_parameter_alarm_and_saved_query() {
    let template = source();
    let deploy = std::fs::read_to_string(repo_root().join("docs/deploy.md")).unwrap();
    for (name, _) in template["Parameters"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        assert!(
            deploy.contains(&format!("`{name}`")),
            "docs/deploy.md does not document parameter {name}"
        );
    }
    let ops = std::fs::read_to_string(repo_root().join("docs/operations.md")).unwrap();
    let anchors: BTreeSet<String> = ops
        .lines()
        .filter_map(|l| l.strip_prefix("### ").or_else(|| l.strip_prefix("## ")))
        .map(|h| {
            h.trim()
                .to_lowercase()
                .replace(' ', "-")
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == '-')
                .collect()
        })
        .collect();
    for (id, r) in resources() {
        match r["Type"].as_str() {
            Some("AWS::CloudWatch::Alarm") => {
                let description = r["Properties"]["AlarmDescription"]
                    .as_str()
                    .unwrap_or_default();
                let anchor = description
                    .split("docs/operations.md#")
                    .nth(1)
                    .and_then(|rest| rest.split(|c: char| c == '.' || c.is_whitespace()).next())
                    .unwrap_or_else(|| panic!("alarm {id} names no runbook section"));
                assert!(
                    anchors.contains(anchor),
                    "docs/operations.md has no section #{anchor} (alarm {id})"
                );
            }
            Some("AWS::Logs::QueryDefinition") => {
                let name = r["Properties"]["Name"]["Fn::Sub"]
                    .as_str()
                    .unwrap_or_default();
                let slug = name.rsplit('/').next().unwrap();
                assert!(
                    ops.contains(slug),
                    "docs/operations.md does not explain saved query {slug}"
                );
            }
            _ => {}
        }
    }
}

#[test]
fn the_openapi_document_describes_exactly_the_routes() {
    let doc: Value = serde_yaml::from_str(
        &std::fs::read_to_string(repo_root().join("docs/openapi.yaml")).unwrap(),
    )
    .unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let routes: BTreeSet<String> = Route::ALL.iter().map(|r| r.key()).collect();
    assert_eq!(documented, routes);
}
