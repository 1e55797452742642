//! Unit tests of the encryption module (envelope encryption, AES-256-CTR by offset, SSE-C
//! key checks).

use std::sync::Mutex;

use bytes::Bytes;
use futures_util::StreamExt;
use proptest::prelude::*;
use tessera_engine::{
    CryptoError, DataKeyError, DataKeyRecord, KeyMaterial, KeyRing, Keystream, RandomSource, SSE_S3_KEY_ID, SecretKey,
    ctr_stream, split_range,
};
use tessera_store::{ByteStream, StoreError};

/// A deterministic random source (splitmix64) for tests.
struct TestRandom(Mutex<u64>);

impl TestRandom {
    fn new(seed: u64) -> Self {
        TestRandom(Mutex::new(seed))
    }
}

impl RandomSource for TestRandom {
    fn fill(&self, buf: &mut [u8]) {
        let mut state = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for chunk in buf.chunks_mut(8) {
            *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = *state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    }
}

fn key(byte: u8) -> SecretKey {
    SecretKey::from_bytes([byte; 32])
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().build().expect("runtime").block_on(f)
}

fn stream_of(data: &[u8], cuts: &[usize]) -> ByteStream {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    points.sort_unstable();
    for p in points {
        chunks.push(Ok::<_, StoreError>(Bytes::copy_from_slice(&data[start..p])));
        start = p;
    }
    chunks.push(Ok(Bytes::copy_from_slice(&data[start..])));
    Box::pin(futures_util::stream::iter(chunks))
}

fn collect(stream: ByteStream) -> Vec<u8> {
    block_on(async move {
        let mut out = Vec::new();
        let mut stream = stream;
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk.expect("chunk"));
        }
        out
    })
}

fn sample(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn ctr_matches_one_shot_encryption_and_differs_from_plaintext() {
    let data = sample(1000);
    let k = key(7);
    let iv = [3u8; 16];
    let enc = collect(ctr_stream(stream_of(&data, &[5, 17, 600]), &k, &iv, 0).expect("stream"));
    let mut whole = data.clone();
    Keystream::at(&k, &iv, 0).expect("keystream").apply(&mut whole);
    assert_eq!(enc, whole);
    assert_ne!(enc, data);
    let dec = collect(ctr_stream(stream_of(&enc, &[999]), &k, &iv, 0).expect("stream"));
    assert_eq!(dec, data);
}

#[test]
fn counter_is_iv_plus_block_index_big_endian() {
    // With an IV ending in 0xff…, block 1 must carry into the higher bytes (128-bit BE).
    let k = key(9);
    let iv = [0xffu8; 16];
    let mut a = [0u8; 48];
    Keystream::at(&k, &iv, 0).expect("keystream").apply(&mut a);
    let mut iv_plus_one = [0u8; 16];
    let mut b = [0u8; 32];
    Keystream::at(&k, &iv_plus_one, 0).expect("keystream").apply(&mut b);
    assert_eq!(&a[16..48], &b[..], "counter wraps to zero after all-ones");
    iv_plus_one[15] = 1;
    let mut c = [0u8; 16];
    Keystream::at(&k, &iv_plus_one, 0).expect("keystream").apply(&mut c);
    assert_eq!(&a[32..48], &c[..]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Encrypt with one chunking, decrypt any range with another, starting at the range's
    /// offset: the plaintext comes back.
    #[test]
    fn range_decrypts_from_any_offset(
        len in 0usize..3000,
        enc_cuts in proptest::collection::vec(0usize..3001, 0..8),
        dec_cuts in proptest::collection::vec(0usize..3001, 0..8),
        a in 0usize..3001,
        b in 0usize..3001,
        seed in any::<u64>(),
    ) {
        let data = sample(len);
        let rng = TestRandom::new(seed);
        let k = SecretKey::random(&rng);
        let mut iv = [0u8; 16];
        rng.fill(&mut iv);
        let enc = collect(ctr_stream(stream_of(&data, &enc_cuts), &k, &iv, 0).expect("stream"));
        prop_assert_eq!(enc.len(), data.len());
        let (lo, hi) = { let (x, y) = (a % (len + 1), b % (len + 1)); (x.min(y), x.max(y)) };
        let dec = collect(ctr_stream(stream_of(&enc[lo..hi], &dec_cuts), &k, &iv, lo as u64).expect("stream"));
        prop_assert_eq!(&dec[..], &data[lo..hi]);
    }
}

#[test]
fn wrap_roundtrip_and_records_serialize() {
    let rng = TestRandom::new(1);
    let mut ring = KeyRing::new();
    ring.set_sse_s3_key(key(1));
    let (dk, record) = ring.seal_new(&rng, None).expect("seal");
    assert_eq!(record.key_id(), Some(SSE_S3_KEY_ID));
    let json = serde_json::to_string(&record).expect("json");
    assert!(!json.contains(&hex(dk.as_bytes())));
    let back: DataKeyRecord = serde_json::from_str(&json).expect("parse");
    assert_eq!(back, record);
    assert_eq!(ring.open(&back, None).expect("open"), dk);
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn tampered_wrapped_key_is_detected() {
    let rng = TestRandom::new(2);
    let mut ring = KeyRing::new();
    ring.insert("k1", key(2)).expect("insert");
    let (_, record) = ring.seal_new(&rng, Some(None)).expect("seal");
    let KeyMaterial::Wrapped(w) = &record.key else { panic!("wrapped") };
    for field in 0..3 {
        for bit in [0usize, 7, 100] {
            let mut t = w.clone();
            match field {
                0 => t.ciphertext[bit % 32] ^= 1 << (bit % 8),
                1 => t.nonce[bit % 16] ^= 1 << (bit % 8),
                _ => t.tag[bit % 32] ^= 1 << (bit % 8),
            }
            assert_eq!(ring.unwrap(&t), Err(CryptoError::Tampered));
        }
    }
    // Relabelling the key id to another key of the ring is detected too.
    ring.insert("k2", key(2)).expect("insert");
    let mut t = w.clone();
    t.key_id = "k2".to_owned();
    assert_eq!(ring.unwrap(&t), Err(CryptoError::Tampered));
}

#[test]
fn wrong_master_key_and_unknown_id_refused() {
    let rng = TestRandom::new(3);
    let mut ring = KeyRing::new();
    ring.insert("main", key(3)).expect("insert");
    let (_, record) = ring.seal_new(&rng, Some(Some("main"))).expect("seal");
    let mut other = KeyRing::new();
    other.insert("main", key(4)).expect("insert");
    assert_eq!(other.open(&record, None), Err(DataKeyError::Crypto(CryptoError::Tampered)));
    let empty = KeyRing::new();
    assert_eq!(empty.open(&record, None), Err(DataKeyError::Crypto(CryptoError::UnknownKey("main".into()))));
    assert_eq!(ring.seal_new(&rng, Some(Some("nope"))).err(), Some(CryptoError::UnknownKey("nope".into())));
    assert_eq!(empty.seal_new(&rng, Some(None)).err(), Some(CryptoError::NotConfigured));
    assert_eq!(empty.seal_new(&rng, None).err(), Some(CryptoError::NotConfigured));
    // The SSE-S3 key is not a KMS key.
    ring.set_sse_s3_key(key(5));
    assert_eq!(
        ring.seal_new(&rng, Some(Some(SSE_S3_KEY_ID))).err(),
        Some(CryptoError::UnknownKey(SSE_S3_KEY_ID.into()))
    );
    assert_eq!(ring.kms_key_names(), vec!["main".to_owned()]);
}

#[test]
fn rotation_keeps_old_wrapped_keys_readable() {
    let rng = TestRandom::new(4);
    let a_hex = "00".repeat(31) + "0a";
    let b_hex = "00".repeat(31) + "0b";
    let ring_a = KeyRing::from_key_file(&format!("# keys\nkeyA = \"{a_hex}\"\n")).expect("file");
    assert_eq!(ring_a.default_kms_key(), Some("keyA"));
    let (dk, old) = ring_a.seal_new(&rng, Some(None)).expect("seal");
    // Rotation: key B added and made the default; A stays for unwrapping.
    let ring_ab =
        KeyRing::from_key_file(&format!("default = \"keyB\"\nkeyA = \"{a_hex}\"\nkeyB = \"{b_hex}\"\n")).expect("file");
    assert_eq!(ring_ab.default_kms_key(), Some("keyB"));
    assert_eq!(ring_ab.open(&old, None).expect("old object"), dk);
    let (_, new) = ring_ab.seal_new(&rng, Some(None)).expect("seal");
    assert_eq!(new.key_id(), Some("keyB"));
    // Without key A the old object cannot be opened.
    let ring_b = KeyRing::from_key_file(&format!("keyB = \"{b_hex}\"")).expect("file");
    assert!(ring_b.open(&old, None).is_err());
}

#[test]
fn key_file_errors_name_lines_not_keys() {
    let good = "ab".repeat(32);
    for (text, line) in [
        ("".to_owned(), 0),
        (format!("k = \"{}\"", &good[..62]), 1),
        (format!("k = \"{good}\"\nk = \"{good}\""), 2),
        (format!("k = {good}"), 1),
        (format!("k = \"{good}\" trailing"), 1),
        (format!("default = \"x\"\nk = \"{good}\""), 1),
        (format!("\"{SSE_S3_KEY_ID}\" = \"{good}\""), 1),
        (format!("[t]\nk = \"{good}\""), 1),
    ] {
        let err = KeyRing::from_key_file(&text).expect_err(&text);
        assert_eq!(err.line, line, "{text}: {err}");
        assert!(!err.to_string().contains(&good));
    }
    let ring = KeyRing::from_key_file(&format!("\"alias/x\" = \"{good}\" # comment\n\n")).expect("quoted");
    assert!(ring.has_kms_key("alias/x"));
    assert!(!format!("{ring:?}").contains(&good));
    assert!(!format!("{:?}", SecretKey::from_hex(&good).expect("hex")).contains("ab"));
}

#[test]
fn sse_c_check_recognises_only_the_right_key() {
    let rng = TestRandom::new(5);
    let customer = [0x42u8; 32];
    let (dk, record) = DataKeyRecord::new_customer(&rng, &customer);
    let json = serde_json::to_string(&record).expect("json");
    assert!(!json.contains(&hex(&customer)));
    assert!(!json.contains(&hex(dk.as_bytes())));
    assert_ne!(dk.as_bytes(), &customer);
    let ring = KeyRing::new();
    assert_eq!(ring.open(&record, Some(&customer)).expect("right key"), dk);
    assert_eq!(ring.open(&record, None), Err(DataKeyError::CustomerKeyMissing));
    let mut wrong = customer;
    wrong[31] ^= 1;
    assert_eq!(ring.open(&record, Some(&wrong)), Err(DataKeyError::CustomerKeyWrong));
    // Same key, another salt: another data key, and the check of one does not fit the other.
    let (dk2, record2) = DataKeyRecord::new_customer(&rng, &customer);
    assert_ne!(dk, dk2);
    assert_ne!(record.key, record2.key);
}

/// Encrypted parts staged into an `FsStore` and assembled into one object: whole and ranged
/// reads (across part boundaries, at odd offsets) decrypt part by part; no file under the
/// data directory holds the plaintext pattern, the SSE-C key or any data key.
#[test]
fn fs_store_holds_only_ciphertext_and_ranges_decrypt_across_parts() {
    use tessera_proto::{BucketName, ObjectKey};
    use tessera_store::{BucketRecord, ObjectWrite, Precondition, Store};
    use tessera_store_fs::FsStore;

    let dir = tempfile::tempdir().expect("tempdir");
    let pattern = b"TESSERA-PLAINTEXT-PATTERN-0123456789";
    let part_lens = [70_001usize, 65_536, 33, 40_000];
    let plain: Vec<u8> = pattern.iter().copied().cycle().take(part_lens.iter().sum()).collect();
    let customer = [0x5au8; 32];
    let rng = TestRandom::new(6);
    let mut ring = KeyRing::new();
    ring.insert("kms-a", SecretKey::random(&rng)).expect("insert");
    ring.set_sse_s3_key(SecretKey::random(&rng));
    let mut data_keys = Vec::new();

    block_on(async {
        let store = FsStore::open(dir.path()).await.expect("open");
        let bucket = BucketName::new("enc-bucket").expect("bucket");
        let key = ObjectKey::new("obj").expect("key");
        let record = BucketRecord { created: 0, owner: "o".into(), region: "r".into(), config: Bytes::new() };
        store.create_bucket(&bucket, record).await.expect("bucket");
        let mut records = Vec::new();
        let mut stages = Vec::new();
        let mut start = 0;
        for (i, &len) in part_lens.iter().enumerate() {
            // Each part its own data key: SSE-S3, KMS, SSE-C, SSE-S3.
            let (dk, rec) = match i {
                0 | 3 => ring.seal_new(&rng, None).expect("seal"),
                1 => ring.seal_new(&rng, Some(Some("kms-a"))).expect("seal"),
                _ => DataKeyRecord::new_customer(&rng, &customer),
            };
            let body = stream_of(&plain[start..start + len], &[1, 4097, 9999]);
            let enc = ctr_stream(body, &dk, &rec.iv, 0).expect("stream");
            let staged = store.stage(&bucket, enc).await.expect("stage");
            assert_eq!(staged.len, len as u64);
            stages.push(staged.id);
            data_keys.push(*dk.as_bytes());
            records.push(rec);
            start += len;
        }
        let meta = Bytes::from(serde_json::to_vec(&records).expect("json"));
        let write = ObjectWrite { parts: stages, meta, modified: 0 };
        let object = store.assemble(&bucket, &key, write, Precondition::Any, None).await.expect("assemble");
        let lens: Vec<u64> = object.layout.iter().map(|e| e.len).collect();
        let stored: Vec<DataKeyRecord> = serde_json::from_slice(&object.meta).expect("meta");
        let total = plain.len() as u64;
        let b0 = part_lens[0] as u64;
        let b1 = b0 + part_lens[1] as u64;
        let ranges =
            [0..total, 0..1, b0 - 1..b0 + 1, b0..b1, 15..b1 + 17, b1 + 3..b1 + 30, 17..total - 5, total - 1..total];
        for range in ranges {
            let mut got = Vec::new();
            for slice in split_range(&lens, range.clone()) {
                let rec = &stored[slice.index];
                let dk = ring.open(rec, Some(&customer)).expect("data key");
                let raw = store.read(&bucket, &key, &object, slice.object_range.clone()).await.expect("read");
                let mut dec = ctr_stream(raw, &dk, &rec.iv, slice.part_offset).expect("stream");
                while let Some(chunk) = dec.next().await {
                    got.extend_from_slice(&chunk.expect("chunk"));
                }
            }
            assert_eq!(&got[..], &plain[range.start as usize..range.end as usize], "{range:?}");
        }
        // The SSE-C part needs its key.
        assert_eq!(ring.open(&stored[2], None), Err(DataKeyError::CustomerKeyMissing));
        assert_eq!(ring.open(&stored[2], Some(&[0x5b; 32])), Err(DataKeyError::CustomerKeyWrong));
    });

    let mut files = 0;
    let mut todo = vec![dir.path().to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                todo.push(path);
                continue;
            }
            files += 1;
            let bytes = std::fs::read(&path).expect("read");
            let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
            assert!(!contains(&pattern[..16]), "plaintext in {path:?}");
            assert!(!contains(&customer), "SSE-C key in {path:?}");
            assert!(!contains(hex(&customer).as_bytes()), "SSE-C key (hex) in {path:?}");
            for dk in &data_keys {
                assert!(!contains(dk), "a data key in {path:?}");
            }
        }
    }
    assert!(files > 0);
}

#[test]
fn split_range_maps_object_ranges_onto_parts() {
    let lens = [10u64, 0, 5, 20];
    let s = split_range(&lens, 8..17);
    assert_eq!(s.len(), 3);
    assert_eq!((s[0].index, s[0].object_range.clone(), s[0].part_offset), (0, 8..10, 8));
    assert_eq!((s[1].index, s[1].object_range.clone(), s[1].part_offset), (2, 10..15, 0));
    assert_eq!((s[2].index, s[2].object_range.clone(), s[2].part_offset), (3, 15..17, 0));
    assert!(split_range(&lens, 3..3).is_empty());
    assert_eq!(split_range(&lens, 30..99)[0].object_range, 30..35);
}

/// Chunks that are slices of one buffer (as a socket's frames are) are not owned alone: they
/// go through the copy path, over arena blocks reused across many chunks, with the same result
/// and without touching the input.
#[test]
fn shared_chunks_encrypt_like_owned_ones_and_stay_untouched() {
    let data = sample(3 << 20);
    let shared = bytes::Bytes::from(data.clone());
    let cuts: Vec<usize> = (0..data.len()).step_by(70_001).chain([data.len()]).collect();
    let chunks: Vec<Result<bytes::Bytes, tessera_store::StoreError>> =
        cuts.windows(2).map(|w| Ok(shared.slice(w[0]..w[1]))).collect();
    let k = key(9);
    let iv = [5u8; 16];
    let enc = collect(ctr_stream(Box::pin(futures_util::stream::iter(chunks)), &k, &iv, 0).expect("stream"));
    let mut whole = data.clone();
    Keystream::at(&k, &iv, 0).expect("keystream").apply(&mut whole);
    assert!(enc == whole);
    assert!(shared[..] == data[..], "the shared input is unchanged");
}
