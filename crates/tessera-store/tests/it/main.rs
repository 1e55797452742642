//! The memory backend against the conformance suite, and its own details.

use tessera_store::MemoryStore;
use tessera_store::testkit::Backend;

tessera_store::conformance_tests!(async { Backend::new(MemoryStore::new(), true) });
