//! Local stand-ins for APNs and FCM that speak their documented protocols
//! and check what the real ones check: there is no open-source APNs or FCM
//! server.
//!
//! - APNs: HTTP/2 only (prior knowledge on loopback), `POST /3/device/{token}`
//!   with a provider token (an ES256 JWT whose signature is verified against
//!   the test key, `kid` and `iss` checked), `apns-topic`, `apns-push-type`,
//!   `apns-priority`, an optional `apns-collapse-id` of at most 64 bytes, a
//!   JSON payload of at most 4 KiB with `aps`. Errors are Apple's:
//!   `{"reason": ...}` with 400 `BadDeviceToken`, 403 `InvalidProviderToken`,
//!   410 `Unregistered`, 429 `TooManyRequests`.
//! - FCM: an OAuth2 token endpoint taking the service account's RS256
//!   assertion (signature, `iss`, `aud`, `scope` checked) and
//!   `POST /v1/projects/{project}/messages:send` with the bearer token it
//!   issued; errors are Google's, `UNREGISTERED` in the details.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _,
    RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

pub const KEY_ID: &str = "KEYID12345";
pub const TEAM_ID: &str = "TEAMID1234";
pub const TOPIC: &str = "org.example.ciel";
pub const PROJECT: &str = "ciel-test";
pub const CLIENT_EMAIL: &str = "push@ciel-test.iam.gserviceaccount.com";

fn pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

/// Splits and verifies a JWT; returns its header and claims.
fn verify_jwt(
    token: &str,
    algorithm: &'static dyn aws_lc_rs::signature::VerificationAlgorithm,
    public: &[u8],
) -> Result<(Value, Value), &'static str> {
    let (input, signature) = token.rsplit_once('.').ok_or("not a JWT")?;
    let (header, claims) = input.split_once('.').ok_or("not a JWT")?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| "bad base64")?;
    UnparsedPublicKey::new(algorithm, public)
        .verify(input.as_bytes(), &signature)
        .map_err(|_| "bad signature")?;
    let decode = |part: &str| -> Result<Value, &'static str> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).map_err(|_| "bad base64")?)
            .map_err(|_| "bad JSON")
    };
    Ok((decode(header)?, decode(claims)?))
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Serves `router` on loopback, HTTP/1.1 and HTTP/2 by prior knowledge.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let service = hyper_util::service::TowerToHyperService::new(router.clone());
            tokio::spawn(async move {
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
            });
        }
    });
    format!("http://{addr}")
}

/// One push APNs accepted.
#[derive(Debug, Clone)]
pub struct ApnsReceived {
    pub device_token: String,
    pub collapse_id: Option<String>,
    pub payload: Value,
    pub raw: String,
    pub jwt: String,
}

#[derive(Default)]
struct ApnsState {
    received: Vec<ApnsReceived>,
    /// Tokens answered 410 Unregistered.
    unregistered: HashSet<String>,
    /// Scripted answers, used before anything else: (status, reason).
    script: VecDeque<(u16, &'static str)>,
    /// Every request, accepted or not.
    requests: usize,
    /// Provider tokens APNs has seen.
    jwts: HashSet<String>,
}

#[derive(Clone)]
pub struct ApnsServer {
    pub url: String,
    /// The `.p8` contents.
    pub key_pem: String,
    state: Arc<Mutex<ApnsState>>,
}

struct ApnsShared {
    public: Vec<u8>,
    state: Arc<Mutex<ApnsState>>,
}

fn apns_error(status: u16, reason: &str) -> Response {
    let mut body = json!({ "reason": reason });
    if status == 410 {
        body["timestamp"] = json!(now() * 1000);
    }
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

async fn apns_push(
    State(shared): State<Arc<ApnsShared>>,
    Path(device_token): Path<String>,
    request: Request,
) -> Response {
    let version = request.version();
    let headers = request.headers().clone();
    let body = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    shared.state.lock().unwrap().requests += 1;
    if version != Version::HTTP_2 {
        // Apple closes HTTP/1 connections; a test server says why.
        return apns_error(400, "HTTP2Required");
    }
    match check_apns(&shared, &device_token, &headers, &body) {
        Err((status, reason)) => apns_error(status, reason),
        Ok(received) => {
            let mut state = shared.state.lock().unwrap();
            if let Some((status, reason)) = state.script.pop_front() {
                return apns_error(status, reason);
            }
            if state.unregistered.contains(&device_token) {
                return apns_error(410, "Unregistered");
            }
            state.jwts.insert(received.jwt.clone());
            state.received.push(received);
            let mut response = StatusCode::OK.into_response();
            response
                .headers_mut()
                .insert("apns-id", uuid::Uuid::new_v4().to_string().parse().unwrap());
            response
        }
    }
}

fn check_apns(
    shared: &ApnsShared,
    device_token: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<ApnsReceived, (u16, &'static str)> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let jwt = header("authorization")
        .and_then(|v| v.strip_prefix("bearer "))
        .ok_or((403, "MissingProviderToken"))?;
    let (jwt_header, claims) = verify_jwt(jwt, &ECDSA_P256_SHA256_FIXED, &shared.public)
        .map_err(|_| (403, "InvalidProviderToken"))?;
    if jwt_header["alg"] != "ES256" || jwt_header["kid"] != KEY_ID || claims["iss"] != TEAM_ID {
        return Err((403, "InvalidProviderToken"));
    }
    let iat = claims["iat"]
        .as_i64()
        .ok_or((403, "InvalidProviderToken"))?;
    if now() - iat > 3600 || iat - now() > 60 {
        return Err((403, "ExpiredProviderToken"));
    }
    if device_token.len() < 64 || !device_token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err((400, "BadDeviceToken"));
    }
    match header("apns-topic") {
        None => return Err((400, "MissingTopic")),
        Some(topic) if topic != TOPIC => return Err((400, "TopicDisallowed")),
        _ => {}
    }
    if !matches!(header("apns-push-type"), Some("alert" | "background")) {
        return Err((400, "InvalidPushType"));
    }
    if !matches!(header("apns-priority"), None | Some("5" | "10")) {
        return Err((400, "BadPriority"));
    }
    let collapse_id = header("apns-collapse-id").map(str::to_string);
    if collapse_id.as_ref().is_some_and(|c| c.len() > 64) {
        return Err((400, "BadCollapseId"));
    }
    if header("apns-expiration").is_some_and(|e| e.parse::<i64>().is_err()) {
        return Err((400, "BadExpirationDate"));
    }
    if body.is_empty() {
        return Err((400, "PayloadEmpty"));
    }
    if body.len() > 4096 {
        return Err((413, "PayloadTooLarge"));
    }
    let payload: Value = serde_json::from_slice(body).map_err(|_| (400, "BadMessageId"))?;
    if !payload["aps"].is_object() {
        return Err((400, "PayloadEmpty"));
    }
    Ok(ApnsReceived {
        device_token: device_token.to_string(),
        collapse_id,
        payload,
        raw: String::from_utf8_lossy(body).into_owned(),
        jwt: jwt.to_string(),
    })
}

impl ApnsServer {
    pub async fn start() -> Self {
        let der =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der.as_ref()).unwrap();
        let state = Arc::new(Mutex::new(ApnsState::default()));
        let shared = Arc::new(ApnsShared {
            public: pair.public_key().as_ref().to_vec(),
            state: state.clone(),
        });
        let router = Router::new()
            .route("/3/device/{token}", post(apns_push))
            .with_state(shared);
        ApnsServer {
            url: serve(router).await,
            key_pem: pem(der.as_ref()),
            state,
        }
    }

    /// The worker's variables for this server (both environments on it).
    pub fn env(&self, env: &mut HashMap<&'static str, String>) {
        env.insert("PUSH_APNS_KEY", self.key_pem.clone());
        env.insert("PUSH_APNS_KEY_ID", KEY_ID.into());
        env.insert("PUSH_APNS_TEAM_ID", TEAM_ID.into());
        env.insert("PUSH_APNS_TOPIC", TOPIC.into());
        env.insert("PUSH_APNS_PRODUCTION_URL", self.url.clone());
        env.insert("PUSH_APNS_SANDBOX_URL", self.url.clone());
    }

    pub fn received(&self) -> Vec<ApnsReceived> {
        self.state.lock().unwrap().received.clone()
    }

    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }

    pub fn provider_tokens(&self) -> usize {
        self.state.lock().unwrap().jwts.len()
    }

    pub fn unregister(&self, token: &str) {
        self.state
            .lock()
            .unwrap()
            .unregistered
            .insert(token.to_string());
    }

    /// The next answers, before any check of the token.
    pub fn script(&self, status: u16, reason: &'static str) {
        self.state
            .lock()
            .unwrap()
            .script
            .push_back((status, reason));
    }
}

/// One message FCM accepted.
#[derive(Debug, Clone)]
pub struct FcmReceived {
    pub message: Value,
    pub raw: String,
}

#[derive(Default)]
struct FcmState {
    issued: HashSet<String>,
    grants: usize,
    received: Vec<FcmReceived>,
    unregistered: HashSet<String>,
    /// Scripted answers to sends: (status, Retry-After seconds).
    script: VecDeque<(u16, Option<u64>)>,
}

struct FcmShared {
    public: Vec<u8>,
    token_url: String,
    state: Arc<Mutex<FcmState>>,
}

#[derive(Clone)]
pub struct FcmServer {
    pub url: String,
    pub service_account: String,
    state: Arc<Mutex<FcmState>>,
}

fn google_error(status: u16, name: &str, error_code: Option<&str>, message: &str) -> Response {
    let mut error = json!({ "code": status, "message": message, "status": name });
    if let Some(code) = error_code {
        error["details"] = json!([{
            "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
            "errorCode": code,
        }]);
    }
    (
        StatusCode::from_u16(status).unwrap(),
        axum::Json(json!({ "error": error })),
    )
        .into_response()
}

async fn fcm_token(State(shared): State<Arc<FcmShared>>, body: String) -> Response {
    let form: HashMap<String, String> = body
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%3A", ":")))
        .collect();
    let invalid = |description: &str| {
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({ "error": "invalid_grant", "error_description": description })),
        )
            .into_response()
    };
    if form.get("grant_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return invalid("unsupported grant_type");
    }
    let Some(assertion) = form.get("assertion") else {
        return invalid("no assertion");
    };
    let Ok((header, claims)) = verify_jwt(assertion, &RSA_PKCS1_2048_8192_SHA256, &shared.public)
    else {
        return invalid("Invalid JWT Signature.");
    };
    if header["alg"] != "RS256"
        || claims["iss"] != CLIENT_EMAIL
        || claims["aud"] != shared.token_url.as_str()
        || claims["scope"] != "https://www.googleapis.com/auth/firebase.messaging"
        || claims["exp"].as_i64().is_none_or(|exp| exp < now())
    {
        return invalid("Invalid JWT claims.");
    }
    let token = format!("ya29.{}", uuid::Uuid::new_v4().simple());
    let mut state = shared.state.lock().unwrap();
    state.grants += 1;
    state.issued.insert(token.clone());
    axum::Json(json!({ "access_token": token, "expires_in": 3599, "token_type": "Bearer" }))
        .into_response()
}

async fn fcm_send(
    State(shared): State<Arc<FcmShared>>,
    Path((project, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if project != PROJECT || action != "messages:send" {
        return google_error(404, "NOT_FOUND", None, "no such project");
    }
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let mut state = shared.state.lock().unwrap();
    if !bearer.is_some_and(|t| state.issued.contains(t)) {
        return google_error(
            401,
            "UNAUTHENTICATED",
            None,
            "Request had invalid authentication credentials.",
        );
    }
    let Ok(message) = serde_json::from_str::<Value>(&body) else {
        return google_error(
            400,
            "INVALID_ARGUMENT",
            Some("INVALID_ARGUMENT"),
            "bad JSON",
        );
    };
    let Some(token) = message["message"]["token"].as_str() else {
        return google_error(
            400,
            "INVALID_ARGUMENT",
            Some("INVALID_ARGUMENT"),
            "no target",
        );
    };
    if let Some((status, retry_after)) = state.script.pop_front() {
        let mut response = google_error(status, "UNAVAILABLE", Some("QUOTA_EXCEEDED"), "scripted");
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert("retry-after", secs.to_string().parse().unwrap());
        }
        return response;
    }
    if state.unregistered.contains(token) {
        return google_error(
            404,
            "NOT_FOUND",
            Some("UNREGISTERED"),
            "Requested entity was not found.",
        );
    }
    state.received.push(FcmReceived {
        message: message["message"].clone(),
        raw: body.clone(),
    });
    axum::Json(json!({ "name": format!("projects/{PROJECT}/messages/{}", uuid::Uuid::new_v4()) }))
        .into_response()
}

impl FcmServer {
    pub async fn start() -> Self {
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let der = AsDer::<Pkcs8V1Der>::as_der(&pair).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(FcmState::default()));
        let token_url = format!("{url}/token");
        let shared = Arc::new(FcmShared {
            public: pair.public_key().as_ref().to_vec(),
            token_url: token_url.clone(),
            state: state.clone(),
        });
        let router = Router::new()
            .route("/token", post(fcm_token))
            .route("/v1/projects/{project}/{action}", post(fcm_send))
            .with_state(shared);
        tokio::spawn(async move { axum::serve(listener, router).await });
        let service_account = json!({
            "type": "service_account",
            "project_id": PROJECT,
            "private_key_id": "0123456789abcdef",
            "private_key": pem(der.as_ref()),
            "client_email": CLIENT_EMAIL,
            "token_uri": token_url,
        })
        .to_string();
        FcmServer {
            url,
            service_account,
            state,
        }
    }

    pub fn env(&self, env: &mut HashMap<&'static str, String>) {
        env.insert("PUSH_FCM_SERVICE_ACCOUNT", self.service_account.clone());
        env.insert("PUSH_FCM_URL", self.url.clone());
    }

    pub fn received(&self) -> Vec<FcmReceived> {
        self.state.lock().unwrap().received.clone()
    }

    pub fn grants(&self) -> usize {
        self.state.lock().unwrap().grants
    }

    pub fn unregister(&self, token: &str) {
        self.state
            .lock()
            .unwrap()
            .unregistered
            .insert(token.to_string());
    }

    pub fn script(&self, status: u16, retry_after: Option<u64>) {
        self.state
            .lock()
            .unwrap()
            .script
            .push_back((status, retry_after));
    }
}
