//! `tessera serve` as a person runs it: a real process on a loopback port, driven with signed
//! requests over plain sockets. Graceful shutdown finishes a request already in flight, and a
//! restart on the same data directory finds everything acknowledged.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue};
use tessera_sign::{ResourceView, Secret, Signer, SigningScheme};

const ACCESS_KEY: &str = "TESSERATEST00001";
const SECRET_KEY: &str = "test/Secret+Key=00000000000000000000000";

struct Serve {
    child: Child,
    addr: String,
}

impl Serve {
    fn start(backend: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(backend)
            .env("TESSERA_ACCESS_KEY", ACCESS_KEY)
            .env("TESSERA_SECRET_KEY", SECRET_KEY)
            .env("TESSERA_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tessera serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("serving line");
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_owned();
        Serve { child, addr }
    }

    fn terminate(&self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill");
        assert!(status.success());
    }

    fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "tessera serve did not exit within {within:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The head of a signed request for `target` on `bucket`, with `len` bytes of body to follow.
fn head(addr: &str, method: &str, bucket: &str, target: &str, len: usize) -> Vec<u8> {
    let mut out = head_with(addr, method, bucket, target, len, &[]);
    out.truncate(out.len() - 2);
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out
}

/// The head of a signed keep-alive request with `extra` headers (signed too).
fn head_with(addr: &str, method: &str, bucket: &str, target: &str, len: usize, extra: &[(&str, &str)]) -> Vec<u8> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs();
    let mut headers = HeaderMap::new();
    headers.insert(http::header::HOST, HeaderValue::from_str(addr).expect("host"));
    headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(len));
    for (name, value) in extra {
        let name = http::HeaderName::from_bytes(name.as_bytes()).expect("name");
        headers.insert(name, HeaderValue::from_str(value).expect("value"));
    }
    let scheme = SigningScheme::SigV4 { region: "us-east-1".into(), service: "s3".into() };
    Signer::new(ACCESS_KEY, Secret::new(SECRET_KEY), scheme)
        .sign(method, target, &mut headers, &ResourceView::path_style(bucket), now)
        .expect("sign");
    let mut out = format!("{method} {target} HTTP/1.1\r\n").into_bytes();
    for (name, value) in &headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Reads one response from a connection that stays open: status, head, body (by its
/// `Content-Length`).
fn read_one(conn: &mut TcpStream) -> (u16, String, Vec<u8>) {
    let mut reader = BufReader::new(conn);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).expect("read head line");
        assert!(n > 0, "the connection closed before a response: {head:?}");
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status");
    let len = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).expect("body");
    (status, head, body)
}

/// Reads a whole `Connection: close` response: status and body.
fn response(conn: &mut TcpStream) -> (u16, Vec<u8>) {
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).expect("read response");
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("end of head") + 4;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status");
    (status, raw[split..].to_vec())
}

fn request(addr: &str, method: &str, bucket: &str, target: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut conn = TcpStream::connect(addr).expect("connect");
    conn.write_all(&head(addr, method, bucket, target, body.len())).expect("head");
    conn.write_all(body).expect("body");
    response(&mut conn)
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn sigterm_finishes_the_request_in_flight_and_a_restart_finds_it() {
    let dir = tempfile::Builder::new().prefix("serve-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let data_dir = dir.path().join("data");
    let backend = ["--data", data_dir.to_str().expect("utf-8 path")];
    let mut server = Serve::start(&backend);
    let (status, body) = request(&server.addr, "PUT", "shutdown", "/shutdown", b"");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));

    // Half the body, then SIGTERM, then the rest: the upload must still be acknowledged.
    let object = data(2 * 1024 * 1024);
    let mut conn = TcpStream::connect(&server.addr).expect("connect");
    conn.write_all(&head(&server.addr, "PUT", "shutdown", "/shutdown/in-flight.bin", object.len())).expect("head");
    conn.write_all(&object[..object.len() / 2]).expect("first half");
    std::thread::sleep(Duration::from_millis(200));
    server.terminate();
    std::thread::sleep(Duration::from_millis(200));
    conn.write_all(&object[object.len() / 2..]).expect("second half");
    let (status, body) = response(&mut conn);
    assert_eq!(status, 200, "the request in flight at SIGTERM: {}", String::from_utf8_lossy(&body));
    let exit = server.wait_exit(Duration::from_secs(20));
    assert!(exit.success(), "tessera serve exited with {exit}");

    // New connections are refused once it has stopped; a restart serves the object whole.
    assert!(TcpStream::connect(&server.addr).is_err());
    let server = Serve::start(&backend);
    let (status, body) = request(&server.addr, "GET", "shutdown", "/shutdown/in-flight.bin", b"");
    assert_eq!(status, 200);
    assert!(body == object, "object read back after restart differs");
    drop(server);
    assert!(Path::new(&data_dir).is_dir());
}

#[test]
fn memory_backend_round_trip_and_errors() {
    let server = Serve::start(&["--memory"]);
    assert_eq!(request(&server.addr, "PUT", "mem", "/mem", b"").0, 200);
    let object = data(300_000);
    assert_eq!(request(&server.addr, "PUT", "mem", "/mem/a%20b/c.bin", &object).0, 200);
    let (status, body) = request(&server.addr, "GET", "mem", "/mem/a%20b/c.bin", b"");
    assert_eq!(status, 200);
    assert!(body == object);
    let (status, body) = request(&server.addr, "GET", "mem", "/mem/missing", b"");
    assert_eq!(status, 404);
    assert!(String::from_utf8_lossy(&body).contains("<Code>NoSuchKey</Code>"));
    // A bucket that is not empty cannot be deleted.
    let (status, body) = request(&server.addr, "DELETE", "mem", "/mem", b"");
    assert_eq!(status, 409, "{}", String::from_utf8_lossy(&body));
    // The health endpoint needs no signature.
    let mut conn = TcpStream::connect(&server.addr).expect("connect");
    conn.write_all(b"GET /_tessera/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").expect("write");
    assert_eq!(response(&mut conn), (200, b"ok\n".to_vec()));
}

#[test]
fn a_request_refused_before_its_body_was_read_leaves_the_connection_usable() {
    let server = Serve::start(&["--memory"]);
    assert_eq!(request(&server.addr, "PUT", "early", "/early", b"").0, 200);
    let mut conn = TcpStream::connect(&server.addr).expect("connect");
    // An UploadPart to an upload that does not exist, refused before its 20 KiB are read...
    let target = "/early/k?partNumber=1&uploadId=no-such-upload";
    conn.write_all(&head_with(&server.addr, "PUT", "early", target, 20_000, &[])).expect("head");
    conn.write_all(&data(20_000)).expect("body");
    let (status, head, body) = read_one(&mut conn);
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
    assert!(!head.to_ascii_lowercase().contains("connection: close"), "{head}");
    // ...and the same connection carries the next request.
    conn.write_all(&head_with(&server.addr, "GET", "early", "/early/missing", 0, &[])).expect("second head");
    let (status, _, body) = read_one(&mut conn);
    assert_eq!(status, 404);
    assert!(String::from_utf8_lossy(&body).contains("NoSuchKey"));

    // A client waiting for `100 Continue` is not asked for a body that is refused anyway: it
    // gets the error at once, and the connection closes.
    let mut conn = TcpStream::connect(&server.addr).expect("connect");
    let expect = [("expect", "100-continue")];
    conn.write_all(&head_with(&server.addr, "PUT", "early", target, 20_000, &expect)).expect("head");
    let (status, head, _) = read_one(&mut conn);
    assert_eq!(status, 404, "{head}");
    assert!(head.to_ascii_lowercase().contains("connection: close"), "{head}");

    // A remainder too large to read is not read: the response says the connection closes.
    let mut conn = TcpStream::connect(&server.addr).expect("connect");
    conn.write_all(&head_with(&server.addr, "PUT", "early", target, 8 << 20, &[])).expect("head");
    conn.write_all(&data(64 * 1024)).expect("some of the body");
    let (status, head, _) = read_one(&mut conn);
    assert_eq!(status, 404);
    assert!(head.to_ascii_lowercase().contains("connection: close"), "{head}");
}

#[test]
fn kms_keys_come_from_the_key_file_and_a_bad_file_stops_the_server() {
    let dir = tempfile::Builder::new().prefix("kms-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let keys = dir.path().join("keys.toml");
    std::fs::write(
        &keys,
        format!(
            "# test keys\nteam-a = \"{}\"\nteam-b = \"{}\"\ndefault = \"team-b\"\n",
            "ab".repeat(32),
            "cd".repeat(32)
        ),
    )
    .expect("key file");
    let data_dir = dir.path().join("data");
    let args = ["--data", data_dir.to_str().expect("utf-8"), "--kms-key-file", keys.to_str().expect("utf-8")];
    let server = Serve::start(&args);
    assert_eq!(request(&server.addr, "PUT", "kms", "/kms", b"").0, 200);
    let object = data(100_000);
    let mut conn = TcpStream::connect(&server.addr).expect("connect");
    let sse = [("x-amz-server-side-encryption", "aws:kms")];
    conn.write_all(&head_with(&server.addr, "PUT", "kms", "/kms/secret.bin", object.len(), &sse)).expect("head");
    conn.write_all(&object).expect("body");
    let (status, head, body) = read_one(&mut conn);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let head = head.to_ascii_lowercase();
    assert!(head.contains("x-amz-server-side-encryption: aws:kms"), "{head}");
    assert!(head.contains("x-amz-server-side-encryption-aws-kms-key-id: team-b"), "the default key: {head}");
    conn.write_all(&head_with(&server.addr, "GET", "kms", "/kms/secret.bin", 0, &[])).expect("get");
    let (status, _, body) = read_one(&mut conn);
    assert_eq!(status, 200);
    assert!(body == object);
    // The SSE-S3 master key lives beside the data, readable by its owner only.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(data_dir.join("sse-master.key")).expect("sse-master.key").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    drop(server);

    std::fs::write(&keys, "team-a = \"too short\"\n").expect("bad key file");
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .env("TESSERA_ACCESS_KEY", ACCESS_KEY)
        .env("TESSERA_SECRET_KEY", SECRET_KEY)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("keys.toml") && stderr.contains("line 1"), "{stderr}");
}
