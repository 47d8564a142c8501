//! The HTTP edge: the one request path shared by every Lambda and the local
//! API (request id,
//! CORS, route match, handler, problem+json for errors, one log line.

use std::sync::Arc;
use std::time::Instant;

use http::header::{HeaderName, HeaderValue};
use http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use tracing::Instrument;

use crate::adapters::aws_calls::{self, Access};
use crate::edge::error::ApiError;
use crate::edge::functions::Function;
use crate::edge::request::RequestMeta;
use crate::edge::response::{empty_response, oauth_error_response, problem_response};
use crate::state::AppState;

pub mod error;
pub mod functions;
pub mod handlers;
pub mod request;
pub mod response;
pub mod routes;

pub use routes::Route;

/// Holds a request's AWS calls against what its route declares (and its
/// function's IAM policy grants). An undeclared call is logged; in debug
/// builds (every test) the request also fails, so a route can never call
/// more than it declares without a test noticing.
fn check_declared(route: Route, calls: &[Access]) -> Result<(), ApiError> {
    let Some(undeclared) = calls.iter().find(|c| !route.needs().contains(c)) else {
        return Ok(());
    };
    tracing::error!(
        event = "undeclared_aws_call",
        route = route.path(),
        access = undeclared.iam_action(),
        detail = ?undeclared
    );
    if cfg!(debug_assertions) {
        return Err(ApiError::internal(format!(
            "{} called {undeclared:?}, which it does not declare",
            route.path()
        )));
    }
    Ok(())
}

/// A set of routes bound to the state they run with.
#[derive(Clone)]
pub struct App {
    state: Arc<AppState>,
    routes: Arc<[Route]>,
    dispatch: handlers::Dispatch,
}

const EXPOSED_HEADERS: &str = "x-request-id, retry-after, www-authenticate";
const ALLOWED_HEADERS: &str = "authorization, content-type, x-request-id";

impl App {
    /// Serves `routes` (the local API and tests: any of them, from one process).
    pub fn new(state: Arc<AppState>, routes: &[Route]) -> Self {
        Self {
            state,
            routes: routes.into(),
            dispatch: functions::every_route,
        }
    }

    /// Serves one Lambda function's routes, linking only their handlers.
    pub fn function(state: Arc<AppState>, function: &Function) -> Self {
        Self {
            state,
            routes: function.routes.into(),
            dispatch: function.dispatch,
        }
    }

    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Handles one request; never fails (errors become problem+json).
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let started = Instant::now();
        let meta = RequestMeta::of(&req);
        let span = tracing::info_span!("request", request_id = %meta.request_id);
        async move {
            let method = req.method().clone();
            // A trailing slash is the same route.
            let path = req.uri().path().trim_end_matches('/').to_owned();
            let path = if path.is_empty() { "/".to_owned() } else { path };
            let origin = req.headers().get(http::header::ORIGIN).cloned();
            let matched = self
                .routes
                .iter()
                .find_map(|r| r.capture(&path).map(|args| (*r, args)));
            let route = matched.as_ref().map(|(r, _)| *r);
            let args = matched.map(|(_, a)| a).unwrap_or_default();
            let mut aws = aws_calls::Recorded::default();

            let (route_name, result) = match route {
                Some(_) if method == Method::OPTIONS => ("preflight", Ok(empty_response(StatusCode::NO_CONTENT))),
                Some(r) if r.method() == method => {
                    let handler = (self.dispatch)(&self.state, r, &args, &meta, req);
                    let (result, calls) = aws_calls::recorded(handler).await;
                    aws = calls;
                    (r.path(), check_declared(r, &aws.accesses).and(result))
                }
                Some(r) => (r.path(), Err(ApiError::NotFound)),
                None => ("unmatched", Err(ApiError::NotFound)),
            };
            let mut code = None;
            let mut resp = match result {
                Ok(resp) => resp,
                Err(err) => {
                    if let Some(cause) = err.cause() {
                        tracing::error!(event = "request_failed", route = route_name, code = err.code(), cause = %cause);
                    }
                    code = Some(err.code());
                    if route.is_some_and(Route::speaks_oauth) {
                        oauth_error_response(&err)
                    } else {
                        problem_response(&err, &meta.request_id)
                    }
                }
            };
            let status = resp.status().as_u16();
            let headers = resp.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&meta.request_id) {
                headers.insert(HeaderName::from_static("x-request-id"), v);
            }
            self.add_cors(headers, origin.as_ref(), method == Method::OPTIONS);
            tracing::info!(
                event = "request",
                method = %method,
                route = route_name,
                status,
                outcome = if status < 400 { "success" } else { "failure" },
                code = code.unwrap_or(""),
                aws_calls = aws.round_trips.len(),
                aws_ops = aws.round_trips.join(" "),
                latency_ms = started.elapsed().as_millis() as u64,
            );
            resp
        }
        .instrument(span)
        .await
    }

    fn add_cors(
        &self,
        headers: &mut http::HeaderMap,
        origin: Option<&HeaderValue>,
        preflight: bool,
    ) {
        let Some(origin) = origin else { return };
        let allowed = &self.state.config.cors_allowed_origins;
        let any = allowed.iter().any(|o| o == "*");
        let matches = origin
            .to_str()
            .is_ok_and(|o| allowed.iter().any(|a| a == o));
        if !any && !matches {
            return;
        }
        let allow_origin = if any {
            HeaderValue::from_static("*")
        } else {
            origin.clone()
        };
        headers.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
        headers.insert(http::header::VARY, HeaderValue::from_static("origin"));
        headers.insert(
            http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
        if preflight {
            headers.insert(
                http::header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
            );
            headers.insert(
                http::header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(ALLOWED_HEADERS),
            );
            headers.insert(
                http::header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
    }
}
