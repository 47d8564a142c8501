//! `POST /auth/register` and `POST /auth/login`.

use http::StatusCode;
use lambda_http::Request;

use super::HandlerResult;
use crate::domain::accounts::{self, Credentials, NewAccount};
use crate::edge::request::{json_body, RequestMeta};
use crate::edge::response::no_store_json;
use crate::state::AppState;

pub async fn register(state: &AppState, meta: &RequestMeta, req: &Request) -> HandlerResult {
    accounts::registration_open(state)?;
    let account: NewAccount = json_body(req)?;
    let tokens = accounts::register(state, account, &meta.source_ip).await?;
    Ok(no_store_json(StatusCode::CREATED, &tokens))
}

pub async fn login(state: &AppState, meta: &RequestMeta, req: &Request) -> HandlerResult {
    let credentials: Credentials = json_body(req)?;
    let tokens = accounts::login(state, credentials, &meta.source_ip).await?;
    Ok(no_store_json(StatusCode::OK, &tokens))
}
