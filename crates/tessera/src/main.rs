//! The `tessera` command: `tessera serve` runs the object store; the client commands copy to
//! and from any of the five dialects.
//!
//! This is the only place in Tessera that reads flags, the environment or configuration files,
//! and the only place that installs logging.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod client_cmd;
mod config;
mod keys;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use config::{Backend, LogFormat, ServeArgs, ServeConfig};
use tessera_engine::{Encryption, Engine, EngineConfig, IdSource, RandomSource};
use tessera_http::Routing;
use tessera_proto::ops::Principal;
use tessera_proto::values::Timestamp;
use tessera_server::{Listener, S3Config, S3Service, User, serve, tls_acceptor};
use tessera_sign::Secret;
use tessera_store::{MemoryStore, Store};
use tessera_store_fs::FsStore;

/// Tessera: an object store that speaks AWS S3, Huawei OBS, Tencent COS, Aliyun OSS and
/// Kingsoft KS3.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (filesystem backend in ./data on 127.0.0.1:9000 by default).
    Serve(Box<ServeArgs>),
    /// Copy a file to or from a bucket (local path <-> s3://bucket/key), or between buckets.
    Cp(Box<client_cmd::CpArgs>),
    /// List buckets, or the objects under s3://bucket[/prefix].
    Ls(Box<client_cmd::LsArgs>),
    /// Make a bucket: s3://bucket.
    Mb(Box<client_cmd::BucketArgs>),
    /// Remove an empty bucket: s3://bucket.
    Rb(Box<client_cmd::BucketArgs>),
    /// Remove an object: s3://bucket/key.
    Rm(Box<client_cmd::RmArgs>),
    /// Multipart uploads in progress: ls s3://bucket, abort s3://bucket/key UPLOAD_ID.
    Uploads(Box<client_cmd::UploadsArgs>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve_command(*args),
        Command::Cp(args) => client_cmd::cp(*args),
        Command::Ls(args) => client_cmd::ls(*args),
        Command::Mb(args) => client_cmd::mb(*args),
        Command::Rb(args) => client_cmd::rb(*args),
        Command::Rm(args) => client_cmd::rm(*args),
        Command::Uploads(args) => client_cmd::uploads(*args),
    }
}

fn serve_command(args: ServeArgs) -> ExitCode {
    let config = match ServeConfig::resolve(args, |buf| {
        // The OS random source; failing here would leave no safe key, so say so and stop.
        if let Err(e) = getrandom::fill(buf) {
            eprintln!("tessera: no random source for a development key: {e}");
            std::process::exit(1);
        }
    }) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("tessera serve: {e}");
            return ExitCode::from(2);
        }
    };
    install_logging(config.log_format);
    if config.generated_user {
        let user = &config.users[0];
        println!("tessera: no user configured; development key pair for this run:");
        println!("  access key: {}", user.access_key);
        println!("  secret key: {}", user.secret_key);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tessera serve: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tessera serve: {e}");
            ExitCode::FAILURE
        }
    }
}

fn install_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TESSERA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn run(config: ServeConfig) -> Result<(), String> {
    match config.backend.clone() {
        Backend::Memory => {
            tracing::info!("backend: memory (nothing survives this process)");
            let encryption = keys::load(config.kms_key_file.as_deref(), None)?;
            serve_store(MemoryStore::new(), encryption, config).await
        }
        Backend::Fs(dir) => {
            let store = FsStore::open(&dir).await.map_err(|e| format!("{}: {e}", dir.display()))?;
            tracing::info!(data = %dir.display(), "backend: filesystem");
            let encryption = keys::load(config.kms_key_file.as_deref(), Some(&dir))?;
            serve_store(store, encryption, config).await
        }
    }
}

/// Upload ids from the OS random source: 32 lower-case hex digits (unreserved characters only,
/// as KS3's SDK sends them unencoded).
struct RandomIds;

impl IdSource for RandomIds {
    fn next_upload_id(&self) -> String {
        let mut bytes = [0u8; 16];
        keys::OsRandom.fill(&mut bytes);
        hex::encode(bytes)
    }
}

fn now() -> Timestamp {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Timestamp::from_millis(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}

async fn serve_store<S: Store>(store: S, encryption: Encryption, config: ServeConfig) -> Result<(), String> {
    let kms = encryption.keys().kms_key_names();
    if !kms.is_empty() {
        tracing::info!(keys = ?kms, default = ?encryption.keys().default_kms_key(), "KMS master keys loaded");
    }
    let engine_config = EngineConfig {
        region: config.region.clone(),
        min_part_size: config.min_part_size.clone(),
        default_upload_expiry: config.upload_expiry_days.map(|d| Duration::from_secs(u64::from(d) * 86_400)),
        encryption: Some(encryption),
        ..EngineConfig::default()
    };
    let engine = Engine::open(Arc::new(store), engine_config, Box::new(RandomIds), now())
        .await
        .map_err(|e| format!("cannot open the store: {e}"))?;
    let users = config
        .users
        .iter()
        .map(|u| {
            let id = u.id.clone().unwrap_or_else(|| u.access_key.clone());
            let display_name = u.display_name.clone().unwrap_or_else(|| id.clone());
            User {
                access_key: u.access_key.clone(),
                secret: Secret::new(u.secret_key.clone()),
                principal: Principal::User { id, display_name },
            }
        })
        .collect();
    let mut seed = [0u8; 8];
    getrandom::fill(&mut seed).map_err(|e| format!("random source: {e}"))?;
    let service = Arc::new(S3Service::new(
        Arc::new(engine),
        S3Config { routing: Routing::new(&config.domains), users, instance_seed: u64::from_le_bytes(seed) },
    ));
    let tls = match &config.tls {
        Some((cert, key)) => Some(tls_acceptor(cert, key).map_err(|e| format!("TLS: {e}"))?),
        None => None,
    };
    let listener = Listener::bind(config.listen, tls).await.map_err(|e| format!("{}: {e}", config.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let scheme = if listener.is_tls() { "https" } else { "http" };
    println!("tessera: serving {scheme}://{addr} (dialects: aws obs cos oss ks3)");
    let timers = service.spawn_timers();
    let result = serve(listener, Arc::clone(&service), shutdown_signal()).await;
    timers.abort();
    result.map_err(|e| e.to_string())
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
