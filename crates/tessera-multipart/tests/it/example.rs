//! The `blocking_server` example, run for real: its server loop in a thread, driven over
//! loopback by a plain `std::net` client, across a restart in the middle of the upload.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::thread;

use tessera_proto::ETag;

use crate::util::md5;

#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/blocking_server.rs"]
mod blocking_server;

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn request(addr: SocketAddr, method: &str, target: &str, body: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(stream, "{method} {target} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n", body.len()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers =
        lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned())).collect();
    Reply { status, headers, body: raw[split + 4..].to_vec() }
}

/// Runs a server over `dir` in a thread for exactly `n` connections, while `client` runs.
fn with_server<T>(dir: &Path, n: usize, client: impl FnOnce(SocketAddr) -> T) -> T {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut server = blocking_server::Server::open(dir).unwrap();
    let handle = thread::spawn(move || server.serve(&listener, Some(n)).unwrap());
    let out = client(addr);
    handle.join().unwrap();
    out
}

fn element<'a>(xml: &'a str, name: &str) -> &'a str {
    let start = xml.find(&format!("<{name}>")).unwrap() + name.len() + 2;
    let end = xml[start..].find(&format!("</{name}>")).unwrap() + start;
    &xml[start..end]
}

fn complete_body(parts: &[(u32, &str)]) -> Vec<u8> {
    let mut xml = String::from("<CompleteMultipartUpload>");
    for (n, etag) in parts {
        xml.push_str(&format!("<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"));
    }
    xml.push_str("</CompleteMultipartUpload>");
    xml.into_bytes()
}

#[test]
fn blocking_server_completes_a_real_multipart_upload_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let part1: Vec<u8> = (0..5 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let part2 = b"the small last part".repeat(50);
    let part3 = b"uploaded but never listed".to_vec();
    let path = "/photos/2024/holiday%20movie.mp4";

    // First life: initiate and send part 1.
    let (upload_id, etag1) = with_server(dir.path(), 2, |addr| {
        let r = request(addr, "POST", &format!("{path}?uploads"), b"");
        assert_eq!(r.status, 200, "{}", r.text());
        let upload_id = element(&r.text(), "UploadId").to_owned();
        assert_eq!(element(&r.text(), "Key"), "2024/holiday movie.mp4");
        let r = request(addr, "PUT", &format!("{path}?partNumber=1&uploadId={upload_id}"), &part1);
        assert_eq!(r.status, 200, "{}", r.text());
        (upload_id, r.header("ETag").unwrap().to_owned())
    });
    assert_eq!(etag1, ETag::from_md5(&md5(&part1)).quoted());

    // Second life: the upload is restored from its record; finish it.
    let object = with_server(dir.path(), 7, |addr| {
        let put =
            |n: u32, body: &[u8]| request(addr, "PUT", &format!("{path}?partNumber={n}&uploadId={upload_id}"), body);
        let etag2 = put(2, &part2).header("ETag").unwrap().to_owned();
        let etag3 = put(3, &part3).header("ETag").unwrap().to_owned();
        let complete = |parts: &[(u32, &str)]| {
            request(addr, "POST", &format!("{path}?uploadId={upload_id}"), &complete_body(parts))
        };

        // Part 2 is below the 5 MiB minimum and not last: refused, nothing changes.
        let r = complete(&[(2, &etag2), (3, &etag3)]);
        assert_eq!((r.status, element(&r.text(), "Code")), (400, "EntityTooSmall"));
        let r = complete(&[(1, &etag1), (2, "\"00000000000000000000000000000000\"")]);
        assert_eq!((r.status, element(&r.text(), "Code")), (400, "InvalidPart"));

        // ETags in upper case without quotes are fine.
        let shouted = etag2.trim_matches('"').to_uppercase();
        let r = complete(&[(1, &etag1), (2, &shouted)]);
        assert_eq!(r.status, 200, "{}", r.text());
        let etag = element(&r.text(), "ETag").replace("&quot;", "\"");
        // A retried Complete answers the same success.
        let again = complete(&[(1, &etag1), (2, &etag2)]);
        assert_eq!((again.status, element(&again.text(), "ETag").replace("&quot;", "\"")), (200, etag.clone()));

        let get = request(addr, "GET", path, b"");
        assert_eq!(get.status, 200);
        assert_eq!(get.header("ETag"), Some(etag.as_str()));
        (etag, get.body)
    });
    let (etag, body) = object;
    assert_eq!(body, [part1.as_slice(), part2.as_slice()].concat());
    assert_eq!(etag, ETag::multipart([md5(&part1), md5(&part2)].iter()).quoted());
    // The unlisted part was discarded, the assembled ones moved into the object, the record deleted.
    assert_eq!(std::fs::read_dir(dir.path().join("staging")).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(dir.path().join("uploads")).unwrap().count(), 0);
}
