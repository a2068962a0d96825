//! `GET /api/v1/admin/backup`: a consistent copy of the whole database, taken in one read
//! transaction and streamed while the server keeps serving (votes go on being committed). For
//! the platform admin, or for `yishi backup` run on the server's own machine with the token the
//! server keeps in its data directory (`backup.token`, readable by its user only).

use std::path::{Path, PathBuf};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use super::extract::MaybeSignedIn;
use super::{ApiError, AppState};
use crate::store::backup;

/// The file in the data directory that holds the backup token.
pub const TOKEN_FILE: &str = "backup.token";
/// Header carrying the SHA-256 (hex) of the streamed copy, so the client can check it arrived
/// whole.
pub const SHA256_HEADER: &str = "x-yishi-backup-sha256";
/// Bytes read from the copy per streamed chunk.
const CHUNK: usize = 256 * 1024;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/backup", get(take_backup))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(take_backup))]
pub struct BackupApi;

/// Creates the backup token in `data_dir` if there is none (a read-only directory has none:
/// then only the admin's session can take a backup).
pub fn ensure_token(data_dir: &Path) {
    let path = data_dir.join(TOKEN_FILE);
    if path.exists() {
        return;
    }
    let token = hex::encode(rand::random::<[u8; 32]>());
    let written = (|| -> std::io::Result<()> {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path)?;
        file.write_all(token.as_bytes())?;
        file.sync_all()
    })();
    if let Err(error) = written {
        tracing::warn!(%error, path = %path.display(), "no backup token written; only the platform admin can take backups");
    }
}

/// Whether `Authorization: Bearer` carries the data directory's backup token.
fn has_backup_token(headers: &HeaderMap, data_dir: &Path) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let Ok(token) = std::fs::read_to_string(data_dir.join(TOKEN_FILE)) else {
        return false;
    };
    let token = token.trim();
    // Compared as digests, so the time taken says nothing about the token.
    !token.is_empty() && Sha256::digest(given.trim()) == Sha256::digest(token)
}

#[utoipa::path(get, path = "/admin/backup",
    responses(
        (status = 200, description = "A copy of the whole database as one redb file (`yishi serve --data-dir` runs on it; `yishi restore` puts it in place). Header `x-yishi-backup-sha256` holds its SHA-256.", content_type = "application/octet-stream"),
        (status = 401, description = "Neither the backup token nor a session"),
        (status = 403, description = "Signed in, but not the platform admin"),
        (status = 503, description = "No room to write the copy (`storage_full`)"),
    ))]
async fn take_backup(
    State(state): State<AppState>,
    MaybeSignedIn(caller): MaybeSignedIn,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let data_dir = state.config.store.data_dir.clone();
    if !has_backup_token(&headers, &data_dir) {
        match caller {
            None => return Err(ApiError::Unauthenticated),
            Some(c) if !c.account.is_admin => {
                return Err(ApiError::Forbidden(
                    "only the platform admin may take a backup".into(),
                ));
            }
            Some(_) => {}
        }
    }
    let store = state.store.clone();
    let (file, length, sha256) = tokio::task::spawn_blocking(move || write_copy(&store, &data_dir))
        .await
        .map_err(|_| ApiError::Internal("the backup task stopped".into()))??;
    let file = tokio::fs::File::from_std(file);
    let stream = futures_util::stream::unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt;
        let mut chunk = vec![0u8; CHUNK];
        match file.read(&mut chunk).await {
            Ok(0) => None,
            Ok(n) => {
                chunk.truncate(n);
                Some((Ok::<_, std::io::Error>(chunk), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    let name = format!(
        "attachment; filename=\"yishi-backup-{}.redb\"",
        crate::clock::now().strftime("%Y%m%dT%H%M%SZ")
    );
    let mut response = Body::from_stream(stream).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if let Ok(v) = HeaderValue::from_str(&name) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&sha256) {
        h.insert(SHA256_HEADER, v);
    }
    Ok(response)
}

/// Writes the copy next to the database (or in the temporary directory when the data
/// directory takes no files), opens it and unlinks it: the open file is what is streamed.
fn write_copy(
    store: &crate::store::Store,
    data_dir: &Path,
) -> Result<(std::fs::File, u64, String), ApiError> {
    let name = format!(".backup-{}.redb", uuid::Uuid::new_v4().simple());
    let mut last = None;
    for dir in [data_dir.to_owned(), std::env::temp_dir()] {
        let path: PathBuf = dir.join(&name);
        let taken = backup::snapshot(store, &path, pause);
        match taken {
            Ok(summary) => {
                let opened = (|| -> std::io::Result<_> {
                    use std::io::{Read, Seek};
                    let mut file = std::fs::File::open(&path)?;
                    let mut hasher = Sha256::new();
                    let mut buffer = vec![0u8; CHUNK];
                    let mut length = 0u64;
                    loop {
                        let n = file.read(&mut buffer)?;
                        if n == 0 {
                            break;
                        }
                        hasher.update(&buffer[..n]);
                        length += n as u64;
                    }
                    file.rewind()?;
                    Ok((file, length, hex::encode(hasher.finalize())))
                })();
                let _ = std::fs::remove_file(&path);
                tracing::info!(%summary, "backup taken");
                return opened.map_err(|e| ApiError::Internal(e.to_string()));
            }
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                last = Some(e);
            }
        }
    }
    Err(last.map_or_else(|| ApiError::Internal("no backup".into()), ApiError::from))
}

/// Test builds only: holds the snapshot open for `FAULT_BACKUP_PAUSE_MS`, so a test can
/// show votes being acknowledged while a backup is under way.
fn pause() {
    #[cfg(feature = "faults")]
    if let Some(ms) = std::env::var("FAULT_BACKUP_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}
