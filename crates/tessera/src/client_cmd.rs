//! The client commands: `tessera cp`, `ls`, `mb`, `rb`, `rm`, `uploads ls|abort`.
//!
//! This module reads the flags, the environment and the credential files; everything that
//! talks to a service is `tessera-client`'s.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, Subcommand};
use tessera_client::{
    Addressing, Checksums, Client, ClientConfig, ClientError, CopySource, Credentials, DownloadOptions, Downloader,
    Limits, PartSize, Resume, UploadOptions, Uploader,
};
use tessera_proto::{Dialect, UploadId};

/// Exit codes, as documented in every client command's `--help`.
const EXIT_HELP: &str = "\
Exit codes:
  0  success
  1  the service refused the operation; stderr starts with the S3 error code
     (`tessera cp: NoSuchBucket: ...`)
  2  usage or configuration error (arguments, endpoint, credentials)
  3  the service could not be reached or did not answer in time (after retries)
  4  a local file could not be read or written
  5  an integrity check failed (ETag, CRC-64, CRC-32C or size mismatch)

Credentials, first found wins: --access-key/--secret-key; TESSERA_ACCESS_KEY/TESSERA_SECRET_KEY;
the vendor's variables (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, OBS_ACCESS_KEY_ID/
OBS_SECRET_ACCESS_KEY, COS_SECRET_ID/COS_SECRET_KEY, OSS_ACCESS_KEY_ID/OSS_ACCESS_KEY_SECRET,
KS3_ACCESS_KEY/KS3_SECRET_KEY); a profile file (aws: AWS_SHARED_CREDENTIALS_FILE or
~/.aws/credentials, section AWS_PROFILE or default; others: TESSERA_CREDENTIALS_FILE or
~/.tessera/credentials, section --profile, else the dialect's name, else default; keys
access_key/secret_key or aws_access_key_id/aws_secret_access_key).";

/// Where and how to connect: shared by every client command.
#[derive(Debug, Args)]
pub(crate) struct Connection {
    /// The dialect to speak.
    #[arg(long, env = "TESSERA_DIALECT", default_value = "aws", value_parser = parse_dialect)]
    dialect: Dialect,
    /// The service's URL.
    #[arg(long, env = "TESSERA_ENDPOINT", default_value = "http://127.0.0.1:9000")]
    endpoint: String,
    /// Signing region (default: the dialect's usual one).
    #[arg(long, env = "TESSERA_REGION")]
    region: Option<String>,
    /// Access key (with --secret-key).
    #[arg(long, requires = "secret_key")]
    access_key: Option<String>,
    /// Secret key (with --access-key).
    #[arg(long, requires = "access_key")]
    secret_key: Option<String>,
    /// Profile (section) of the credentials file.
    #[arg(long)]
    profile: Option<String>,
    /// Send requests unsigned when no credentials are found.
    #[arg(long)]
    anonymous: bool,
    /// Address buckets as virtual hosts under DOMAIN (default: path style; COS always uses
    /// virtual hosts).
    #[arg(long, value_name = "DOMAIN")]
    virtual_host: Option<String>,
    /// Also trust the CA certificates in this PEM file.
    #[arg(long, value_name = "PEM")]
    ca_cert: Option<PathBuf>,
    /// Accept any TLS certificate (local test servers only).
    #[arg(long)]
    insecure: bool,
    /// Attempts per request, the first included.
    #[arg(long, default_value_t = 5)]
    attempts: u32,
}

/// `tessera cp`.
#[derive(Debug, Args)]
#[command(after_help = EXIT_HELP)]
pub(crate) struct CpArgs {
    /// A local path or s3://bucket/key.
    src: String,
    /// A local path (a directory keeps the key's name) or s3://bucket/key (a key ending in
    /// `/` takes the file's name).
    dst: String,
    #[command(flatten)]
    conn: Connection,
    /// Part size in bytes (suffixes K, M, G: powers of 1024), or `auto`.
    #[arg(long, default_value = "auto", value_parser = parse_part_size)]
    part_size: PartSize,
    /// Parts transferred at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// End-to-end checksums: auto (CRC-64 where the dialect has it, CRC-32C on AWS), none,
    /// crc64, crc32c, both.
    #[arg(long, default_value = "auto", value_parser = parse_checksums)]
    checksum: Checksums,
    /// Continue the newest unfinished upload of this key: parts already stored with the same
    /// size and MD5 are not sent again.
    #[arg(long)]
    resume: bool,
    /// On failure keep the upload's parts (for a later --resume) instead of aborting it.
    #[arg(long)]
    keep_on_failure: bool,
    /// The smallest part the server accepts, when it is not the dialect's (a `tessera serve
    /// --min-part-size`).
    #[arg(long, value_parser = parse_size)]
    min_part_size: Option<u64>,
    /// Content-Type of the new object.
    #[arg(long)]
    content_type: Option<String>,
    /// No progress bar (there is none anyway when stderr is not a terminal).
    #[arg(long, short)]
    quiet: bool,
}

/// `tessera ls`.
#[derive(Debug, Args)]
#[command(after_help = EXIT_HELP)]
pub(crate) struct LsArgs {
    /// s3://bucket[/prefix]; without it, the buckets.
    target: Option<String>,
    /// Every key under the prefix, not grouped by `/`.
    #[arg(long, short)]
    recursive: bool,
    #[command(flatten)]
    conn: Connection,
}

/// `tessera mb` and `tessera rb`.
#[derive(Debug, Args)]
#[command(after_help = EXIT_HELP)]
pub(crate) struct BucketArgs {
    /// s3://bucket.
    bucket: String,
    #[command(flatten)]
    conn: Connection,
}

/// `tessera rm`.
#[derive(Debug, Args)]
#[command(after_help = EXIT_HELP)]
pub(crate) struct RmArgs {
    /// s3://bucket/key.
    object: String,
    #[command(flatten)]
    conn: Connection,
}

/// `tessera uploads`.
#[derive(Debug, Args)]
#[command(after_help = EXIT_HELP)]
pub(crate) struct UploadsArgs {
    #[command(subcommand)]
    command: UploadsCommand,
}

#[derive(Debug, Subcommand)]
enum UploadsCommand {
    /// List the multipart uploads in progress: key, upload id, initiated.
    #[command(after_help = EXIT_HELP)]
    Ls {
        /// s3://bucket[/prefix].
        target: String,
        #[command(flatten)]
        conn: Connection,
    },
    /// Abort one upload, dropping its parts.
    #[command(after_help = EXIT_HELP)]
    Abort {
        /// s3://bucket/key.
        object: String,
        /// The upload id.
        upload_id: String,
        #[command(flatten)]
        conn: Connection,
    },
}

/// A command's failure, with its exit code.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Failure {
        Failure { code: 2, message: message.into() }
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Failure {
        let code = match &e {
            ClientError::Service(_) => 1,
            ClientError::Config(_) => 2,
            ClientError::Transport(_) | ClientError::Timeout(_) | ClientError::InvalidResponse(_) => 3,
            ClientError::Io(_) => 4,
            ClientError::Integrity(_) => 5,
            _ => 1,
        };
        Failure { code, message: e.to_string() }
    }
}

type Outcome = Result<(), Failure>;

fn run(name: &str, work: impl std::future::Future<Output = Outcome>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tessera {name}: cannot start the runtime: {e}");
            return ExitCode::from(4);
        }
    };
    match runtime.block_on(work) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("tessera {name}: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn parse_dialect(s: &str) -> Result<Dialect, String> {
    s.parse::<Dialect>().map_err(|e| e.to_string())
}

fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&s[..i], s[i..].trim().to_ascii_uppercase()),
        None => (s, String::new()),
    };
    let n: u64 = digits.parse().map_err(|_| format!("{s:?} is not a size"))?;
    let factor: u64 = match unit.trim_end_matches("IB").trim_end_matches('B') {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        _ => return Err(format!("{s:?}: the unit must be K, M or G")),
    };
    n.checked_mul(factor).ok_or_else(|| format!("{s:?} is too large"))
}

fn parse_part_size(s: &str) -> Result<PartSize, String> {
    if s.eq_ignore_ascii_case("auto") { Ok(PartSize::Auto) } else { parse_size(s).map(PartSize::Fixed) }
}

fn parse_checksums(s: &str) -> Result<Checksums, String> {
    match s.to_ascii_lowercase().as_str() {
        "auto" => Ok(Checksums::Auto),
        "none" => Ok(Checksums::None),
        "crc64" => Ok(Checksums::Crc64),
        "crc32c" => Ok(Checksums::Crc32c),
        "both" => Ok(Checksums::Both),
        _ => Err(format!("{s:?}: expected auto, none, crc64, crc32c or both")),
    }
}

/// `s3://bucket[/key]` → (bucket, key).
fn parse_s3_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return None;
    }
    Some((bucket.to_owned(), key.to_owned()))
}

fn bucket_only(url: &str) -> Result<String, Failure> {
    match parse_s3_url(url) {
        Some((bucket, key)) if key.is_empty() => Ok(bucket),
        _ => Err(Failure::usage(format!("{url:?}: expected s3://bucket"))),
    }
}

fn object_url(url: &str) -> Result<(String, String), Failure> {
    match parse_s3_url(url) {
        Some((bucket, key)) if !key.is_empty() => Ok((bucket, key)),
        _ => Err(Failure::usage(format!("{url:?}: expected s3://bucket/key"))),
    }
}

/// Credentials from the first source that has them (see [`EXIT_HELP`]).
fn credentials(conn: &Connection) -> Result<Option<Credentials>, Failure> {
    if let (Some(ak), Some(sk)) = (&conn.access_key, &conn.secret_key) {
        return Ok(Some(Credentials::new(ak, sk)));
    }
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let vendor = match conn.dialect {
        Dialect::Aws => ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
        Dialect::Obs => ("OBS_ACCESS_KEY_ID", "OBS_SECRET_ACCESS_KEY"),
        Dialect::Cos => ("COS_SECRET_ID", "COS_SECRET_KEY"),
        Dialect::Oss => ("OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET"),
        Dialect::Ks3 => ("KS3_ACCESS_KEY", "KS3_SECRET_KEY"),
    };
    for (ak, sk) in [("TESSERA_ACCESS_KEY", "TESSERA_SECRET_KEY"), vendor] {
        if let (Some(a), Some(s)) = (env(ak), env(sk)) {
            return Ok(Some(Credentials::new(a, s)));
        }
    }
    let home = env("HOME").or_else(|| env("USERPROFILE")).map(PathBuf::from);
    let (file, sections) = if conn.dialect == Dialect::Aws {
        let file =
            env("AWS_SHARED_CREDENTIALS_FILE").map(PathBuf::from).or_else(|| home.map(|h| h.join(".aws/credentials")));
        let section = conn.profile.clone().or_else(|| env("AWS_PROFILE")).unwrap_or_else(|| "default".into());
        (file, vec![section])
    } else {
        let file =
            env("TESSERA_CREDENTIALS_FILE").map(PathBuf::from).or_else(|| home.map(|h| h.join(".tessera/credentials")));
        let sections = match &conn.profile {
            Some(p) => vec![p.clone()],
            None => vec![conn.dialect.name().to_owned(), "default".to_owned()],
        };
        (file, sections)
    };
    if let Some(path) = file
        && let Ok(text) = std::fs::read_to_string(&path)
    {
        for section in &sections {
            if let Some(c) = profile_credentials(&text, section) {
                return Ok(Some(c));
            }
        }
    }
    if conn.anonymous {
        return Ok(None);
    }
    Err(Failure::usage(
        "no credentials: pass --access-key/--secret-key, set TESSERA_ACCESS_KEY/TESSERA_SECRET_KEY or the vendor's variables, write a profile file, or pass --anonymous",
    ))
}

/// The access and secret key of `[section]` in an INI credentials file.
fn profile_credentials(text: &str, section: &str) -> Option<Credentials> {
    let mut current = String::new();
    let (mut ak, mut sk) = (None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.trim().trim_start_matches("profile ").trim().to_owned();
            continue;
        }
        if current != section {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim().to_owned();
            match k.trim().to_ascii_lowercase().as_str() {
                "access_key" | "aws_access_key_id" | "access_key_id" => ak = Some(v),
                "secret_key" | "aws_secret_access_key" | "secret_access_key" => sk = Some(v),
                _ => {}
            }
        }
    }
    Some(Credentials::new(ak?, sk?))
}

fn client(conn: &Connection) -> Result<Client, Failure> {
    let mut config = ClientConfig::new(&conn.endpoint, conn.dialect)?;
    if let Some(region) = &conn.region {
        config.region = region.clone();
    }
    config.credentials = credentials(conn)?;
    if let Some(domain) = &conn.virtual_host {
        config.addressing = Addressing::VirtualHost { domain: Some(domain.clone()) };
    }
    config.tls.ca_pem = conn.ca_cert.clone();
    config.tls.insecure_skip_verify = conn.insecure;
    config.retry.max_attempts = conn.attempts.max(1);
    Ok(Client::new(config)?)
}

/// A progress bar on stderr with throughput and ETA, or nothing when stderr is not a
/// terminal or the user asked for quiet.
fn progress_bar(total: u64, quiet: bool) -> Option<indicatif::ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    let style = indicatif::ProgressStyle::with_template(
        "{bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}

fn mib_per_sec(bytes: u64, started: Instant) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / started.elapsed().as_secs_f64().max(1e-9)
}

/// `tessera cp SRC DST`.
pub(crate) fn cp(args: CpArgs) -> ExitCode {
    run("cp", cp_async(args))
}

async fn cp_async(args: CpArgs) -> Outcome {
    let client = client(&args.conn)?;
    match (parse_s3_url(&args.src), parse_s3_url(&args.dst)) {
        (None, Some((bucket, key))) => upload(&client, &args, Path::new(&args.src), &bucket, &key).await,
        (Some((bucket, key)), None) => download(&client, &args, &bucket, &key, Path::new(&args.dst)).await,
        (Some((sb, sk)), Some((db, dk))) => {
            if sk.is_empty() || dk.is_empty() {
                return Err(Failure::usage("both sides of a remote copy need a key"));
            }
            let result = client.copy_object(&CopySource { bucket: &sb, key: &sk, range: None }, &db, &dk, None).await?;
            println!("copy: s3://{sb}/{sk} to s3://{db}/{dk} (etag {})", result.etag.quoted());
            Ok(())
        }
        (None, None) => Err(Failure::usage("one side must be s3://bucket/key")),
    }
}

async fn upload(client: &Client, args: &CpArgs, path: &Path, bucket: &str, key: &str) -> Outcome {
    let meta = std::fs::metadata(path).map_err(|e| Failure { code: 4, message: format!("{}: {e}", path.display()) })?;
    if !meta.is_file() {
        return Err(Failure::usage(format!("{}: not a file", path.display())));
    }
    let key = if key.is_empty() || key.ends_with('/') {
        let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| Failure::usage("the file has no name"))?;
        format!("{key}{name}")
    } else {
        key.to_owned()
    };
    let bar = progress_bar(meta.len(), args.quiet);
    let ticker = bar.clone();
    let mut options = UploadOptions {
        part_size: args.part_size,
        concurrency: args.concurrency.max(1),
        checksums: args.checksum,
        resume: if args.resume { Resume::Latest } else { Resume::Never },
        abort_on_failure: !args.keep_on_failure,
        progress: Some(Arc::new(move |n| {
            if let Some(b) = &ticker {
                b.inc(n);
            }
        })),
        ..UploadOptions::default()
    };
    options.object.content_type = args.content_type.clone();
    if let PartSize::Fixed(size) = args.part_size {
        options.multipart_threshold = size;
    }
    if let Some(min) = args.min_part_size {
        options.limits = Some(Limits { min_part_size: min, ..Limits::for_dialect(args.conn.dialect) });
    }
    let started = Instant::now();
    let result = Uploader::new(client.clone(), options).upload_file(path, bucket, &key).await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let out = result?;
    let mut checks = Vec::new();
    if out.crc64ecma.is_some() {
        checks.push("crc64");
    }
    if out.crc32c.is_some() {
        checks.push("crc32c");
    }
    println!(
        "upload: {} to s3://{bucket}/{key} ({} bytes, {} part{}{}, {:.1} MiB/s{}{})",
        path.display(),
        meta.len(),
        out.parts,
        if out.parts == 1 { "" } else { "s" },
        if out.parts_skipped > 0 { format!(", {} resumed", out.parts_skipped) } else { String::new() },
        mib_per_sec(meta.len(), started),
        if checks.is_empty() { "" } else { ", checked " },
        checks.join("+"),
    );
    Ok(())
}

async fn download(client: &Client, args: &CpArgs, bucket: &str, key: &str, path: &Path) -> Outcome {
    if key.is_empty() {
        return Err(Failure::usage("the source needs a key: s3://bucket/key"));
    }
    let target = if path.is_dir() || args.dst.ends_with('/') {
        let name =
            key.rsplit('/').next().filter(|n| !n.is_empty()).ok_or_else(|| Failure::usage("the key has no name"))?;
        path.join(name)
    } else {
        path.to_path_buf()
    };
    let size = client.head_object(bucket, key).await?.size;
    let bar = progress_bar(size, args.quiet);
    let ticker = bar.clone();
    let part_size = match args.part_size {
        PartSize::Fixed(n) => n,
        PartSize::Auto => tessera_multipart_default_part(),
    };
    let options = DownloadOptions {
        part_size,
        concurrency: args.concurrency.max(1),
        progress: Some(Arc::new(move |n| {
            if let Some(b) = &ticker {
                b.inc(n);
            }
        })),
    };
    let started = Instant::now();
    let result = Downloader::new(client.clone(), options).download_file(bucket, key, &target).await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let out = result?;
    println!(
        "download: s3://{bucket}/{key} to {} ({} bytes, {:.1} MiB/s{}{})",
        target.display(),
        out.size,
        mib_per_sec(out.size, started),
        if out.verified.is_empty() { "" } else { ", checked " },
        out.verified.join("+"),
    );
    Ok(())
}

fn tessera_multipart_default_part() -> u64 {
    DownloadOptions::default().part_size
}

/// `tessera ls [s3://bucket[/prefix]]`.
pub(crate) fn ls(args: LsArgs) -> ExitCode {
    run("ls", async move {
        let client = client(&args.conn)?;
        let Some(target) = &args.target else {
            for b in client.list_buckets().await?.buckets {
                println!("{}  {}", b.creation_date, b.name);
            }
            return Ok(());
        };
        let (bucket, prefix) =
            parse_s3_url(target).ok_or_else(|| Failure::usage(format!("{target:?}: expected s3://bucket[/prefix]")))?;
        let prefix = (!prefix.is_empty()).then_some(prefix);
        let delimiter = (!args.recursive).then_some("/");
        let (objects, prefixes) = client.list_all_objects(&bucket, prefix.as_deref(), delimiter).await?;
        for p in prefixes {
            println!("{:>24}  {:>12}  {p}", "", "PRE");
        }
        for o in objects {
            println!("{:>24}  {:>12}  {}", o.last_modified.to_string(), o.size, o.key);
        }
        Ok(())
    })
}

/// `tessera mb s3://bucket`.
pub(crate) fn mb(args: BucketArgs) -> ExitCode {
    run("mb", async move {
        let bucket = bucket_only(&args.bucket)?;
        client(&args.conn)?.create_bucket(&bucket).await?;
        println!("make_bucket: {bucket}");
        Ok(())
    })
}

/// `tessera rb s3://bucket`.
pub(crate) fn rb(args: BucketArgs) -> ExitCode {
    run("rb", async move {
        let bucket = bucket_only(&args.bucket)?;
        client(&args.conn)?.delete_bucket(&bucket).await?;
        println!("remove_bucket: {bucket}");
        Ok(())
    })
}

/// `tessera rm s3://bucket/key`.
pub(crate) fn rm(args: RmArgs) -> ExitCode {
    run("rm", async move {
        let (bucket, key) = object_url(&args.object)?;
        client(&args.conn)?.delete_object(&bucket, &key).await?;
        println!("delete: s3://{bucket}/{key}");
        Ok(())
    })
}

/// `tessera uploads ls|abort`.
pub(crate) fn uploads(args: UploadsArgs) -> ExitCode {
    match args.command {
        UploadsCommand::Ls { target, conn } => run("uploads ls", async move {
            let (bucket, prefix) = parse_s3_url(&target)
                .ok_or_else(|| Failure::usage(format!("{target:?}: expected s3://bucket[/prefix]")))?;
            let prefix = (!prefix.is_empty()).then_some(prefix);
            for u in client(&conn)?.list_all_multipart_uploads(&bucket, prefix.as_deref()).await? {
                println!("{}\t{}\t{}", u.initiated, u.upload_id, u.key);
            }
            Ok(())
        }),
        UploadsCommand::Abort { object, upload_id, conn } => run("uploads abort", async move {
            let (bucket, key) = object_url(&object)?;
            let id = UploadId::new(&upload_id).map_err(|e| Failure::usage(format!("upload id: {e}")))?;
            client(&conn)?.abort_multipart_upload(&bucket, &key, &id).await?;
            println!("abort: s3://{bucket}/{key} {upload_id}");
            Ok(())
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_urls() {
        assert_eq!(parse_size("8M").unwrap(), 8 << 20);
        assert_eq!(parse_size("100KiB").unwrap(), 100 << 10);
        assert_eq!(parse_size("5242880").unwrap(), 5_242_880);
        assert!(parse_size("5X").is_err());
        assert_eq!(parse_part_size("auto").unwrap(), PartSize::Auto);
        assert_eq!(parse_s3_url("s3://b/a/b"), Some(("b".into(), "a/b".into())));
        assert_eq!(parse_s3_url("s3://b"), Some(("b".into(), String::new())));
        assert_eq!(parse_s3_url("/tmp/x"), None);
        assert_eq!(parse_s3_url("s3:///k"), None);
    }

    #[test]
    fn profile_sections() {
        let text = "[default]\naws_access_key_id = A1\naws_secret_access_key = S1\n\n[profile other]\naccess_key=A2\nsecret_key=S2\n[oss]\naccess_key=A3\n";
        assert_eq!(profile_credentials(text, "default").unwrap().access_key, "A1");
        assert_eq!(profile_credentials(text, "other").unwrap().access_key, "A2");
        assert!(profile_credentials(text, "oss").is_none(), "no secret");
        assert!(profile_credentials(text, "missing").is_none());
    }
}
