//! The filesystem backend: the conformance suite, its own file-level properties, and crash
//! recovery under SIGKILL.

mod crash;
mod differential;
mod files;

use tessera_store::testkit::Backend;
use tessera_store_fs::FsStore;

/// A fresh store in a temporary directory under the target dir (on the same disk as the
/// build, not a RAM disk).
async fn fs_backend() -> Backend<FsStore> {
    let dir = tempfile::Builder::new().prefix("store-fs-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let store = FsStore::open(dir.path()).await.unwrap();
    Backend { store, guard: Box::new(dir), resident: false }
}

tessera_store::conformance_tests!(crate::fs_backend());
