//! The upload table embedded in a stack that is not Tessera's: a single-threaded, blocking
//! HTTP/1.1 server over `std::net` that keeps parts and objects as files in a directory.
//! No tokio, no async, no Tessera server crate: this file is the whole embedder.
//!
//! ```text
//! cargo run -p tessera-multipart --example blocking_server -- ./data 127.0.0.1:9000
//! # initiate, upload two parts, complete, read back (AWS rules: parts but the last ≥ 5 MiB)
//! curl -X POST 'http://127.0.0.1:9000/bkt/big.bin?uploads'
//! curl -T part1 'http://127.0.0.1:9000/bkt/big.bin?partNumber=1&uploadId=ID'   # prints the ETag header with -i
//! curl -T part2 'http://127.0.0.1:9000/bkt/big.bin?partNumber=2&uploadId=ID'
//! curl -X POST --data '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"…"</ETag></Part>…</CompleteMultipartUpload>' \
//!      'http://127.0.0.1:9000/bkt/big.bin?uploadId=ID'
//! curl -o out.bin 'http://127.0.0.1:9000/bkt/big.bin'
//! ```
//!
//! Requests are not authenticated, bodies must carry `Content-Length`, and the XML handling
//! is a few lines of string search: enough to show the table standing alone.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use md5::{Digest, Md5};
use tessera_multipart::{
    Action, AssembleFailed, Assembly, CompletePart, CompleteRequest, Completion, Config, Crc, CrcCombiner,
    MultipartError, NewUpload, PartReceipt, StageRef, Timestamp, UploadRecord, UploadTable,
};
use tessera_proto::{BucketName, Dialect, ETag, ErrorCode, ObjectKey, PartNumber, UploadId};

/// Longest request head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// Largest Complete body accepted (10 000 parts fit).
const MAX_XML: u64 = 2 * 1024 * 1024;

/// A request: method, decoded path segments, query, headers, and the unread body.
pub struct Request<R> {
    /// `GET`, `PUT`…
    pub method: String,
    /// The first path segment (path-style addressing).
    pub bucket: String,
    /// The rest of the path, decoded.
    pub key: String,
    /// The query parameters, decoded.
    pub query: HashMap<String, String>,
    /// `Content-Length` (0 if absent).
    pub content_length: u64,
    /// The body, limited to `content_length`.
    pub body: R,
}

/// A response to write.
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    fn xml(body: String) -> Response {
        Response { status: 200, headers: vec![("Content-Type".into(), "application/xml".into())], body: body.into() }
    }

    fn error(code: &ErrorCode, message: &str) -> Response {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{}</Message></Error>",
            escape(message)
        );
        Response { status: code.status(), ..Response::xml(body) }
    }

    fn from_error(e: &MultipartError) -> Response {
        Response::error(&e.code(), &e.to_string())
    }
}

/// The embedder: the table, the files, and the objects' ETags.
pub struct Server {
    dir: PathBuf,
    table: UploadTable,
    /// Persisted upload records, mirrored in `uploads/<id>.json`.
    records: HashMap<UploadId, UploadRecord>,
    etags: HashMap<(String, String), ETag>,
    next_id: u64,
}

fn now() -> Timestamp {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    Timestamp(u64::try_from(ms).unwrap_or(u64::MAX))
}

impl Server {
    /// A server over `dir`, restoring the uploads persisted there.
    pub fn open(dir: &Path) -> io::Result<Server> {
        for sub in ["uploads", "staging", "objects"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        let mut records = HashMap::new();
        for entry in fs::read_dir(dir.join("uploads"))? {
            let bytes = fs::read(entry?.path())?;
            let record: UploadRecord = serde_json::from_slice(&bytes).map_err(io::Error::other)?;
            records.insert(record.upload_id.clone(), record);
        }
        let mut table = UploadTable::new(Config::default());
        table.restore(records.values().cloned()).map_err(io::Error::other)?;
        let next_id = now().0;
        Ok(Server { dir: dir.to_path_buf(), table, records, etags: HashMap::new(), next_id })
    }

    /// Serves connections one at a time, each carrying one request; stops after `limit`.
    pub fn serve(&mut self, listener: &TcpListener, limit: Option<usize>) -> io::Result<()> {
        for (served, stream) in listener.incoming().enumerate() {
            if limit.is_some_and(|l| served >= l) {
                break;
            }
            if let Err(e) = self.connection(stream?) {
                eprintln!("connection failed: {e}");
            }
            if limit.is_some_and(|l| served + 1 >= l) {
                break;
            }
        }
        Ok(())
    }

    fn connection(&mut self, stream: TcpStream) -> io::Result<()> {
        let mut reader = BufReader::new(stream.try_clone()?);
        let response = match read_head(&mut reader) {
            Ok(req) => {
                let body = (&mut reader).take(req.content_length);
                self.handle(Request {
                    method: req.method,
                    bucket: req.bucket,
                    key: req.key,
                    query: req.query,
                    content_length: req.content_length,
                    body,
                })
            }
            Err(e) => Response::error(&ErrorCode::BadRequest, &e.to_string()),
        };
        write_response(stream, &response)
    }

    /// Routes one request.
    pub fn handle(&mut self, req: Request<impl Read>) -> Response {
        let upload_id = req.query.get("uploadId").cloned();
        let result = match (req.method.as_str(), upload_id) {
            ("POST", None) if req.query.contains_key("uploads") => self.create(&req),
            ("PUT", Some(id)) => self.upload_part(req, &id),
            ("POST", Some(id)) => self.complete(req, &id),
            ("DELETE", Some(id)) => self.abort(&req, &id),
            ("GET", Some(id)) => self.list_parts(&req, &id),
            ("GET", None) => self.get_object(&req),
            _ => Err(Response::error(&ErrorCode::NotImplemented, "Only multipart uploads and GET are served.")),
        };
        result.unwrap_or_else(|r| r)
    }

    fn names(req: &Request<impl Read>) -> Result<(BucketName, ObjectKey), Response> {
        let bucket = BucketName::new(&req.bucket).map_err(|e| Response::error(&e.code, &e.message))?;
        let key = ObjectKey::new(&req.key).map_err(|e| Response::error(&e.code, &e.message))?;
        Ok((bucket, key))
    }

    fn upload_id(&self, req: &Request<impl Read>, id: &str) -> Result<UploadId, Response> {
        let (bucket, key) = Self::names(req)?;
        let id = UploadId::new(id).map_err(|e| Response::error(&e.code, &e.message))?;
        self.table.lookup(&bucket, &key, &id).map_err(|e| Response::from_error(&e))?;
        Ok(id)
    }

    fn create(&mut self, req: &Request<impl Read>) -> Result<Response, Response> {
        let (bucket, key) = Self::names(req)?;
        self.next_id += 1;
        let id = UploadId::new(&format!("ex{:x}", self.next_id)).map_err(|e| Response::error(&e.code, &e.message))?;
        let new = NewUpload::new(bucket.clone(), key.clone(), Dialect::Aws);
        self.table.create(id.clone(), new, now()).map_err(|e| Response::from_error(&e))?;
        self.drain();
        Ok(Response::xml(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult><Bucket>{bucket}</Bucket><Key>{}</Key><UploadId>{id}</UploadId></InitiateMultipartUploadResult>",
            escape(key.as_str())
        )))
    }

    fn upload_part(&mut self, mut req: Request<impl Read>, id: &str) -> Result<Response, Response> {
        let id = self.upload_id(&req, id)?;
        let number: PartNumber = req
            .query
            .get("partNumber")
            .map(String::as_str)
            .unwrap_or("")
            .parse()
            .map_err(|e: tessera_proto::InvalidValue| Response::error(&e.code, &e.message))?;
        let ticket = self
            .table
            .begin_part(&id, number, Some(req.content_length), now())
            .map_err(|e| Response::from_error(&e))?;
        // The stage's name comes from the ticket: unique per attempt, never from the key.
        let name = format!("{}-{}-{}", ticket.upload_id(), ticket.part_number(), ticket.attempt());
        match stage(&self.dir.join("staging").join(&name), &mut req.body, req.content_length) {
            Ok((size, md5, crc64ecma)) => {
                let receipt = PartReceipt {
                    stage: StageRef::new(name),
                    size,
                    md5,
                    checksum: None,
                    crc64ecma,
                    meta: String::new(),
                };
                let result = self.table.finish_part(ticket, receipt, now());
                self.drain();
                let etag = result.map_err(|e| Response::from_error(&e))?;
                Ok(Response { status: 200, headers: vec![("ETag".into(), etag.quoted())], body: Vec::new() })
            }
            Err(e) => {
                let _ = fs::remove_file(self.dir.join("staging").join(&name));
                self.table.abandon_part(ticket).map_err(|e| Response::from_error(&e))?;
                Err(Response::error(&ErrorCode::IncompleteBody, &e.to_string()))
            }
        }
    }

    fn complete(&mut self, mut req: Request<impl Read>, id: &str) -> Result<Response, Response> {
        let id = match UploadId::new(id) {
            // A completed upload is gone from the table but may still answer a retry.
            Ok(id) if self.table.upload(&id).is_none() => id,
            _ => self.upload_id(&req, id)?,
        };
        if req.content_length > MAX_XML {
            return Err(Response::error(&ErrorCode::MalformedXML, "The part list is too long."));
        }
        let mut xml = String::new();
        req.body.read_to_string(&mut xml).map_err(|e| Response::error(&ErrorCode::MalformedXML, &e.to_string()))?;
        let parts = parse_complete(&xml).ok_or_else(|| Response::error(&ErrorCode::MalformedXML, "Bad part list."))?;
        let done = match self.table.complete(&id, &CompleteRequest::new(parts), now()) {
            Ok(Completion::AlreadyCompleted(done)) => done,
            Ok(Completion::Assembling) => self.drain().ok_or_else(|| {
                Response::error(&ErrorCode::InternalError, "The object could not be assembled; retry.")
            })?,
            Err(e) => return Err(Response::from_error(&e)),
        };
        Ok(Response::xml(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUploadResult><Bucket>{}</Bucket><Key>{}</Key><ETag>{}</ETag></CompleteMultipartUploadResult>",
            done.bucket,
            escape(done.key.as_str()),
            escape(&done.etag.quoted())
        )))
    }

    fn abort(&mut self, req: &Request<impl Read>, id: &str) -> Result<Response, Response> {
        let id = self.upload_id(req, id)?;
        self.table.abort(&id).map_err(|e| Response::from_error(&e))?;
        self.drain();
        Ok(Response { status: 204, headers: Vec::new(), body: Vec::new() })
    }

    fn list_parts(&mut self, req: &Request<impl Read>, id: &str) -> Result<Response, Response> {
        let id = self.upload_id(req, id)?;
        let marker = req.query.get("part-number-marker").and_then(|m| m.parse().ok());
        let max = req.query.get("max-parts").and_then(|m| m.parse().ok());
        let page = self.table.list_parts(&id, marker, max).map_err(|e| Response::from_error(&e))?;
        let mut xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListPartsResult><UploadId>{id}</UploadId><IsTruncated>{}</IsTruncated>",
            page.is_truncated
        );
        if let Some(next) = page.next_part_number_marker {
            xml.push_str(&format!("<NextPartNumberMarker>{next}</NextPartNumberMarker>"));
        }
        for p in &page.parts {
            xml.push_str(&format!(
                "<Part><PartNumber>{}</PartNumber><ETag>{}</ETag><Size>{}</Size></Part>",
                p.number,
                escape(&p.etag.quoted()),
                p.size
            ));
        }
        xml.push_str("</ListPartsResult>");
        Ok(Response::xml(xml))
    }

    fn get_object(&mut self, req: &Request<impl Read>) -> Result<Response, Response> {
        let (bucket, key) = Self::names(req)?;
        let body = fs::read(self.object_path(&bucket, &key))
            .map_err(|_| Response::error(&ErrorCode::NoSuchKey, ErrorCode::NoSuchKey.default_message()))?;
        let mut headers = vec![("Content-Type".into(), "application/octet-stream".into())];
        if let Some(etag) = self.etags.get(&(bucket.to_string(), key.to_string())) {
            headers.push(("ETag".into(), etag.quoted()));
        }
        Ok(Response { status: 200, headers, body })
    }

    /// Keys never become paths: the file name is the hex of bucket and key.
    fn object_path(&self, bucket: &BucketName, key: &ObjectKey) -> PathBuf {
        let hex: String = format!("{bucket}/{key}").bytes().map(|b| format!("{b:02x}")).collect();
        self.dir.join("objects").join(hex)
    }

    /// Performs every queued action in order; returns the result of an assembly, if one ran.
    fn drain(&mut self) -> Option<tessera_multipart::CompletedUpload> {
        let mut completed = None;
        while let Some(action) = self.table.poll_action() {
            match action {
                Action::PersistUpload { upload_id, record } => {
                    self.records.insert(upload_id.clone(), *record);
                    self.write_record(&upload_id);
                }
                Action::PersistPart { upload_id, part } => {
                    if let Some(record) = self.records.get_mut(&upload_id) {
                        record.apply_part(part);
                    }
                    self.write_record(&upload_id);
                }
                Action::Discard { stage } => {
                    let _ = fs::remove_file(self.dir.join("staging").join(stage.as_str()));
                }
                Action::Assemble(assembly) => {
                    let outcome = self.assemble(&assembly).map_err(|e| AssembleFailed(e.to_string()));
                    if outcome.is_ok() {
                        self.etags
                            .insert((assembly.bucket.to_string(), assembly.key.to_string()), assembly.etag.clone());
                    }
                    match self.table.handle_assembled(&assembly.upload_id, outcome, now()) {
                        Ok(done) => completed = done,
                        Err(e) => eprintln!("embedder bug: {e}"),
                    }
                }
                Action::DeleteUpload { upload_id } => {
                    self.records.remove(&upload_id);
                    let _ = fs::remove_file(self.record_path(&upload_id));
                }
                other => eprintln!("unknown action {other:?}"),
            }
        }
        completed
    }

    /// Concatenates the staged parts into a temporary file and renames it into place: the
    /// object appears whole or not at all. (Tessera's own store writes a manifest instead.)
    fn assemble(&mut self, a: &Assembly) -> io::Result<()> {
        let target = self.object_path(&a.bucket, &a.key);
        let tmp = target.with_extension("tmp");
        let mut out = File::create(&tmp)?;
        for part in &a.parts {
            let mut f = File::open(self.dir.join("staging").join(part.stage.as_str()))?;
            io::copy(&mut f, &mut out)?;
        }
        out.sync_all()?;
        fs::rename(&tmp, &target)?;
        // The object now holds the bytes; the staged copies and the record can go.
        for part in &a.parts {
            let _ = fs::remove_file(self.dir.join("staging").join(part.stage.as_str()));
        }
        self.records.remove(&a.upload_id);
        fs::remove_file(self.record_path(&a.upload_id))
    }

    fn record_path(&self, id: &UploadId) -> PathBuf {
        self.dir.join("uploads").join(format!("{id}.json"))
    }

    fn write_record(&self, id: &UploadId) {
        if let Some(record) = self.records.get(id) {
            let path = self.record_path(id);
            let tmp = path.with_extension("tmp");
            let ok = serde_json::to_vec(record)
                .map_err(io::Error::other)
                .and_then(|bytes| fs::write(&tmp, bytes))
                .and_then(|()| fs::rename(&tmp, &path));
            if let Err(e) = ok {
                eprintln!("could not persist {id}: {e}");
            }
        }
    }
}

/// Streams `len` bytes of `body` into `path`, digesting them on the way: MD5, and the
/// CRC-64/XZ of each chunk folded together with [`CrcCombiner`].
fn stage(path: &Path, body: &mut impl Read, len: u64) -> io::Result<(u64, [u8; 16], u64)> {
    let mut file = File::create(path)?;
    let mut md5 = Md5::new();
    let mut crc = CrcCombiner::new(Crc::Crc64Xz);
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = body.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        md5.update(chunk);
        crc.push(Crc::Crc64Xz.checksum(chunk), n as u64);
        file.write_all(chunk)?;
        size += n as u64;
    }
    if size != len {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "body shorter than Content-Length"));
    }
    file.sync_all()?;
    Ok((size, md5.finalize().into(), crc.value()))
}

/// The parts of a `<CompleteMultipartUpload>` body, by string search.
fn parse_complete(xml: &str) -> Option<Vec<CompletePart>> {
    let mut parts = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find("<Part>") {
        let end = rest[start..].find("</Part>")? + start;
        let part = &rest[start..end];
        let number: PartNumber = element(part, "PartNumber")?.trim().parse().ok()?;
        let etag = ETag::parse(element(part, "ETag")?).ok()?;
        parts.push(CompletePart { number, etag, checksum: None });
        rest = &rest[end..];
    }
    Some(parts)
}

fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(&xml[start..end])
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Reads the request line and headers.
pub fn read_head(reader: &mut impl BufRead) -> io::Result<Request<()>> {
    let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidData, why.to_owned());
    let mut line = String::new();
    let mut total = 0;
    let mut read_line = |line: &mut String| -> io::Result<()> {
        line.clear();
        total += reader.take(MAX_HEAD as u64).read_line(line)?;
        if total >= MAX_HEAD { Err(bad("request head too long")) } else { Ok(()) }
    };
    read_line(&mut line)?;
    let mut words = line.split_whitespace();
    let (Some(method), Some(target)) = (words.next(), words.next()) else { return Err(bad("bad request line")) };
    let method = method.to_owned();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let path = percent_decode(path).ok_or_else(|| bad("bad path encoding"))?;
    let (bucket, key) = path.trim_start_matches('/').split_once('/').unwrap_or((path.trim_start_matches('/'), ""));
    let (bucket, key) = (bucket.to_owned(), key.to_owned());
    let mut params = HashMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        params.insert(
            percent_decode(k).ok_or_else(|| bad("bad query"))?,
            percent_decode(v).ok_or_else(|| bad("bad query"))?,
        );
    }
    let mut content_length = 0;
    loop {
        read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            content_length = value.trim().parse().map_err(|_| bad("bad Content-Length"))?;
        }
    }
    Ok(Request { method, bucket, key, query: params, content_length, body: () })
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(if b == b'+' { b' ' } else { b });
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn write_response(mut stream: TcpStream, r: &Response) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        r.status,
        reason(r.status),
        r.body.len()
    );
    for (name, value) in &r.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(&r.body)?;
    stream.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        409 => "Conflict",
        _ => "Error",
    }
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "tessera-example-data".into()));
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:9000".into());
    let listener = TcpListener::bind(&addr)?;
    println!("serving {} on http://{}", dir.display(), listener.local_addr()?);
    Server::open(&dir)?.serve(&listener, None)
}
