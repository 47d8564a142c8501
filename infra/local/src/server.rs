//! A small HTTP/1.1 server that turns each request into the same
//! `lambda_http::Request` API Gateway would deliver (with its request context
//! and source IP) and answers with `App::handle`, the code Lambda runs.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
use lambda_http::request::RequestContext;
use lambda_http::Body;
use tokio::net::TcpListener;
use voicegate::edge::request::MAX_BODY_BYTES;
use voicegate::App;

/// Reads at most one byte past the limit, so an oversized body is refused by
/// the app's own 413 without buffering all of it.
async fn read_capped(mut body: Incoming) -> Result<Vec<u8>, hyper::Error> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            out.extend_from_slice(&data);
            if out.len() > MAX_BODY_BYTES {
                out.truncate(MAX_BODY_BYTES + 1);
                break;
            }
        }
    }
    Ok(out)
}

fn to_lambda_request(
    parts: http::request::Parts,
    body: Vec<u8>,
    peer: SocketAddr,
) -> lambda_http::Request {
    let mut ctx = ApiGatewayV2httpRequestContext::default();
    ctx.request_id = Some(uuid::Uuid::new_v4().to_string());
    ctx.stage = Some("$default".into());
    ctx.route_key = Some(format!("{} {}", parts.method, parts.uri.path()));
    ctx.http.method = parts.method.clone();
    ctx.http.path = Some(parts.uri.path().to_owned());
    ctx.http.source_ip = Some(peer.ip().to_string());
    let body = if body.is_empty() {
        Body::Empty
    } else {
        match String::from_utf8(body) {
            Ok(text) => Body::Text(text),
            Err(e) => Body::Binary(e.into_bytes()),
        }
    };
    let mut req = http::Request::from_parts(parts, body);
    req.extensions_mut()
        .insert(RequestContext::ApiGatewayV2(ctx));
    req
}

fn to_hyper_response(resp: lambda_http::Response<Body>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = resp.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(t) => Bytes::from(t),
        Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}

/// Serves `app` on `listener` until `shutdown` resolves.
pub async fn serve(
    app: App,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(err) => {
                    tracing::warn!(event = "accept_failed", error = %err);
                    continue;
                }
            },
            _ = &mut shutdown => return,
        };
        let app = app.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: hyper::Request<Incoming>| {
                let app = app.clone();
                async move {
                    let (parts, body) = req.into_parts();
                    let body = read_capped(body).await?;
                    let resp = app.handle(to_lambda_request(parts, body, peer)).await;
                    Ok::<_, hyper::Error>(to_hyper_response(resp))
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
