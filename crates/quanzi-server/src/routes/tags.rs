use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use quanzi_app::services::tags;
use quanzi_store::{MemberTagRow, TagRow};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::{ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::middleware::auth::Caller;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTagGroupRequest {
    /// e.g. `口味偏好`.
    pub name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTagRequest {
    pub group_id: String,
    pub name: String,
    /// A segment condition: members who match carry the tag (re-evaluated daily).
    #[schema(value_type = Option<Object>)]
    pub rule: Option<Value>,
}

#[derive(Serialize, ToSchema)]
pub struct TagResponse {
    /// `tag_…`
    pub id: String,
    pub group_id: String,
    pub name: String,
    #[schema(value_type = Option<Object>)]
    pub rule: Option<Value>,
    pub created_at: String,
    pub refreshed_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TagGroupResponse {
    /// `tgg_…`
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub tags: Vec<TagResponse>,
}

#[derive(Serialize, ToSchema)]
pub struct TagGroupList {
    pub items: Vec<TagGroupResponse>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagMemberRequest {
    pub tag_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct MemberTagResponse {
    pub tag: TagResponse,
    /// `manual` or `rule`.
    pub source: String,
    pub at: String,
}

#[derive(Serialize, ToSchema)]
pub struct MemberTagList {
    pub items: Vec<MemberTagResponse>,
}

fn tag_response(t: TagRow) -> TagResponse {
    TagResponse {
        id: t.id,
        group_id: t.group_id,
        name: t.name,
        rule: t.rule.and_then(|r| serde_json::from_str(&r).ok()),
        created_at: t.created_at.to_rfc3339(),
        refreshed_at: t.refreshed_at.map(|x| x.to_rfc3339()),
    }
}

fn member_tags(rows: Vec<MemberTagRow>) -> MemberTagList {
    MemberTagList {
        items: rows
            .into_iter()
            .map(|r| MemberTagResponse {
                tag: tag_response(r.tag),
                source: r.source,
                at: r.at.to_rfc3339(),
            })
            .collect(),
    }
}

#[utoipa::path(post, path = "/api/v1/tag-groups", tag = "tags", request_body = CreateTagGroupRequest,
    responses((status = 201, body = TagGroupResponse), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn create_group(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateTagGroupRequest>,
) -> ApiResult<(StatusCode, Json<TagGroupResponse>)> {
    let g = tags::create_group(&state.app, &caller, &body.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(TagGroupResponse {
            id: g.id,
            name: g.name,
            created_at: g.created_at.to_rfc3339(),
            tags: Vec::new(),
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/tag-groups", tag = "tags",
    responses((status = 200, body = TagGroupList)), security(("bearer" = []), ("session" = [])))]
pub async fn list_groups(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<TagGroupList>> {
    let groups = tags::groups(&state.app, &caller).await?;
    Ok(Json(TagGroupList {
        items: groups
            .into_iter()
            .map(|(g, t)| TagGroupResponse {
                id: g.id,
                name: g.name,
                created_at: g.created_at.to_rfc3339(),
                tags: t.into_iter().map(tag_response).collect(),
            })
            .collect(),
    }))
}

/// Creates a tag; with a `rule`, matching members carry it from now on.
#[utoipa::path(post, path = "/api/v1/tags", tag = "tags", request_body = CreateTagRequest,
    responses((status = 201, body = TagResponse), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn create_tag(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateTagRequest>,
) -> ApiResult<(StatusCode, Json<TagResponse>)> {
    let t = tags::create_tag(
        &state.app,
        &caller,
        &body.group_id,
        &body.name,
        body.rule.as_ref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(tag_response(t))))
}

#[utoipa::path(get, path = "/api/v1/members/{id}/tags", tag = "tags", params(("id" = String, Path, description = "mem_…")),
    responses((status = 200, body = MemberTagList), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn of_member(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<MemberTagList>> {
    Ok(Json(member_tags(
        tags::of_member(&state.app, &caller, &id).await?,
    )))
}

/// Tags a member by hand (a rule will not take it away).
#[utoipa::path(post, path = "/api/v1/members/{id}/tags", tag = "tags", request_body = TagMemberRequest, params(("id" = String, Path, description = "mem_…")),
    responses((status = 200, body = MemberTagList), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn tag_member(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TagMemberRequest>,
) -> ApiResult<Json<MemberTagList>> {
    Ok(Json(member_tags(
        tags::tag_member(&state.app, &caller, &id, &body.tag_id).await?,
    )))
}

#[utoipa::path(delete, path = "/api/v1/members/{id}/tags/{tag_id}", tag = "tags",
    params(("id" = String, Path, description = "mem_…"), ("tag_id" = String, Path, description = "tag_…")),
    responses((status = 200, body = MemberTagList), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn untag_member(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((id, tag_id)): Path<(String, String)>,
) -> ApiResult<Json<MemberTagList>> {
    Ok(Json(member_tags(
        tags::untag_member(&state.app, &caller, &id, &tag_id).await?,
    )))
}

pub fn router(_state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/tag-groups", get(list_groups).post(create_group))
        .route("/api/v1/tags", post(create_tag))
        .route("/api/v1/members/{id}/tags", get(of_member).post(tag_member))
        .route("/api/v1/members/{id}/tags/{tag_id}", delete(untag_member))
}
