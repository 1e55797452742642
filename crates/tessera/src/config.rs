//! `tessera serve`'s settings: flags, then a TOML file given by `--config`, then the
//! environment, then defaults. This is the only module that reads any of them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;
use tessera_proto::Dialect;

/// The settings file (`--config tessera.toml`). Every field is optional; flags win over it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct FileConfig {
    pub(crate) listen: Option<SocketAddr>,
    pub(crate) data: Option<PathBuf>,
    pub(crate) memory: Option<bool>,
    #[serde(default)]
    pub(crate) domains: Vec<String>,
    pub(crate) region: Option<String>,
    pub(crate) tls_cert: Option<PathBuf>,
    pub(crate) tls_key: Option<PathBuf>,
    /// Days after which an upload nobody completes is aborted, unless its bucket's lifecycle
    /// says otherwise.
    pub(crate) upload_expiry_days: Option<u32>,
    /// Minimum part size per dialect (`aws = 5242880`).
    #[serde(default)]
    pub(crate) min_part_size: BTreeMap<String, u64>,
    #[serde(default)]
    pub(crate) users: Vec<UserConfig>,
    /// A file of named master keys (one `name = "<64 hex digits>"` per line, TOML).
    pub(crate) kms_key_file: Option<PathBuf>,
    pub(crate) log_format: Option<LogFormat>,
}

/// One principal and its key pair.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct UserConfig {
    pub(crate) access_key: String,
    pub(crate) secret_key: String,
    /// Canonical id shown as owner; defaults to the access key.
    pub(crate) id: Option<String>,
    /// Display name; defaults to the id.
    pub(crate) display_name: Option<String>,
}

/// How logs are written.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Where objects live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    /// The filesystem backend in this directory.
    Fs(PathBuf),
    /// In memory: gone when the process ends.
    Memory,
}

/// The settings `tessera serve` runs with, resolved.
#[derive(Debug)]
pub(crate) struct ServeConfig {
    pub(crate) listen: SocketAddr,
    pub(crate) backend: Backend,
    pub(crate) domains: Vec<String>,
    pub(crate) region: String,
    pub(crate) tls: Option<(PathBuf, PathBuf)>,
    pub(crate) upload_expiry_days: Option<u32>,
    pub(crate) min_part_size: BTreeMap<Dialect, u64>,
    pub(crate) users: Vec<UserConfig>,
    /// Whether the only user is a development key pair made up at start-up.
    pub(crate) generated_user: bool,
    pub(crate) kms_key_file: Option<PathBuf>,
    pub(crate) log_format: LogFormat,
}

/// The flags of `tessera serve`.
#[derive(Debug, Default, clap::Args)]
pub(crate) struct ServeArgs {
    /// A TOML settings file; flags override it.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:9000].
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: Option<SocketAddr>,
    /// Data directory of the filesystem backend [default: ./data].
    #[arg(long, value_name = "DIR", conflicts_with = "memory")]
    pub(crate) data: Option<PathBuf>,
    /// Keep everything in memory instead (lost on exit).
    #[arg(long)]
    pub(crate) memory: bool,
    /// A service domain for virtual-host buckets (`<bucket>.<domain>`); repeatable.
    #[arg(long = "domain", value_name = "NAME")]
    pub(crate) domains: Vec<String>,
    /// Region reported for buckets and expected in signatures [default: us-east-1].
    #[arg(long)]
    pub(crate) region: Option<String>,
    /// TLS certificate chain (PEM); with --tls-key, serve https.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,
    /// Abort uploads left incomplete for this many days (bucket lifecycle rules win).
    #[arg(long, value_name = "DAYS")]
    pub(crate) upload_expiry_days: Option<u32>,
    /// Minimum part size for a dialect, e.g. `aws=5242880`; repeatable.
    #[arg(long = "min-part-size", value_name = "DIALECT=BYTES", value_parser = parse_min_part)]
    pub(crate) min_part_size: Vec<(Dialect, u64)>,
    /// Access key of the user (also TESSERA_ACCESS_KEY).
    #[arg(long, env = "TESSERA_ACCESS_KEY", value_name = "KEY", requires = "secret_key")]
    pub(crate) access_key: Option<String>,
    /// Secret key of the user (also TESSERA_SECRET_KEY).
    #[arg(long, env = "TESSERA_SECRET_KEY", value_name = "SECRET", hide_env_values = true, requires = "access_key")]
    pub(crate) secret_key: Option<String>,
    /// A file of KMS master keys (TOML: `name = "<64 hex digits>"`).
    #[arg(long, value_name = "FILE")]
    pub(crate) kms_key_file: Option<PathBuf>,
    /// Log format.
    #[arg(long, value_enum)]
    pub(crate) log_format: Option<LogFormat>,
}

fn parse_min_part(s: &str) -> Result<(Dialect, u64), String> {
    let (dialect, bytes) = s.split_once('=').ok_or("expected DIALECT=BYTES")?;
    let dialect: Dialect = dialect.parse().map_err(|e| format!("{e}"))?;
    let bytes = bytes.trim().parse().map_err(|_| format!("{bytes:?} is not a number of bytes"))?;
    Ok((dialect, bytes))
}

impl ServeConfig {
    /// Resolves flags over the file over defaults. `random` fills a development key pair when
    /// no user is configured anywhere.
    pub(crate) fn resolve(args: ServeArgs, random: impl FnOnce(&mut [u8])) -> Result<Self, String> {
        let file = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
                toml::from_str::<FileConfig>(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let backend = if args.memory || (args.data.is_none() && file.memory == Some(true)) {
            Backend::Memory
        } else {
            Backend::Fs(args.data.or(file.data).unwrap_or_else(|| PathBuf::from("data")))
        };
        let mut domains = file.domains;
        domains.extend(args.domains);
        let tls = match (args.tls_cert.or(file.tls_cert), args.tls_key.or(file.tls_key)) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => return Err("tls-cert and tls-key go together".into()),
        };
        let mut min_part_size = BTreeMap::new();
        for (name, bytes) in file.min_part_size {
            let dialect: Dialect = name.parse().map_err(|e| format!("min-part-size: {e}"))?;
            min_part_size.insert(dialect, bytes);
        }
        min_part_size.extend(args.min_part_size);

        let mut users = file.users;
        if let (Some(access_key), Some(secret_key)) = (args.access_key, args.secret_key) {
            users.retain(|u| u.access_key != access_key);
            users.insert(0, UserConfig { access_key, secret_key, id: None, display_name: None });
        }
        let generated_user = users.is_empty();
        if generated_user {
            let mut bytes = [0u8; 30];
            random(&mut bytes);
            let (ak, sk) = bytes.split_at(10);
            users.push(UserConfig {
                access_key: format!("TESSERA{}", hex::encode_upper(ak)),
                secret_key: hex::encode(sk),
                id: None,
                display_name: None,
            });
        }
        for user in &users {
            if user.access_key.is_empty() || user.secret_key.is_empty() {
                return Err("a user's access-key and secret-key must not be empty".into());
            }
        }
        Ok(ServeConfig {
            listen: args.listen.or(file.listen).unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9000))),
            backend,
            domains,
            region: args.region.or(file.region).unwrap_or_else(|| "us-east-1".into()),
            tls,
            upload_expiry_days: args.upload_expiry_days.or(file.upload_expiry_days),
            min_part_size,
            users,
            generated_user,
            kms_key_file: args.kms_key_file.or(file.kms_key_file),
            log_format: args.log_format.or(file.log_format).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_random(_: &mut [u8]) {
        panic!("no key should be generated");
    }

    #[test]
    fn defaults_make_a_development_key_and_use_the_data_folder() {
        let config = ServeConfig::resolve(ServeArgs::default(), |b| b.fill(7)).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:9000");
        assert_eq!(config.backend, Backend::Fs(PathBuf::from("data")));
        assert_eq!(config.region, "us-east-1");
        assert!(config.generated_user);
        assert_eq!(config.users.len(), 1);
        assert!(config.users[0].access_key.starts_with("TESSERA0707"));
        assert_eq!(config.users[0].secret_key, "07".repeat(20));
    }

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tessera.toml");
        std::fs::write(
            &path,
            r#"
            listen = "127.0.0.1:7000"
            memory = true
            domains = ["s3.local"]
            region = "cn-north-4"
            upload-expiry-days = 3
            [min-part-size]
            aws = 1048576
            [[users]]
            access-key = "AK1"
            secret-key = "SK1"
            "#,
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(path),
            listen: Some("127.0.0.1:7001".parse().unwrap()),
            domains: vec!["cos.local".into()],
            min_part_size: vec![(Dialect::Cos, 10)],
            ..ServeArgs::default()
        };
        let config = ServeConfig::resolve(args, no_random).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:7001");
        assert_eq!(config.backend, Backend::Memory);
        assert_eq!(config.domains, ["s3.local", "cos.local"]);
        assert_eq!(config.region, "cn-north-4");
        assert_eq!(config.upload_expiry_days, Some(3));
        assert_eq!(config.min_part_size.get(&Dialect::Aws), Some(&1_048_576));
        assert_eq!(config.min_part_size.get(&Dialect::Cos), Some(&10));
        assert!(!config.generated_user);
        assert_eq!(config.users[0].access_key, "AK1");
    }

    #[test]
    fn unknown_settings_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "listne = \"127.0.0.1:1\"\n").unwrap();
        let err =
            ServeConfig::resolve(ServeArgs { config: Some(path), ..ServeArgs::default() }, no_random).unwrap_err();
        assert!(err.contains("listne"), "{err}");
    }

    #[test]
    fn min_part_flag_syntax() {
        assert_eq!(parse_min_part("oss=102400").unwrap(), (Dialect::Oss, 102_400));
        assert!(parse_min_part("gcs=1").is_err());
        assert!(parse_min_part("aws").is_err());
        assert!(parse_min_part("aws=x").is_err());
    }
}
