//! Creates the table and secrets in the local emulator from the very
//! definitions template.yaml deploys, so the local stage cannot drift from
//! production's key schema, indexes or TTL attribute.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_secretsmanager::operation::create_secret::CreateSecretError;
use serde_json::{json, Map, Value};
use serde_yaml::Value as Yaml;

/// template.yaml, embedded at build time.
pub const TEMPLATE: &str = include_str!("../../../template.yaml");

pub type Error = Box<dyn std::error::Error + Send + Sync>;

fn resource<'a>(template: &'a Yaml, logical_id: &str) -> Result<&'a Yaml, Error> {
    template
        .get("Resources")
        .and_then(|r| r.get(logical_id))
        .and_then(|r| r.get("Properties"))
        .ok_or_else(|| format!("template.yaml has no Resources.{logical_id}.Properties").into())
}

fn text<'a>(v: &'a Yaml, key: &str) -> Result<&'a str, Error> {
    v.get(key)
        .and_then(Yaml::as_str)
        .ok_or_else(|| format!("template.yaml: `{key}` missing or not text").into())
}

fn key_schema(v: &Yaml) -> Result<Vec<KeySchemaElement>, Error> {
    let list = v
        .get("KeySchema")
        .and_then(Yaml::as_sequence)
        .ok_or("template.yaml: KeySchema missing")?;
    list.iter()
        .map(|k| {
            Ok(KeySchemaElement::builder()
                .attribute_name(text(k, "AttributeName")?)
                .key_type(KeyType::from(text(k, "KeyType")?))
                .build()?)
        })
        .collect()
}

/// The table definition of `Resources.Table`, as the DynamoDB API wants it.
pub struct TableDefinition {
    attributes: Vec<AttributeDefinition>,
    keys: Vec<KeySchemaElement>,
    indexes: Vec<GlobalSecondaryIndex>,
    ttl_attribute: Option<String>,
}

impl TableDefinition {
    pub fn from_template(template: &str) -> Result<Self, Error> {
        let doc: Yaml = serde_yaml::from_str(template)?;
        let props = resource(&doc, "Table")?;
        let attributes = props
            .get("AttributeDefinitions")
            .and_then(Yaml::as_sequence)
            .ok_or("template.yaml: AttributeDefinitions missing")?
            .iter()
            .map(|a| {
                Ok(AttributeDefinition::builder()
                    .attribute_name(text(a, "AttributeName")?)
                    .attribute_type(ScalarAttributeType::from(text(a, "AttributeType")?))
                    .build()?)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let indexes = props
            .get("GlobalSecondaryIndexes")
            .and_then(Yaml::as_sequence)
            .map(|list| {
                list.iter()
                    .map(|g| {
                        let projection = g
                            .get("Projection")
                            .ok_or("template.yaml: GSI without Projection")?;
                        Ok(GlobalSecondaryIndex::builder()
                            .index_name(text(g, "IndexName")?)
                            .set_key_schema(Some(key_schema(g)?))
                            .projection(
                                Projection::builder()
                                    .projection_type(ProjectionType::from(text(
                                        projection,
                                        "ProjectionType",
                                    )?))
                                    .build(),
                            )
                            .build()?)
                    })
                    .collect::<Result<Vec<_>, Error>>()
            })
            .transpose()?
            .unwrap_or_default();
        let ttl_attribute = props
            .get("TimeToLiveSpecification")
            .filter(|t| t.get("Enabled").and_then(Yaml::as_bool) == Some(true))
            .map(|t| text(t, "AttributeName").map(str::to_owned))
            .transpose()?;
        Ok(Self {
            attributes,
            keys: key_schema(props)?,
            indexes,
            ttl_attribute,
        })
    }

    /// Creates the table unless it exists, then turns TTL on.
    pub async fn ensure(&self, client: &aws_sdk_dynamodb::Client, name: &str) -> Result<(), Error> {
        let exists = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .is_ok();
        if exists {
            return Ok(());
        }
        client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(self.attributes.clone()))
            .set_key_schema(Some(self.keys.clone()))
            .set_global_secondary_indexes((!self.indexes.is_empty()).then(|| self.indexes.clone()))
            .send()
            .await?;
        if let Some(attr) = &self.ttl_attribute {
            client
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(attr)
                        .enabled(true)
                        .build()?,
                )
                .send()
                .await?;
        }
        Ok(())
    }
}

/// A secret's value following the template's `GenerateSecretString`: its
/// `SecretStringTemplate` (with `${Param}` filled from `params`) plus a random
/// alphanumeric `GenerateStringKey` of `PasswordLength` characters.
pub fn generated_secret(
    template: &str,
    logical_id: &str,
    params: &[(&str, &str)],
) -> Result<String, Error> {
    let doc: Yaml = serde_yaml::from_str(template)?;
    let gen = resource(&doc, logical_id)?
        .get("GenerateSecretString")
        .ok_or_else(|| format!("template.yaml: {logical_id} has no GenerateSecretString"))?;
    // `!Sub '...'` parses as a tagged value; its inner string is the template text.
    let raw_template = match gen.get("SecretStringTemplate") {
        Some(Yaml::Tagged(t)) => t.value.as_str().map(str::to_owned),
        Some(v) => v.as_str().map(str::to_owned),
        None => Some("{}".to_owned()),
    }
    .ok_or("template.yaml: SecretStringTemplate is not text")?;
    let filled = params.iter().fold(raw_template, |acc, (k, v)| {
        acc.replace(&format!("${{{k}}}"), v)
    });
    let mut value: Map<String, Value> = serde_json::from_str(&filled)?;
    let key = text(gen, "GenerateStringKey")?;
    let length = gen
        .get("PasswordLength")
        .and_then(Yaml::as_u64)
        .unwrap_or(32) as usize;
    value.insert(key.to_owned(), json!(random_alphanumeric(length)));
    Ok(Value::Object(value).to_string())
}

fn random_alphanumeric(len: usize) -> String {
    // Two UUIDv4s per 32 hex chars: the OS CSPRNG, without another dependency.
    let mut out = String::new();
    while out.len() < len {
        out.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    out.truncate(len);
    out
}

/// Creates a secret with `value` unless one by that name exists.
pub async fn ensure_secret(
    client: &aws_sdk_secretsmanager::Client,
    name: &str,
    value: &str,
) -> Result<(), Error> {
    match client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(CreateSecretError::ResourceExistsException(_))
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_deployed_table_definition() {
        let def = TableDefinition::from_template(TEMPLATE).unwrap();
        let names: Vec<_> = def.attributes.iter().map(|a| a.attribute_name()).collect();
        assert_eq!(names, ["pk", "sk", "gsi1pk", "gsi1sk"]);
        assert_eq!(def.indexes[0].index_name(), "gsi1");
        assert_eq!(def.ttl_attribute.as_deref(), Some("ttl"));
    }

    #[test]
    fn generates_secrets_like_cloudformation() {
        let app: Value =
            serde_json::from_str(&generated_secret(TEMPLATE, "AppSecret", &[]).unwrap()).unwrap();
        assert_eq!(app["signing_kid"], "k1");
        assert_eq!(app["seed"].as_str().unwrap().len(), 64);
        let lk: Value =
            serde_json::from_str(&generated_secret(TEMPLATE, "LiveKitSecret", &[]).unwrap())
                .unwrap();
        assert_eq!(lk["api_key"], "voicegate");
        assert_eq!(lk["api_secret"].as_str().unwrap().len(), 48);
    }
}
