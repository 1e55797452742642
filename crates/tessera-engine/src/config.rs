//! The engine's configuration.

use std::collections::BTreeMap;
use std::time::Duration;

use tessera_multipart::Limits;
use tessera_proto::Dialect;
use tessera_proto::dialect::{MAX_PART_SIZE, MAX_PARTS};

/// How an [`Engine`](crate::Engine) behaves where S3 or the deployment leaves a choice.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// The region buckets report (`GetBucketLocation`, `HeadBucket`) when created without a
    /// location constraint.
    pub region: String,
    /// Per-dialect overrides of the minimum size of every part but the last; dialects not
    /// named use their `DialectSpec::min_part_size`.
    pub min_part_size: BTreeMap<Dialect, u64>,
    /// Largest part, in bytes (S3: 5 GiB).
    pub max_part_size: u64,
    /// Highest part number (S3: 10 000).
    pub max_parts: u32,
    /// Abort uploads this long after initiation when their bucket has no lifecycle rule;
    /// `None` keeps them until aborted.
    pub default_upload_expiry: Option<Duration>,
    /// How long a completed upload answers a retried Complete from memory (afterwards the
    /// engine still recognises the completed object by its upload id and ETag).
    pub completed_grace: Duration,
    /// Encryption at rest: the master keys (SSE-S3's and the named KMS keys) and the random
    /// source for data keys. `None`: SSE-S3 and SSE-C requests answer `NotImplemented`; KMS
    /// requests, here and with a ring of no named keys, answer `KmsServiceNotEnabled`.
    pub encryption: Option<crate::Encryption>,
    /// How often [`Engine::handle_timeout`](crate::Engine::handle_timeout) sweeps buckets with
    /// lifecycle Expiration rules for expired objects (S3 evaluates lifecycle daily).
    pub lifecycle_sweep_interval: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            region: "us-east-1".to_owned(),
            min_part_size: BTreeMap::new(),
            max_part_size: MAX_PART_SIZE,
            max_parts: MAX_PARTS,
            default_upload_expiry: None,
            completed_grace: Duration::from_secs(3600),
            encryption: None,
            lifecycle_sweep_interval: Duration::from_secs(86_400),
        }
    }
}

impl EngineConfig {
    /// The limits new uploads of `dialect` are held to.
    pub fn limits(&self, dialect: Dialect) -> Limits {
        let mut limits = Limits::for_dialect(dialect);
        if let Some(&min) = self.min_part_size.get(&dialect) {
            limits.min_part_size = min;
        }
        limits.max_part_size = self.max_part_size;
        limits.max_parts = self.max_parts.min(MAX_PARTS);
        limits
    }

    /// Sets the minimum part size of every dialect (tests use small parts).
    pub fn with_min_part_size(mut self, min: u64) -> Self {
        for d in Dialect::ALL {
            self.min_part_size.insert(d, min);
        }
        self
    }

    pub(crate) fn table_config(&self) -> tessera_multipart::Config {
        let mut config = tessera_multipart::Config::default()
            .with_default_expiry(self.default_upload_expiry)
            .with_completed_grace(self.completed_grace);
        for d in Dialect::ALL {
            config = config.with_limits(d, self.limits(d));
        }
        config
    }
}
