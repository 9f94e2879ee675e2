//! WHIP (RFC 9725) and WHEP endpoints: a standard WHIP publisher (OBS, GStreamer's
//! `whip-client`, aiortc, a browser) brings a stream into a Confab room, and a WHEP player
//! watches one, without speaking Confab's signaling.
//!
//! | request | does |
//! | --- | --- |
//! | `POST /whip/ROOM[?name=NAME]`, body: SDP offer | publishes; `201 Created`, `Location` of the session, body: SDP answer |
//! | `POST /whep/ROOM[?name=NAME]`, body: SDP offer | watches the room's featured publisher (see `room::streams`) |
//! | `PATCH` the session, `application/trickle-ice-sdpfrag` | adds trickled candidates; `204` |
//! | `DELETE` the session | leaves; `200` |
//! | `OPTIONS` any of these | `204` with `Accept-Post: application/sdp` and CORS permissions |
//!
//! Browsers' WHIP/WHEP clients run on pages of other origins, so every answer allows any origin
//! (`Access-Control-Allow-Origin: *`, which never carries cookies: the bearer token is the only
//! credential) and exposes `Location`.
//!
//! Every request carries `Authorization: Bearer TOKEN`, where TOKEN is the room's join token
//! (the `token=` of its `confab://` link). Answers carry every candidate (no trickle from this
//! side); ICE restarts by PATCH are refused with `422` (publish again instead). Refusals carry
//! a sentence saying what to do.

use crate::connection::{valid_name, AppState};
use crate::room::{StreamError, StreamJoiner, StreamRole};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use axum::Router;
use confab_core::RoomName;
use confab_signal::whip::sdpfrag::{self, MAX_FRAGMENT_BYTES};
use serde::Deserialize;

/// Largest offer accepted; real offers are a few kilobytes.
const MAX_OFFER_BYTES: usize = 64 * 1024;
const SDP: &str = "application/sdp";
const SDP_FRAGMENT: &str = "application/trickle-ice-sdpfrag";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/whip/{room}",
            post(|state, room, query, headers, offer| {
                join(state, room, query, headers, offer, StreamRole::Publish)
            })
            .options(preflight),
        )
        .route(
            "/whep/{room}",
            post(|state, room, query, headers, offer| {
                join(state, room, query, headers, offer, StreamRole::Watch)
            })
            .options(preflight),
        )
        .route(
            "/whip/{room}/{resource}",
            patch(trickle).delete(end).options(preflight),
        )
        .route(
            "/whep/{room}/{resource}",
            patch(trickle).delete(end).options(preflight),
        )
        .layer(DefaultBodyLimit::max(MAX_OFFER_BYTES.max(MAX_FRAGMENT_BYTES)))
        .layer(map_response(allow_any_origin))
}

async fn allow_any_origin(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Location, Link, ETag, Accept-Post"),
    );
    response
}

/// Why a request was refused, as a status and a sentence.
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = (self.0, self.1).into_response();
        if self.0 == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<StreamError> for Refusal {
    fn from(e: StreamError) -> Self {
        let status = match e {
            StreamError::RoomFull => StatusCode::SERVICE_UNAVAILABLE,
            StreamError::BadOffer(_) => StatusCode::BAD_REQUEST,
            StreamError::MediaFailed => StatusCode::INTERNAL_SERVER_ERROR,
            StreamError::NotFound => StatusCode::NOT_FOUND,
            StreamError::IceRestart => StatusCode::UNPROCESSABLE_ENTITY,
        };
        Refusal(status, e.to_string())
    }
}

#[derive(Deserialize)]
struct JoinQuery {
    name: Option<String>,
}

/// The room named in the path, if the request's bearer token admits to it.
fn admitted(state: &AppState, room: &str, headers: &HeaderMap) -> Result<RoomName, Refusal> {
    let room = RoomName::new(room)
        .map_err(|e| Refusal(StatusCode::NOT_FOUND, format!("that is not a room name: {e}")))?;
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match token {
        Some(token) if state.secret.admits(&room, token) => Ok(room),
        Some(_) => Err(Refusal(
            StatusCode::UNAUTHORIZED,
            "this token is not valid for this room; use the token of the room's confab:// link".into(),
        )),
        None => Err(Refusal(
            StatusCode::UNAUTHORIZED,
            "send the room's join token (the token= of its confab:// link) as a Bearer token".into(),
        )),
    }
}

fn require_content_type(headers: &HeaderMap, expected: &str) -> Result<(), Refusal> {
    let given = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    if given.is_some_and(|g| g.eq_ignore_ascii_case(expected)) {
        Ok(())
    } else {
        Err(Refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("send the body as Content-Type: {expected}"),
        ))
    }
}

async fn join(
    State(state): State<AppState>,
    Path(room): Path<String>,
    Query(query): Query<JoinQuery>,
    headers: HeaderMap,
    offer: String,
    role: StreamRole,
) -> Result<Response, Refusal> {
    let room = admitted(&state, &room, &headers)?;
    require_content_type(&headers, SDP)?;
    let default_name = match role {
        StreamRole::Publish => "WHIP stream",
        StreamRole::Watch => "WHEP viewer",
    };
    let name = match query.name {
        None => default_name.to_owned(),
        Some(name) => valid_name(&name).ok_or_else(|| {
            Refusal(
                StatusCode::BAD_REQUEST,
                "the name must be 1 to 64 printable characters".into(),
            )
        })?,
    };
    if !offer.trim_start().starts_with("v=0") {
        return Err(Refusal(
            StatusCode::BAD_REQUEST,
            "the body is not an SDP offer (it must start with v=0)".into(),
        ));
    }
    let joined = state
        .rooms
        .stream_join(room.clone(), StreamJoiner { role, name, offer })
        .await?;
    let location = format!("/{}/{room}/{}", role.protocol(), joined.resource);
    Ok((
        StatusCode::CREATED,
        [
            (header::LOCATION, location),
            (header::CONTENT_TYPE, SDP.to_owned()),
        ],
        joined.answer,
    )
        .into_response())
}

async fn trickle(
    State(state): State<AppState>,
    Path((room, resource)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> Result<StatusCode, Refusal> {
    let room = admitted(&state, &room, &headers)?;
    require_content_type(&headers, SDP_FRAGMENT)?;
    let fragment = sdpfrag::parse(&body).map_err(|e| Refusal(StatusCode::BAD_REQUEST, e.to_string()))?;
    state
        .rooms
        .stream_candidates(&room, resource, fragment.ufrag, fragment.candidates)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn end(
    State(state): State<AppState>,
    Path((room, resource)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, Refusal> {
    let room = admitted(&state, &room, &headers)?;
    state.rooms.stream_leave(&room, resource).await?;
    Ok(StatusCode::OK)
}

/// What an `OPTIONS` request learns: offers are SDP, and which requests a page may send.
async fn preflight() -> impl IntoResponse {
    (
        StatusCode::NO_CONTENT,
        [
            (header::HeaderName::from_static("accept-post"), SDP),
            (
                header::ACCESS_CONTROL_ALLOW_METHODS,
                "POST, PATCH, DELETE, OPTIONS",
            ),
            (
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "Authorization, Content-Type, If-Match",
            ),
            (header::ACCESS_CONTROL_MAX_AGE, "600"),
        ],
    )
}
