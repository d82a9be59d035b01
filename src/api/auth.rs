//! `/auth/*`: first-run setup, registration, login and logout, the caller's own
//! account and API keys; and `/api/users`, where administrators manage accounts.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ApiJson, ApiResult, Code};
use super::extract::{AdminCaller, AuthVia, Caller, ClientIp};
use super::guard::{REMEMBER_COOKIE, SESSION_COOKIE, cookie, set_cookie};
use crate::api::AppState;
use crate::auth::{AccountError, clock::rfc3339};
use crate::store::UserRecord;

/// The contract's user object.
fn user_json(u: &UserRecord) -> Value {
    json!({
        "id": u.id,
        "username": u.username,
        "email": u.email,
        "is_admin": u.is_admin,
        "created_at": rfc3339(u.created_at),
    })
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid(m) => ApiError::bad_request(m),
            AccountError::Taken(_) => ApiError::new(Code::Conflict, e.to_string()),
            AccountError::SetupDone => ApiError::forbidden(e.to_string()),
            AccountError::Internal(cause) => ApiError::internal(format!("{cause:#}")),
        }
    }
}

/// Runs blocking account work (password hashing, database) off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, ApiError> + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(ApiError::internal)?
}

fn limited(secs: u64) -> ApiError {
    let mut e = ApiError::new(Code::RateLimited, format!("too many attempts; retry in {secs} s"));
    e.retry_after = Some(secs);
    e
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    username: String,
    password: String,
    email: Option<String>,
    /// Only an administrator may create another administrator.
    #[serde(default)]
    is_admin: bool,
}

/// `GET /auth/setup`: whether the first admin still has to be created.
pub async fn setup_status(State(state): State<AppState>) -> ApiResult<ApiJson<Value>> {
    let n = state.store.user_count().map_err(ApiError::internal)?;
    Ok(ApiJson(json!({ "needed": n == 0 })))
}

/// `POST /auth/setup`: creates the first admin while no user exists, and logs in.
pub async fn setup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<NewUserBody>,
) -> ApiResult<Response> {
    state.auth.limits.check_login(&body.username, ip).map_err(limited)?;
    let st = state.clone();
    let (user, login) = blocking(move || {
        let u = st.auth.setup_first_admin(&body.username, &body.password, body.email.as_deref())?;
        let login = st.auth.login(u.id, false).map_err(ApiError::internal)?;
        Ok((u, login))
    })
    .await?;
    tracing::info!(user = %user.username, "first administrator created");
    let cookie = set_cookie(&state, SESSION_COOKIE, &login.token, None);
    Ok((StatusCode::CREATED, [(header::SET_COOKIE, cookie)], ApiJson(user_json(&user))).into_response())
}

/// `POST /auth/register`: admins create users; anyone may when `auth.open_registration`.
pub async fn register(
    State(state): State<AppState>,
    caller: Option<Caller>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<NewUserBody>,
) -> ApiResult<(StatusCode, ApiJson<Value>)> {
    let admin = caller.as_ref().is_some_and(|c| c.is_admin && !c.is_stream_token());
    if !admin {
        if !state.config.auth.open_registration {
            return Err(match caller {
                None => ApiError::unauthorized("only an administrator may create accounts"),
                Some(_) => ApiError::forbidden("only an administrator may create accounts"),
            });
        }
        if body.is_admin {
            return Err(ApiError::forbidden("only an administrator may create an administrator"));
        }
        state.auth.limits.check_login(&body.username, ip).map_err(limited)?;
    }
    let st = state.clone();
    let user = blocking(move || {
        Ok(st.auth.create_user(&body.username, &body.password, body.email.as_deref(), body.is_admin)?)
    })
    .await?;
    tracing::info!(user = %user.username, admin = user.is_admin, "user created");
    Ok((StatusCode::CREATED, ApiJson(user_json(&user))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    username: String,
    password: String,
    #[serde(default)]
    remember_me: bool,
}

/// `POST /auth/login`: sets `session`, and `remember` when asked.
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<Response> {
    state.auth.limits.check_login(&body.username, ip).map_err(limited)?;
    let st = state.clone();
    let (user, login) = blocking(move || {
        let Some(u) = st.auth.check_password(&body.username, &body.password).map_err(ApiError::internal)? else {
            tracing::info!(user = %body.username.chars().take(64).collect::<String>(), %ip, "failed login");
            return Err(ApiError::unauthorized("wrong username or password"));
        };
        let login = st.auth.login(u.id, body.remember_me).map_err(ApiError::internal)?;
        Ok((u, login))
    })
    .await?;
    let mut resp = ApiJson(user_json(&user)).into_response();
    let h = resp.headers_mut();
    h.append(header::SET_COOKIE, set_cookie(&state, SESSION_COOKIE, &login.token, None));
    if let Some(r) = &login.remember {
        let age = state.config.auth.remember_days * 86_400;
        h.append(header::SET_COOKIE, set_cookie(&state, REMEMBER_COOKIE, r, Some(age)));
    }
    Ok(resp)
}

/// `POST /auth/logout`: destroys the session and its remember-me series.
pub async fn logout(State(state): State<AppState>, caller: Caller, headers: HeaderMap) -> ApiResult<Response> {
    let session = match &caller.via {
        AuthVia::Session { token_hash } => Some(token_hash.clone()),
        _ => None,
    };
    let remember = cookie(&headers, REMEMBER_COOKIE).map(str::to_string);
    let st = state.clone();
    blocking(move || st.auth.logout(session.as_deref(), remember.as_deref()).map_err(ApiError::internal)).await?;
    let mut resp = ApiJson(json!({ "message": "logged out" })).into_response();
    let h = resp.headers_mut();
    h.append(header::SET_COOKIE, set_cookie(&state, SESSION_COOKIE, "", Some(0)));
    h.append(header::SET_COOKIE, set_cookie(&state, REMEMBER_COOKIE, "", Some(0)));
    Ok(resp)
}

/// `GET /auth/me`. Administrators also get `auth_bypass` (`{localhost, subnets}`),
/// so the web UI's settings page can warn while a bypass is on.
pub async fn me(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Value>> {
    let mut v = match caller.user_id {
        Some(id) => {
            let u = state.store.user(id).map_err(ApiError::internal)?;
            let u = u.ok_or_else(|| ApiError::unauthorized("the account is gone"))?;
            user_json(&u)
        }
        // A bypassed address: the box's local administrator, with no account.
        None => json!({
            "id": null, "username": "local", "email": null, "is_admin": caller.is_admin, "created_at": null,
        }),
    };
    if caller.is_admin {
        let a = &state.config.auth;
        v["auth_bypass"] = json!({ "localhost": a.bypass_localhost, "subnets": a.bypass_subnets });
    }
    Ok(ApiJson(v))
}

fn account_of(caller: &Caller) -> ApiResult<i64> {
    caller.user_id.ok_or_else(|| {
        ApiError::bad_request(
            "the local administrator has no account; log in as a user (or use `swarmcast apikey create`)",
        )
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    current_password: String,
    new_password: String,
}

/// `PATCH /auth/password`: changes the caller's password and ends their other sessions.
pub async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<PasswordBody>,
) -> ApiResult<ApiJson<Value>> {
    let id = account_of(&caller)?;
    let keep = match &caller.via {
        AuthVia::Session { token_hash } => Some(token_hash.clone()),
        _ => None,
    };
    let st = state.clone();
    blocking(move || {
        let u = st
            .store
            .user(id)
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::unauthorized("the account is gone"))?;
        if !crate::auth::password::verify(&body.current_password, Some(&u.password_hash)) {
            return Err(ApiError::forbidden("the current password is wrong"));
        }
        Ok(st.auth.set_password(id, &body.new_password, keep.as_deref())?)
    })
    .await?;
    Ok(ApiJson(json!({ "message": "password changed; other sessions ended" })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyBody {
    name: String,
    expires_days: Option<u32>,
}

fn key_json(k: &crate::store::ApiKeyRecord) -> Value {
    json!({
        "prefix": k.prefix,
        "name": k.name,
        "created_at": rfc3339(k.created_at),
        "expires_at": k.expires_at.map(rfc3339),
        "last_used_at": k.last_used_at.map(rfc3339),
    })
}

/// `POST /auth/api-keys`: the key is in the answer, once.
pub async fn create_api_key(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ApiKeyBody>,
) -> ApiResult<(StatusCode, ApiJson<Value>)> {
    let id = account_of(&caller)?;
    if caller.is_stream_token() {
        return Err(ApiError::forbidden("a stream token cannot create API keys"));
    }
    let st = state.clone();
    let k = blocking(move || Ok(st.auth.create_api_key(id, &body.name, body.expires_days)?)).await?;
    let mut v = key_json(&k.record);
    v["api_key"] = json!(k.key);
    Ok((StatusCode::CREATED, ApiJson(v)))
}

/// `GET /auth/api-keys`: the caller's keys, never the keys themselves.
pub async fn list_api_keys(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Vec<Value>>> {
    let id = account_of(&caller)?;
    let keys = state.store.api_keys(Some(id)).map_err(ApiError::internal)?;
    Ok(ApiJson(keys.iter().map(key_json).collect()))
}

/// `DELETE /auth/api-keys/{prefix}`: the caller's own key; an admin's, any key.
pub async fn revoke_api_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(prefix): Path<String>,
) -> ApiResult<ApiJson<Value>> {
    let owner = if caller.is_admin { None } else { Some(account_of(&caller)?) };
    if !state.store.delete_api_key(&prefix, owner).map_err(ApiError::internal)? {
        return Err(ApiError::not_found(format!("no API key with prefix {prefix:?}")));
    }
    Ok(ApiJson(json!({ "message": "API key revoked" })))
}

// --- /api/users: administrators manage accounts ---

/// `GET /api/users`.
pub async fn list_users(State(state): State<AppState>, _admin: AdminCaller) -> ApiResult<ApiJson<Vec<Value>>> {
    let users = state.store.users().map_err(ApiError::internal)?;
    Ok(ApiJson(users.iter().map(user_json).collect()))
}

fn user_id_param(id: &str) -> ApiResult<i64> {
    id.parse().map_err(|_| ApiError::not_found(format!("no user {id:?}")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    password: Option<String>,
    is_admin: Option<bool>,
}

/// `PATCH /api/users/{id}`: set a password (ending all of the user's sessions, stream
/// tokens and API keys) or
/// the admin flag. The last administrator cannot be demoted.
pub async fn patch_user(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UserPatch>,
) -> ApiResult<ApiJson<Value>> {
    let id = user_id_param(&id)?;
    let st = state.clone();
    let u = blocking(move || {
        let u = st
            .store
            .user(id)
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found(format!("no user {id}")))?;
        if body.is_admin == Some(false) && u.is_admin && st.store.admin_count().map_err(ApiError::internal)? <= 1 {
            return Err(ApiError::bad_request("this is the last administrator"));
        }
        if let Some(pw) = &body.password {
            st.auth.reset_password(id, pw)?;
        }
        if let Some(a) = body.is_admin {
            st.store.set_user_admin(id, a).map_err(ApiError::internal)?;
        }
        st.store.user(id).map_err(ApiError::internal)?.ok_or_else(|| ApiError::not_found(format!("no user {id}")))
    })
    .await?;
    Ok(ApiJson(user_json(&u)))
}

/// `DELETE /api/users/{id}`: with the user's sessions and API keys. Their torrents stay.
pub async fn delete_user(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<Value>> {
    let id = user_id_param(&id)?;
    let u = state
        .store
        .user(id)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("no user {id}")))?;
    if u.is_admin && state.store.admin_count().map_err(ApiError::internal)? <= 1 {
        return Err(ApiError::bad_request("this is the last administrator"));
    }
    state.store.delete_user(id).map_err(ApiError::internal)?;
    Ok(ApiJson(json!({ "message": format!("user {} deleted", u.username) })))
}
