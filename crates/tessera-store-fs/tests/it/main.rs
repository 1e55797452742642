//! The filesystem backend: the conformance suite, its own file-level properties, and crash
//! recovery under SIGKILL.

mod crash;
mod differential;
mod files;

use tessera_store::testkit::Backend;
use tessera_store_fs::{FsOptions, FsStore};

/// A fresh store in a temporary directory under the target dir (on the same disk as the
/// build, not a RAM disk).
async fn fs_backend(options: FsOptions) -> Backend<FsStore> {
    let dir = tempfile::Builder::new().prefix("store-fs-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let store = FsStore::open_with(dir.path(), options).await.unwrap();
    Backend { store, guard: Box::new(dir), resident: false }
}

// The default store: small parts in the database, the rest in files.
tessera_store::conformance_tests!(crate::fs_backend(tessera_store_fs::FsOptions::default()));

/// Every part in a file.
mod files_only {
    tessera_store::conformance_tests!(crate::fs_backend(tessera_store_fs::FsOptions {
        inline_max: 0,
        ..Default::default()
    }));
}

/// Every assemble's staged entries removed after it answers.
mod consume_later {
    tessera_store::conformance_tests!(crate::fs_backend(tessera_store_fs::FsOptions {
        consume_later_above: 0,
        ..Default::default()
    }));
}
