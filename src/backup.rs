//! `yishi backup` and `yishi restore`, run by an operator (or cron) on the server's machine.
//! A backup asks the running server for a snapshot (`GET /api/v1/admin/backup` with the token
//! from the data directory), or, when no server holds the database, copies it directly; either
//! way the copy is one consistent snapshot, checked before it is kept. A restore checks the copy
//! and puts it in place of a stopped server's database, keeping the file it replaces.

use std::io::Write;
use std::path::{Path, PathBuf};

use http_body_util::BodyExt;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::http::backup::{SHA256_HEADER, TOKEN_FILE};
use crate::store::backup::{Summary, check, snapshot};
use crate::store::{Store, StoreError};

/// `yishi backup --to FILE`: returns what to print.
pub fn backup(
    config: &Config,
    to: &Path,
    server: Option<&str>,
    force: bool,
) -> Result<String, String> {
    if to.exists() && !force {
        return Err(format!(
            "{} already exists; choose another name or pass --force to replace it",
            to.display()
        ));
    }
    let database = config.database_path();
    if !database.is_file() {
        return Err(format!("there is no database at {}", database.display()));
    }
    let partial = partial_path(to);
    let _ = std::fs::remove_file(&partial);
    let taken = match Store::open(&database, config.store.cache_mib << 20) {
        Ok(store) => {
            let summary = snapshot(&store, &partial, || {}).map_err(|e| e.to_string());
            summary.map(|s| (s, "directly (no server was running)".to_owned()))
        }
        Err(StoreError::Database(redb::Error::DatabaseAlreadyOpen)) => {
            let url = match server {
                Some(url) => url.to_owned(),
                None => local_url(config)?,
            };
            from_server(config, &url, &partial).map(|s| (s, format!("from the server at {url}")))
        }
        Err(e) => Err(format!("cannot open {}: {e}", database.display())),
    };
    let (summary, how) = match taken {
        Ok(taken) => taken,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, to).map_err(|e| format!("cannot write {}: {e}", to.display()))?;
    sync_dir(to);
    let bytes = std::fs::metadata(to).map(|m| m.len()).unwrap_or(0);
    Ok(format!(
        "backup written to {} ({bytes} bytes, taken {how}): {summary}",
        to.display()
    ))
}

/// `yishi restore FILE`: returns what to print.
pub fn restore(config: &Config, from: &Path, force: bool) -> Result<String, String> {
    let summary =
        check(from).map_err(|e| format!("{} is not a usable backup: {e}", from.display()))?;
    let target = config.database_path();
    let mut kept = None;
    if target.exists() {
        if !force {
            return Err(format!(
                "{} already holds a database; stop the server and pass --force to replace it (the old file is kept beside it)",
                target.display()
            ));
        }
        // The server must not be running on it.
        if let Err(redb::DatabaseError::DatabaseAlreadyOpen) =
            redb::Database::builder().open(&target)
        {
            return Err(format!(
                "the database {} is in use (is `yishi serve` running?); stop the server first",
                target.display()
            ));
        }
        let aside = target.with_extension(format!(
            "redb.before-restore-{}",
            crate::clock::now().strftime("%Y%m%dT%H%M%SZ")
        ));
        std::fs::rename(&target, &aside)
            .map_err(|e| format!("cannot move {} aside: {e}", target.display()))?;
        kept = Some(aside);
    }
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let incoming = partial_path(&target);
    std::fs::copy(from, &incoming)
        .and_then(|_| std::fs::File::open(&incoming)?.sync_all())
        .map_err(|e| format!("cannot copy into {}: {e}", incoming.display()))?;
    std::fs::rename(&incoming, &target)
        .map_err(|e| format!("cannot put {} in place: {e}", target.display()))?;
    sync_dir(&target);
    let mut out = format!(
        "restored {} into {}: {summary}",
        from.display(),
        target.display()
    );
    if let Some(aside) = kept {
        out.push_str(&format!(
            "\nthe replaced database is kept as {}",
            aside.display()
        ));
    }
    Ok(out)
}

fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

/// Makes a rename durable.
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(dir) = std::fs::File::open(dir)
    {
        let _ = dir.sync_all();
    }
}

/// The server's own address, as seen from its machine (a wildcard listen address means
/// loopback).
fn local_url(config: &Config) -> Result<String, String> {
    let mut address = config.server.listen;
    if address.port() == 0 {
        return Err(
            "the server listens on a port of its choosing (`server.listen` port 0): give its address with --server"
                .into(),
        );
    }
    if address.ip().is_unspecified() {
        address.set_ip(if address.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    Ok(format!("http://{address}"))
}

/// Streams the running server's snapshot into `to` and checks it.
fn from_server(config: &Config, url: &str, to: &Path) -> Result<Summary, String> {
    let token_path = config.store.data_dir.join(TOKEN_FILE);
    let token = std::fs::read_to_string(&token_path).map_err(|e| {
        format!(
            "cannot read the backup token {}: {e} (run `yishi backup` as the user that runs `yishi serve`)",
            token_path.display()
        )
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let expected = runtime.block_on(download(url, token.trim(), to))?;
    let mut file = std::fs::File::open(to).map_err(|e| e.to_string())?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let n = std::io::Read::read(&mut file, &mut buffer).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    if hex::encode(hasher.finalize()) != expected {
        return Err("the copy did not arrive whole (its SHA-256 differs); try again".into());
    }
    check(to).map_err(|e| format!("the copy from the server does not check: {e}"))
}

/// GETs the backup into `to`; returns the SHA-256 the server announced.
async fn download(url: &str, token: &str, to: &Path) -> Result<String, String> {
    let uri: hyper::Uri = format!("{}/api/v1/admin/backup", url.trim_end_matches('/'))
        .parse()
        .map_err(|e| format!("--server {url}: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!(
            "--server {url}: give the server's plain http:// address on this machine"
        ));
    }
    let authority = uri.authority().cloned().ok_or("--server needs a host")?;
    let stream = tokio::net::TcpStream::connect(authority.as_str())
        .await
        .map_err(|e| format!("cannot reach the server at {url}: {e}"))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let request = hyper::Request::get(uri.path())
        .header(hyper::header::HOST, authority.as_str())
        .header(hyper::header::AUTHORIZATION, format!("Bearer {token}"))
        .body(http_body_util::Empty::<hyper::body::Bytes>::new())
        .map_err(|e| e.to_string())?;
    let mut response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("the server did not answer: {e}"))?;
    if !response.status().is_success() {
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
            .unwrap_or_default();
        return Err(format!("the server refused the backup: {status} {body}"));
    }
    let expected = response
        .headers()
        .get(SHA256_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut file = std::fs::File::create(to).map_err(|e| format!("{}: {e}", to.display()))?;
    while let Some(frame) = response.body_mut().frame().await {
        let frame = frame.map_err(|e| format!("the transfer broke off: {e}"))?;
        if let Ok(data) = frame.into_data() {
            file.write_all(&data)
                .map_err(|e| format!("{}: {e}", to.display()))?;
        }
    }
    file.sync_all()
        .map_err(|e| format!("{}: {e}", to.display()))?;
    Ok(expected)
}
