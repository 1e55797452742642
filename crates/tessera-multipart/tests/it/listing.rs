//! ListParts and ListMultipartUploads pages and their markers.

use proptest::prelude::*;
use tessera_multipart::{Config, Limits, MAX_PAGE, MultipartError, UploadTable, UploadsQuery};

use crate::util::*;

fn table_with_parts(numbers: &[u32]) -> UploadTable {
    let mut table = UploadTable::new(Config::default().with_all_limits(Limits::permissive()));
    table.create(id("u"), new_upload("bkt", "k"), t(0)).unwrap();
    for &n in numbers {
        let ticket = table.begin_part(&id("u"), pn(n), None, t(1)).unwrap();
        table.finish_part(ticket, receipt(&format!("s{n}"), &n.to_be_bytes(), None), t(2)).unwrap();
    }
    table
}

#[test]
fn list_parts_pages_with_gaps() {
    let numbers: Vec<u32> = (1..=25).map(|i| i * 3).collect();
    let table = table_with_parts(&numbers);
    let mut marker = None;
    let mut seen = Vec::new();
    loop {
        let page = table.list_parts(&id("u"), marker, Some(10)).unwrap();
        assert!(page.parts.len() <= 10);
        seen.extend(page.parts.iter().map(|p| p.number.get()));
        if !page.is_truncated {
            break;
        }
        marker = page.next_part_number_marker.map(|n| n.get());
    }
    assert_eq!(seen, numbers);

    // A marker between part numbers starts after it; past the end gives nothing.
    let page = table.list_parts(&id("u"), Some(4), Some(2)).unwrap();
    assert_eq!(page.parts.iter().map(|p| p.number.get()).collect::<Vec<_>>(), [6, 9]);
    assert_eq!((page.is_truncated, page.next_part_number_marker.map(|n| n.get())), (true, Some(9)));
    let page = table.list_parts(&id("u"), Some(75), None).unwrap();
    assert!(page.parts.is_empty() && !page.is_truncated && page.next_part_number_marker.is_none());
    let page = table.list_parts(&id("u"), Some(u32::MAX), None).unwrap();
    assert!(page.parts.is_empty());
    let page = table.list_parts(&id("u"), None, Some(0)).unwrap();
    assert!(page.parts.is_empty() && page.is_truncated);
    assert_eq!(table.list_parts(&id("nope"), None, None).unwrap_err(), MultipartError::NoSuchUpload);
}

#[test]
fn list_parts_caps_pages_at_a_thousand() {
    let numbers: Vec<u32> = (1..=1500).collect();
    let table = table_with_parts(&numbers);
    let page = table.list_parts(&id("u"), None, Some(5000)).unwrap();
    assert_eq!((page.parts.len(), page.max_parts), (MAX_PAGE as usize, MAX_PAGE));
    assert!(page.is_truncated);
    let page = table.list_parts(&id("u"), Some(1000), None).unwrap();
    assert_eq!(page.parts.len(), 500);
    assert_eq!(page.parts[0].etag.md5(), Some(md5(&1001u32.to_be_bytes())));
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Upload(String, String),
    Prefix(String),
}

/// The whole listing, computed the naive way.
fn naive(uploads: &[(String, u64, String)], prefix: &str, delimiter: Option<&str>) -> Vec<Entry> {
    let mut sorted = uploads.to_vec();
    sorted.sort();
    let mut out: Vec<Entry> = Vec::new();
    for (key, _, id) in sorted {
        let Some(rest) = key.strip_prefix(prefix) else { continue };
        match delimiter.and_then(|d| rest.find(d).map(|i| i + d.len())) {
            Some(end) => {
                let cp = Entry::Prefix(format!("{prefix}{}", &rest[..end]));
                if out.last() != Some(&cp) {
                    out.push(cp);
                }
            }
            None => out.push(Entry::Upload(key, id)),
        }
    }
    out
}

fn paged(table: &UploadTable, prefix: &str, delimiter: Option<&str>, max: u32) -> Vec<Entry> {
    let mut out = Vec::new();
    let (mut key_marker, mut id_marker): (Option<String>, Option<String>) = (None, None);
    for _ in 0..10_000 {
        let query = UploadsQuery {
            prefix,
            delimiter,
            key_marker: key_marker.as_deref(),
            upload_id_marker: id_marker.as_deref(),
            max_uploads: Some(max),
        };
        let page = table.list_uploads(&bucket("bkt"), &query);
        assert!(page.uploads.len() + page.common_prefixes.len() <= max as usize);
        // Merge the two lists back into listing order.
        let mut entries: Vec<Entry> = page
            .uploads
            .iter()
            .map(|u| Entry::Upload(u.key.to_string(), u.upload_id.to_string()))
            .chain(page.common_prefixes.iter().map(|p| Entry::Prefix(p.clone())))
            .collect();
        entries.sort_by(|a, b| {
            let k = |e: &Entry| match e {
                Entry::Upload(k, _) | Entry::Prefix(k) => k.clone(),
            };
            k(a).cmp(&k(b))
        });
        // Uploads of one key keep their initiation order, which the sort above preserves.
        out.extend(entries);
        if !page.is_truncated {
            return out;
        }
        key_marker = page.next_key_marker.clone();
        id_marker = page.next_upload_id_marker.map(|i| i.to_string());
        assert!(key_marker.is_some(), "a truncated page names its next marker");
    }
    panic!("pagination did not end");
}

#[test]
fn uploads_are_listed_by_key_then_initiation_with_common_prefixes() {
    let mut table = UploadTable::new(Config::default());
    for (i, (k, at)) in [("photos/2024/a.jpg", 5), ("photos/b.jpg", 1), ("docs/x", 2), ("photos/b.jpg", 0), ("zz", 9)]
        .into_iter()
        .enumerate()
    {
        table.create(id(&format!("id{i}")), new_upload("bkt", k), t(at)).unwrap();
    }
    let page = table.list_uploads(&bucket("bkt"), &UploadsQuery::default());
    let got: Vec<(String, String)> =
        page.uploads.iter().map(|u| (u.key.to_string(), u.upload_id.to_string())).collect();
    let want = [
        ("docs/x", "id2"),
        ("photos/2024/a.jpg", "id0"),
        ("photos/b.jpg", "id3"),
        ("photos/b.jpg", "id1"),
        ("zz", "id4"),
    ];
    assert_eq!(got, want.map(|(k, i)| (k.to_string(), i.to_string())));

    let query = UploadsQuery { prefix: "photos/", delimiter: Some("/"), ..UploadsQuery::default() };
    let page = table.list_uploads(&bucket("bkt"), &query);
    assert_eq!(page.common_prefixes, ["photos/2024/"]);
    assert_eq!(page.uploads.iter().map(|u| u.upload_id.to_string()).collect::<Vec<_>>(), ["id3", "id1"]);

    // Page size 1: the first page ends on the common prefix; the next skips past all of it.
    let query =
        UploadsQuery { prefix: "photos/", delimiter: Some("/"), max_uploads: Some(1), ..UploadsQuery::default() };
    let page = table.list_uploads(&bucket("bkt"), &query);
    assert_eq!((page.is_truncated, page.next_key_marker.as_deref()), (true, Some("photos/2024/")));
    assert_eq!(page.next_upload_id_marker, None);

    // An upload-id-marker that names no upload: uploads of that key with greater ids follow.
    let query =
        UploadsQuery { key_marker: Some("photos/b.jpg"), upload_id_marker: Some("id2"), ..UploadsQuery::default() };
    let page = table.list_uploads(&bucket("bkt"), &query);
    assert_eq!(page.uploads.iter().map(|u| u.upload_id.to_string()).collect::<Vec<_>>(), ["id3", "id4"]);
    // A known one: what follows it in initiation order.
    let query =
        UploadsQuery { key_marker: Some("photos/b.jpg"), upload_id_marker: Some("id3"), ..UploadsQuery::default() };
    let page = table.list_uploads(&bucket("bkt"), &query);
    assert_eq!(page.uploads.iter().map(|u| u.upload_id.to_string()).collect::<Vec<_>>(), ["id1", "id4"]);
    // Unknown buckets list nothing.
    assert!(table.list_uploads(&bucket("other"), &UploadsQuery::default()).uploads.is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Walking every page with the markers the table computes yields the naive listing,
    /// each entry exactly once.
    #[test]
    fn paging_through_uploads_matches_the_naive_listing(
        uploads in proptest::collection::vec(("[ab/é]{1,5}", 0u64..4), 0..40),
        prefix in prop_oneof![Just(""), Just("a"), Just("a/"), Just("b"), Just("é")],
        delimiter in prop_oneof![Just(None), Just(Some("/")), Just(Some("b/")), Just(Some("é"))],
        max in 1u32..6,
    ) {
        let mut table = UploadTable::new(Config::default());
        let mut rows = Vec::new();
        for (i, (k, at)) in uploads.into_iter().enumerate() {
            let upload = format!("id{i:03}");
            table.create(id(&upload), new_upload("bkt", &k), t(at)).unwrap();
            rows.push((k, at, upload));
        }
        let want = naive(&rows, prefix, delimiter);
        prop_assert_eq!(paged(&table, prefix, delimiter, max), want);
    }
}
