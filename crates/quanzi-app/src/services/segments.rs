//! Segments: parse a JSON condition tree (errors point at the bad node), preview, save,
//! materialise, export.

use quanzi_domain::auth::{Role, Scope};
use quanzi_domain::ids::new_id_body;
use quanzi_domain::input::InvalidInput;
use quanzi_domain::members::EventType;
use quanzi_domain::segments::{Cmp, Condition, ProfileField, RfmDimension, TraitTest};
use quanzi_store::{Page, SegmentRow};
use serde_json::Value;

use crate::principal::Principal;
use crate::{App, Error, Result};

fn read(principal: &Principal) -> Result<()> {
    principal.require_console(Role::Analyst, Scope::Admin)
}

fn write(principal: &Principal) -> Result<()> {
    principal.require_console(Role::Operator, Scope::Admin)
}

/// Parses `value` (the `condition` field) into a checked tree.
pub fn parse_condition(value: &Value) -> Result<Condition> {
    let condition = parse(value, "condition", 0)?;
    condition
        .check_size()
        .map_err(|e| e.for_field("condition"))?;
    Ok(condition)
}

fn bad(path: impl AsRef<str>, message: impl Into<String>) -> InvalidInput {
    InvalidInput::new(path.as_ref(), message)
}

fn object<'a>(
    value: &'a Value,
    path: &str,
) -> std::result::Result<&'a serde_json::Map<String, Value>, InvalidInput> {
    value
        .as_object()
        .ok_or_else(|| bad(path, "must be an object"))
}

fn int(
    node: &serde_json::Map<String, Value>,
    key: &str,
    path: &str,
) -> std::result::Result<i64, InvalidInput> {
    node.get(key)
        .ok_or_else(|| bad(format!("{path}.{key}"), "is required"))?
        .as_i64()
        .ok_or_else(|| bad(format!("{path}.{key}"), "must be an integer"))
}

fn string<'a>(
    node: &'a serde_json::Map<String, Value>,
    key: &str,
    path: &str,
) -> std::result::Result<&'a str, InvalidInput> {
    node.get(key)
        .ok_or_else(|| bad(format!("{path}.{key}"), "is required"))?
        .as_str()
        .ok_or_else(|| bad(format!("{path}.{key}"), "must be a string"))
}

fn op(node: &serde_json::Map<String, Value>, path: &str) -> std::result::Result<Cmp, InvalidInput> {
    Cmp::parse(string(node, "op", path)?).map_err(|e| e.for_field(format!("{path}.op")))
}

/// Trait values compare as text; numbers are taken in their JSON spelling.
fn text_value(value: &Value, path: &str) -> std::result::Result<String, InvalidInput> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(bad(path, "must be a string or a number")),
    }
}

fn parse(value: &Value, path: &str, depth: usize) -> std::result::Result<Condition, InvalidInput> {
    let node = object(value, path)?;
    if node.len() != 1 {
        return Err(bad(path, "must have exactly one key: all, any, not, event, order, profile, rfm, lifecycle, trait, tag or consent"));
    }
    let (kind, body) = node.iter().next().expect("one key");
    let here = format!("{path}.{kind}");
    if depth > quanzi_domain::segments::MAX_DEPTH {
        return Err(bad(
            path,
            format!(
                "nests deeper than {} levels",
                quanzi_domain::segments::MAX_DEPTH
            ),
        ));
    }
    Ok(match kind.as_str() {
        "all" | "any" => {
            let items = body.as_array().ok_or_else(|| bad(&here, "must be a list of conditions"))?;
            let children = items
                .iter()
                .enumerate()
                .map(|(i, child)| parse(child, &format!("{here}[{i}]"), depth + 1))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            if kind == "all" { Condition::All(children) } else { Condition::Any(children) }
        }
        "not" => Condition::Not(Box::new(parse(body, &here, depth + 1)?)),
        "event" => {
            let b = object(body, &here)?;
            Condition::Events {
                event_type: EventType::parse(string(b, "type", &here)?).map_err(|e| e.for_field(format!("{here}.type")))?,
                within_days: Condition::check_window(int(b, "within_days", &here)?).map_err(|e| e.for_field(format!("{here}.within_days")))?,
                cmp: op(b, &here)?,
                count: int(b, "count", &here)?,
            }
        }
        "order" => {
            let b = object(body, &here)?;
            let within_days = match b.get("within_days") {
                None | Some(Value::Null) => None,
                Some(_) => Some(Condition::check_window(int(b, "within_days", &here)?).map_err(|e| e.for_field(format!("{here}.within_days")))?),
            };
            Condition::Orders { within_days, cmp: op(b, &here)?, count: int(b, "count", &here)? }
        }
        "profile" => {
            let b = object(body, &here)?;
            Condition::Profile {
                field: ProfileField::parse(string(b, "field", &here)?).map_err(|e| e.for_field(format!("{here}.field")))?,
                cmp: op(b, &here)?,
                value: int(b, "value", &here)?,
            }
        }
        "rfm" => {
            let b = object(body, &here)?;
            Condition::Rfm {
                dimension: RfmDimension::parse(string(b, "dimension", &here)?).map_err(|e| e.for_field(format!("{here}.dimension")))?,
                cmp: op(b, &here)?,
                value: int(b, "value", &here)?,
            }
        }
        "lifecycle" => {
            let b = object(body, &here)?;
            let stages = b.get("in").and_then(Value::as_array).ok_or_else(|| bad(format!("{here}.in"), "must be a list of stages"))?;
            Condition::Lifecycle(
                stages
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let field = format!("{here}.in[{i}]");
                        s.as_str().ok_or_else(|| bad(&field, "must be a string")).and_then(|s| Condition::parse_stage(s).map_err(|e| e.for_field(&field)))
                    })
                    .collect::<std::result::Result<Vec<_>, _>>()?,
            )
        }
        "trait" => {
            let b = object(body, &here)?;
            let name = Condition::check_trait_name(string(b, "name", &here)?).map_err(|e| e.for_field(format!("{here}.name")))?;
            let tests: Vec<&String> = b.keys().filter(|k| *k != "name").collect();
            if tests.len() != 1 {
                return Err(bad(&here, "needs `name` and exactly one of eq, ne, in, exists"));
            }
            let key = tests[0].as_str();
            let field = format!("{here}.{key}");
            let test = match key {
                "eq" => TraitTest::Equals(text_value(&b[key], &field)?),
                "ne" => TraitTest::NotEquals(text_value(&b[key], &field)?),
                "in" => TraitTest::OneOf(
                    b[key]
                        .as_array()
                        .ok_or_else(|| bad(&field, "must be a list"))?
                        .iter()
                        .enumerate()
                        .map(|(i, v)| text_value(v, &format!("{field}[{i}]")))
                        .collect::<std::result::Result<Vec<_>, _>>()?,
                ),
                "exists" if b[key] == Value::Bool(true) => TraitTest::Exists,
                "exists" => return Err(bad(&field, "must be true (use `not` for absence)")),
                _ => return Err(bad(&field, "is not a trait test: use eq, ne, in or exists")),
            };
            Condition::Trait { name, test }
        }
        "tag" => {
            let b = object(body, &here)?;
            let id = string(b, "id", &here)?;
            if !id.starts_with("tag_") || id.len() > 64 {
                return Err(bad(format!("{here}.id"), "must be a tag id (`tag_…`)"));
            }
            Condition::Tag(id.to_owned())
        }
        "consent" => {
            let b = object(body, &here)?;
            Condition::Consent(
                quanzi_domain::members::ConsentChannel::parse(string(b, "channel", &here)?).map_err(|e| e.for_field(format!("{here}.channel")))?,
            )
        }
        other => return Err(bad(path, format!("`{other}` is not a condition: use all, any, not, event, order, profile, rfm, lifecycle, trait, tag or consent"))),
    })
}

pub struct Preview {
    pub count: i64,
    /// Up to 20 matching member ids, in id order.
    pub sample: Vec<String>,
}

pub async fn preview(app: &App, principal: &Principal, condition: &Value) -> Result<Preview> {
    read(principal)?;
    let condition = parse_condition(condition)?;
    let now = app.clock.now();
    let (count, sample) = app
        .store
        .segment_preview(&principal.workspace_id, &condition, now, 20)
        .await?;
    Ok(Preview { count, sample })
}

/// Saves a segment and materialises it at once.
pub async fn create(
    app: &App,
    principal: &Principal,
    name: &str,
    condition: &Value,
) -> Result<SegmentRow> {
    write(principal)?;
    let name = quanzi_domain::input::DisplayName::parse(name)?;
    let parsed = parse_condition(condition)?;
    let now = app.clock.now();
    let row = SegmentRow {
        id: format!("seg_{}", new_id_body(now)),
        name: name.into_string(),
        definition: condition.to_string(),
        created_at: now,
        refreshed_at: None,
        member_count: None,
    };
    let mut tx = app.store.begin().await?;
    tx.insert_segment(&principal.workspace_id, &row)
        .await
        .map_err(Error::on_conflict(
            "segment_exists",
            format!("a segment named {} exists", row.name),
        ))?;
    tx.materialize_segment(&principal.workspace_id, &row.id, &parsed, now)
        .await?;
    tx.commit().await?;
    Ok(app.store.segment(&principal.workspace_id, &row.id).await?)
}

pub async fn get(app: &App, principal: &Principal, id: &str) -> Result<SegmentRow> {
    read(principal)?;
    app.store
        .segment(&principal.workspace_id, id)
        .await
        .map_err(Error::not_found("segment"))
}

pub async fn list(
    app: &App,
    principal: &Principal,
    after: Option<&str>,
    limit: u32,
) -> Result<Page<SegmentRow>> {
    read(principal)?;
    Ok(app
        .store
        .segments(&principal.workspace_id, after, limit)
        .await?)
}

/// Re-materialises a segment now.
pub async fn refresh(app: &App, principal: &Principal, id: &str) -> Result<SegmentRow> {
    write(principal)?;
    let segment = app
        .store
        .segment(&principal.workspace_id, id)
        .await
        .map_err(Error::not_found("segment"))?;
    refresh_stored(app, &principal.workspace_id, &segment).await?;
    Ok(app.store.segment(&principal.workspace_id, id).await?)
}

pub(crate) async fn refresh_stored(
    app: &App,
    workspace: &quanzi_domain::ids::WorkspaceId,
    segment: &SegmentRow,
) -> Result<i64> {
    let value: Value = serde_json::from_str(&segment.definition).map_err(|e| {
        Error::Internal(anyhow::anyhow!(
            "stored segment {} unreadable: {e}",
            segment.id
        ))
    })?;
    let condition = parse_condition(&value)?;
    let mut tx = app.store.begin().await?;
    let count = tx
        .materialize_segment(workspace, &segment.id, &condition, app.clock.now())
        .await?;
    tx.commit().await?;
    Ok(count)
}

/// The segment's members as CSV (`member_id,identities`), one page of up to 10,000 rows;
/// phones and emails are never exported (only their keyed hashes exist).
pub async fn export_csv(
    app: &App,
    principal: &Principal,
    id: &str,
    after: Option<&str>,
) -> Result<(String, Option<String>)> {
    read(principal)?;
    app.store
        .segment(&principal.workspace_id, id)
        .await
        .map_err(Error::not_found("segment"))?;
    let mut csv = String::from("member_id,identities\n");
    let page = app
        .store
        .segment_export_page(&principal.workspace_id, id, after, 10_000)
        .await?;
    for (member, identities) in &page.items {
        csv.push_str(member);
        csv.push(',');
        csv.push('"');
        csv.push_str(&identities.replace('"', "\"\""));
        csv.push_str("\"\n");
    }
    Ok((csv, page.next_cursor))
}

pub async fn of_member(app: &App, principal: &Principal, member: &str) -> Result<Vec<SegmentRow>> {
    read(principal)?;
    let member = super::members::find(app, principal, member).await?;
    Ok(app
        .store
        .member_segments(&principal.workspace_id, &member.id)
        .await?)
}
