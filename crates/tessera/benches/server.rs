//! End-to-end benchmark of `tessera serve` (release build, filesystem backend), run by
//! `cargo xtask bench`. It starts the server as a child process on a free port, drives it over
//! loopback with a lean client (hyper, SigV4 with `UNSIGNED-PAYLOAD`, no client-side MD5, so
//! the two cores go to the server), and prints one table:
//!
//! (a) a 1 GiB object in 16 MiB parts, 4 in flight: MiB/s and server CPU-seconds per GiB;
//! (b) CompleteMultipartUpload latency at 1,000 and 10,000 parts;
//! (c) GET of the 1 GiB object: MiB/s;
//! (d) the server's peak RSS;
//! (e) initiate + one small part + complete cycles per second with 16 workers;
//! (f) ListParts over 10,000 parts: time per 1,000-part page;
//!
//! and, in the same run, the 1 GiB upload and GET again with SSE-S3 (AES-256-CTR at rest), and
//! what the disk under the data directory sustains for written-then-fdatasynced 16 MiB files
//! (the ceiling for (a): every acknowledged part is fdatasynced).
//!
//! Figures, not assertions: nothing here fails on a slow machine.
//!
//! `TESSERA_BENCH_PHASES` (letters of `abcdef`) runs only those phases; `BENCH_SERVER_LOG`
//! sets the server's log filter (`info` logs every request with its latency).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tessera_sign::{ResourceView, Secret, Signer, SigningScheme};

const ACCESS_KEY: &str = "TESSERABENCH0001";
const SECRET_KEY: &str = "bench/Secret+Key=0000000000000000000000";
const BUCKET: &str = "bench";
const MIB: u64 = 1024 * 1024;

type Http = Client<HttpConnector, Full<Bytes>>;

struct Server {
    child: Child,
    addr: String,
    data: PathBuf,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let data = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-data");
        let _ = std::fs::remove_dir_all(&data);
        let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(&data)
            .args(["--min-part-size", "aws=1"])
            .args(extra)
            .env("TESSERA_ACCESS_KEY", ACCESS_KEY)
            .env("TESSERA_SECRET_KEY", SECRET_KEY)
            .env("TESSERA_LOG", std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tessera serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read the serving line");
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected first line from tessera serve: {line:?}"))
            .to_owned();
        Server { child, addr, data }
    }

    /// utime + stime of the server process, in seconds.
    fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name (which is in parentheses and may hold spaces).
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
        // utime and stime are fields 14 and 15 of /proc/PID/stat; `rest` starts at field 3.
        (ticks(11) + ticks(12)) / 100.0
    }

    /// Peak resident set size of the server, in MiB.
    fn peak_rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

#[derive(Clone)]
struct S3 {
    http: Http,
    addr: Arc<str>,
    signer: Arc<Signer>,
}

impl S3 {
    fn new(addr: &str) -> S3 {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let http = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(64).build(connector);
        let scheme = SigningScheme::SigV4 { region: "us-east-1".into(), service: "s3".into() };
        let signer = Signer::new(ACCESS_KEY, Secret::new(SECRET_KEY), scheme);
        S3 { http, addr: addr.into(), signer: Arc::new(signer) }
    }

    async fn send(&self, method: Method, target: &str, body: Bytes) -> (u16, Bytes) {
        self.send_with(method, target, body, &[]).await
    }

    async fn send_with(&self, method: Method, target: &str, body: Bytes, extra: &[(&str, &str)]) -> (u16, Bytes) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut headers = HeaderMap::new();
        headers.insert(http::header::HOST, HeaderValue::from_str(&self.addr).expect("host"));
        headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        for (name, value) in extra {
            let name = http::HeaderName::from_bytes(name.as_bytes()).expect("header name");
            headers.insert(name, HeaderValue::from_str(value).expect("header value"));
        }
        self.signer.sign(method.as_str(), target, &mut headers, &ResourceView::path_style(BUCKET), now).expect("sign");
        let mut req = Request::builder().method(method).uri(format!("http://{}{target}", self.addr));
        if let Some(h) = req.headers_mut() {
            *h = headers;
        }
        let response = self.http.request(req.body(Full::new(body)).expect("request")).await.expect("send");
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.expect("body").to_bytes();
        (status, body)
    }

    async fn ok(&self, method: Method, target: &str, body: Bytes) -> Bytes {
        let (status, body) = self.send(method.clone(), target, body).await;
        assert!((200..300).contains(&status), "{method} {target}: {status} {}", String::from_utf8_lossy(&body));
        body
    }

    async fn initiate(&self, key: &str) -> String {
        self.initiate_with(key, &[]).await
    }

    async fn initiate_with(&self, key: &str, extra: &[(&str, &str)]) -> String {
        let target = format!("/{BUCKET}/{key}?uploads");
        let (status, body) = self.send_with(Method::POST, &target, Bytes::new(), extra).await;
        assert!((200..300).contains(&status), "initiate {key}: {status} {}", String::from_utf8_lossy(&body));
        let text = String::from_utf8_lossy(&body);
        between(&text, "<UploadId>", "</UploadId>").expect("UploadId").to_owned()
    }

    /// Uploads part `n` and returns its ETag.
    async fn part(&self, key: &str, upload: &str, n: u32, body: Bytes) -> String {
        let target = format!("/{BUCKET}/{key}?partNumber={n}&uploadId={upload}");
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut headers = HeaderMap::new();
        headers.insert(http::header::HOST, HeaderValue::from_str(&self.addr).expect("host"));
        headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        self.signer.sign("PUT", &target, &mut headers, &ResourceView::path_style(BUCKET), now).expect("sign");
        let mut req = Request::builder().method(Method::PUT).uri(format!("http://{}{target}", self.addr));
        if let Some(h) = req.headers_mut() {
            *h = headers;
        }
        let response = self.http.request(req.body(Full::new(body)).expect("request")).await.expect("send");
        assert!(response.status().is_success(), "part {n}: {}", response.status());
        let etag = response.headers().get("etag").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let _ = response.into_body().collect().await;
        etag
    }

    async fn complete(&self, key: &str, upload: &str, etags: &[String]) -> Duration {
        let mut xml = String::with_capacity(etags.len() * 80 + 100);
        xml.push_str("<CompleteMultipartUpload>");
        for (i, etag) in etags.iter().enumerate() {
            xml.push_str(&format!("<Part><PartNumber>{}</PartNumber><ETag>{etag}</ETag></Part>", i + 1));
        }
        xml.push_str("</CompleteMultipartUpload>");
        let started = Instant::now();
        self.ok(Method::POST, &format!("/{BUCKET}/{key}?uploadId={upload}"), Bytes::from(xml)).await;
        started.elapsed()
    }
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(&text[start..end])
}

/// Deterministic incompressible-looking bytes (xorshift), so nothing benefits from zeros.
fn data(len: usize, seed: u64) -> Bytes {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    Bytes::from(out)
}

/// Uploads `parts` one-byte parts to a new upload of `key`, 16 in flight; returns the upload
/// id and the ETags in part order.
async fn many_parts(s3: &S3, key: &str, parts: u32) -> (String, Vec<String>) {
    let upload = s3.initiate(key).await;
    let mut etags = vec![String::new(); parts as usize];
    let mut tasks = tokio::task::JoinSet::new();
    let mut next = 1u32;
    while next <= parts || !tasks.is_empty() {
        while next <= parts && tasks.len() < 16 {
            let (s3, key, upload) = (s3.clone(), key.to_owned(), upload.clone());
            let n = next;
            tasks.spawn(async move { (n, s3.part(&key, &upload, n, Bytes::from_static(b"x")).await) });
            next += 1;
        }
        if let Some(done) = tasks.join_next().await {
            let (n, etag) = done.expect("part task");
            etags[n as usize - 1] = etag;
        }
    }
    (upload, etags)
}

/// utime + stime of this process, in seconds.
fn own_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Uploads 64 copies of `part` (16 MiB) as `key`, 4 in flight, initiated with `extra` headers,
/// and completes it: (MiB/s of the part uploads, server CPU-seconds per GiB).
async fn upload_gib(s3: &S3, server: &Server, key: &str, part: &Bytes, extra: &[(&str, &str)]) -> (f64, f64) {
    let parts = 64u32;
    let upload = s3.initiate_with(key, extra).await;
    let cpu_before = server.cpu_seconds();
    let started = Instant::now();
    let mut etags = vec![String::new(); parts as usize];
    let mut tasks = tokio::task::JoinSet::new();
    let mut next = 1u32;
    while next <= parts || !tasks.is_empty() {
        while next <= parts && tasks.len() < 4 {
            let (s3, key, upload, body) = (s3.clone(), key.to_owned(), upload.clone(), part.clone());
            let n = next;
            tasks.spawn(async move { (n, s3.part(&key, &upload, n, body).await) });
            next += 1;
        }
        if let Some(done) = tasks.join_next().await {
            let (n, etag) = done.expect("part task");
            etags[n as usize - 1] = etag;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = server.cpu_seconds() - cpu_before;
    s3.complete(key, &upload, &etags).await;
    let gib = f64::from(parts) * part.len() as f64 / (1024.0 * MIB as f64);
    (gib * 1024.0 / secs, cpu / gib)
}

/// GETs `key` (1 GiB) twice and returns the better MiB/s.
async fn get_gib(s3: &S3, server: &Server, key: &str) -> f64 {
    let mut best = 0.0f64;
    for _ in 0..2 {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let target = format!("/{BUCKET}/{key}");
        let mut headers = HeaderMap::new();
        headers.insert(http::header::HOST, HeaderValue::from_str(&server.addr).expect("host"));
        s3.signer.sign("GET", &target, &mut headers, &ResourceView::path_style(BUCKET), now).expect("sign");
        let mut req = Request::builder().method(Method::GET).uri(format!("http://{}{target}", server.addr));
        if let Some(h) = req.headers_mut() {
            *h = headers;
        }
        let started = Instant::now();
        let response = s3.http.request(req.body(Full::new(Bytes::new())).expect("request")).await.expect("get");
        let mut body = response.into_body();
        let mut total = 0u64;
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.expect("frame").into_data() {
                total += data.len() as u64;
            }
        }
        assert_eq!(total, 1024 * MIB);
        best = best.max(total as f64 / MIB as f64 / started.elapsed().as_secs_f64());
    }
    best
}

/// What the disk under `dir` sustains for 16 files of 16 MiB, each written and then
/// fdatasynced, 4 at a time as (a) writes parts: MiB/s.
fn disk_mib_s(dir: &Path, part: &Bytes) -> f64 {
    use std::io::Write;
    let probe = dir.join("disk-probe");
    std::fs::create_dir_all(&probe).expect("probe dir");
    let started = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..4 {
            let probe = &probe;
            scope.spawn(move || {
                for i in 0..4 {
                    let path = probe.join(format!("{t}-{i}"));
                    let mut file = std::fs::File::create(&path).expect("probe file");
                    file.write_all(part).expect("write");
                    file.sync_data().expect("fdatasync");
                }
            });
        }
    });
    let secs = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&probe);
    16.0 * part.len() as f64 / MIB as f64 / secs
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else is expected.
    let server = Server::start(&[]);
    let s3 = S3::new(&server.addr);
    s3.ok(Method::PUT, &format!("/{BUCKET}"), Bytes::new()).await;
    let mut rows: Vec<(String, String, String)> = Vec::new();

    // `TESSERA_BENCH_PHASES=be` runs only (b)/(f) and (e), say; all by default.
    let phases = std::env::var("TESSERA_BENCH_PHASES").unwrap_or_else(|_| "abcdef".into());
    let want = |p: char| phases.contains(p);

    // (a) 1 GiB in 16 MiB parts, 4 in flight; (c) GET it.
    if want('a') || want('c') {
        let part = data((16 * MIB) as usize, 7);
        let disk = disk_mib_s(server.data.parent().unwrap_or(Path::new(".")), &part);
        rows.push((
            "disk: 16 MiB files written + fdatasynced, 4 at a time".into(),
            format!("{disk:.0} MiB/s"),
            "(ceiling of a)".into(),
        ));
        let (mib_s, cpu_gib) = upload_gib(&s3, &server, "big", &part, &[]).await;
        rows.push((
            "(a) upload 1 GiB, 16 MiB parts, 4 in flight".into(),
            format!("{mib_s:.0} MiB/s"),
            "≥ 550 MiB/s".into(),
        ));
        rows.push((
            "(a) server CPU per GiB uploaded".into(),
            format!("{cpu_gib:.2} CPU-s/GiB"),
            "≤ 3 CPU-s/GiB".into(),
        ));
        let best = get_gib(&s3, &server, "big").await;
        rows.push(("(c) GET 1 GiB (page cache)".into(), format!("{best:.0} MiB/s"), "≥ 1400 MiB/s".into()));

        // The same with SSE-S3: every part encrypted under its own data key, decrypted on GET.
        let sse = [("x-amz-server-side-encryption", "AES256")];
        let (mib_s, cpu_gib) = upload_gib(&s3, &server, "big-sse", &part, &sse).await;
        rows.push(("    … with SSE-S3: upload 1 GiB".into(), format!("{mib_s:.0} MiB/s"), "(a) + AES-CTR".into()));
        rows.push((
            "    … with SSE-S3: server CPU per GiB uploaded".into(),
            format!("{cpu_gib:.2} CPU-s/GiB"),
            String::new(),
        ));
        let best = get_gib(&s3, &server, "big-sse").await;
        rows.push(("    … with SSE-S3: GET 1 GiB".into(), format!("{best:.0} MiB/s"), "(c) + AES-CTR".into()));
        s3.ok(Method::DELETE, &format!("/{BUCKET}/big-sse"), Bytes::new()).await;
    }

    // (b) and (f): complete latency at 1,000 and 10,000 parts (the median of 5 and 3 uploads:
    // one completion is one fsync-bound sample); ListParts pages over 10,000.
    if want('b') || want('f') {
        for (count, runs) in [(1_000u32, 5usize), (10_000, 3)] {
            let mut latencies = Vec::new();
            for run in 0..runs {
                let key = format!("parts-{count}-{run}");
                let (upload, etags) = many_parts(&s3, &key, count).await;
                if count == 10_000 && run == 0 {
                    let started = Instant::now();
                    let mut marker = 0u32;
                    let mut pages = 0u32;
                    loop {
                        let body = s3
                            .ok(
                                Method::GET,
                                &format!("/{BUCKET}/{key}?uploadId={upload}&part-number-marker={marker}"),
                                Bytes::new(),
                            )
                            .await;
                        pages += 1;
                        let text = String::from_utf8_lossy(&body);
                        if between(&text, "<IsTruncated>", "</IsTruncated>") != Some("true") {
                            break;
                        }
                        marker = between(&text, "<NextPartNumberMarker>", "</NextPartNumberMarker>")
                            .and_then(|m| m.parse().ok())
                            .expect("NextPartNumberMarker");
                    }
                    let per_page = started.elapsed().as_secs_f64() * 1000.0 / f64::from(pages);
                    rows.push((
                        "(f) ListParts over 10,000 parts, per 1,000-part page".into(),
                        format!("{per_page:.1} ms"),
                        "≤ 50 ms".into(),
                    ));
                }
                latencies.push(s3.complete(&key, &upload, &etags).await.as_secs_f64() * 1000.0);
                // Let the background removal of the part records finish before the next sample.
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            latencies.sort_by(f64::total_cmp);
            let target = if count == 1_000 { "≤ 5 ms" } else { "≤ 50 ms" };
            rows.push((
                format!("(b) CompleteMultipartUpload of {count} parts, median of {runs}"),
                format!("{:.1} ms", latencies[runs / 2]),
                target.into(),
            ));
            rows.push((
                format!("(b)   fastest / slowest of the {runs}"),
                format!("{:.1} / {:.1} ms", latencies[0], latencies[runs - 1]),
                String::new(),
            ));
        }
    }

    if want('e') {
        // (e) initiate + one small part + complete, 16 workers, for 5 seconds.
        let deadline = Instant::now() + Duration::from_secs(5);
        let started = Instant::now();
        let server_cpu = server.cpu_seconds();
        let own_cpu = own_cpu_seconds();
        let mut workers = tokio::task::JoinSet::new();
        for w in 0..16 {
            let s3 = s3.clone();
            workers.spawn(async move {
                let mut cycles = 0u64;
                while Instant::now() < deadline {
                    let key = format!("cycle/{w}/{cycles}");
                    let upload = s3.initiate(&key).await;
                    let etag = s3.part(&key, &upload, 1, Bytes::from_static(b"small part")).await;
                    s3.complete(&key, &upload, &[etag]).await;
                    cycles += 1;
                }
                cycles
            });
        }
        let mut cycles = 0u64;
        while let Some(done) = workers.join_next().await {
            cycles += done.expect("worker");
        }
        let secs = started.elapsed().as_secs_f64();
        let rate = cycles as f64 / secs;
        let (server_cpu, own_cpu) = (server.cpu_seconds() - server_cpu, own_cpu_seconds() - own_cpu);
        rows.push((
            "(e) initiate + part + complete, 16 workers".into(),
            format!("{rate:.0} cycles/s"),
            "≥ 2000/s".into(),
        ));
        rows.push((
            "(e) CPU: server / this client, cores busy".into(),
            format!("{:.2} / {:.2}", server_cpu / secs, own_cpu / secs),
            "of 2".into(),
        ));
    }

    // (d) peak RSS over the whole run.
    rows.push(("(d) server peak RSS".into(), format!("{:.1} MiB", server.peak_rss_mib()), "≤ 64 MiB".into()));

    println!(
        "\ntessera serve (release, fs backend) on {} cores\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("{:<55} {:>16}   target", "measure", "figure");
    for (what, figure, target) in rows {
        println!("{what:<55} {figure:>16}   {target}");
    }
}
