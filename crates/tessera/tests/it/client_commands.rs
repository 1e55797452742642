//! `tessera cp`, `ls`, `mb`, `rb`, `rm`, `uploads` against `tessera serve`, with their exit
//! codes.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tessera_client::{Client, ClientConfig, Credentials, ObjectOptions};
use tessera_proto::{Dialect, PartNumber};

const BIN: &str = env!("CARGO_BIN_EXE_tessera");
const AK: &str = "E2EACCESSKEY";
const SK: &str = "e2e/secret/key";
const PART: usize = 64 * 1024;

/// A `tessera serve --memory` child, killed on drop.
struct Server {
    child: Child,
    endpoint: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn serve() -> Server {
    serve_with(&[], "http")
}

fn serve_with(extra: &[&str], scheme: &str) -> Server {
    let port = free_port();
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--memory", "--listen", &format!("127.0.0.1:{port}")]).args(extra);
    for d in ["aws", "obs", "cos", "oss", "ks3"] {
        cmd.args(["--min-part-size", &format!("{d}={PART}")]);
    }
    let mut child = cmd
        .env_clear()
        .env("TESSERA_ACCESS_KEY", AK)
        .env("TESSERA_SECRET_KEY", SK)
        .env("TESSERA_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The server prints its address once it listens.
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "the server did not start");
        match lines.next() {
            Some(Ok(line)) if line.contains("serving") => break,
            Some(Ok(_)) => {}
            _ => panic!("the server exited before listening"),
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Server { child, endpoint: format!("{scheme}://127.0.0.1:{port}") }
}

/// Runs `tessera ARGS --dialect D --endpoint E` with the test credentials in `env`.
fn tessera(server: &Server, dialect: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).args(["--dialect", dialect, "--endpoint", &server.endpoint]);
    cmd.env_clear();
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn keys() -> Vec<(&'static str, &'static str)> {
    vec![("TESSERA_ACCESS_KEY", AK), ("TESSERA_SECRET_KEY", SK)]
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn failed(out: &Output, code: i32) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    stderr
}

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 9) as u8).collect()
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn cp_ls_mb_rb_rm_in_every_dialect() {
    let server = serve();
    let dir = tempfile::tempdir().unwrap();
    for dialect in ["aws", "obs", "cos", "oss", "ks3"] {
        let bucket = format!("s3://e2e-{dialect}");
        let env = keys();
        ok(&tessera(&server, dialect, &["mb", &bucket], &env));
        let content = data(PART * 5 + 1234, dialect.len() as u8);
        let src = dir.path().join(format!("{dialect}.bin"));
        write(&src, &content);
        let part = PART.to_string();
        let up = ok(&tessera(
            &server,
            dialect,
            &[
                "cp",
                src.to_str().unwrap(),
                &format!("{bucket}/dir/obj"),
                "--part-size",
                &part,
                "--min-part-size",
                &part,
                "--concurrency",
                "3",
            ],
            &env,
        ));
        assert!(up.contains("6 parts"), "{dialect}: {up}");
        assert!(up.contains("checked"), "{dialect}: {up}");

        let listing = ok(&tessera(&server, dialect, &["ls", &bucket], &env));
        assert!(listing.contains("PRE") && listing.contains("dir/"), "{dialect}: {listing}");
        let listing = ok(&tessera(&server, dialect, &["ls", &format!("{bucket}/dir/"), "--recursive"], &env));
        assert!(listing.contains(&content.len().to_string()) && listing.contains("dir/obj"), "{dialect}: {listing}");
        let buckets = ok(&tessera(&server, dialect, &["ls"], &env));
        assert!(buckets.contains(&format!("e2e-{dialect}")), "{dialect}: {buckets}");

        let down = dir.path().join(format!("{dialect}.down"));
        let got = ok(&tessera(
            &server,
            dialect,
            &["cp", &format!("{bucket}/dir/obj"), down.to_str().unwrap(), "--part-size", "100K"],
            &env,
        ));
        assert!(got.contains("checked"), "{dialect}: {got}");
        assert!(std::fs::read(&down).unwrap() == content, "{dialect}: downloaded bytes differ");

        ok(&tessera(&server, dialect, &["cp", &format!("{bucket}/dir/obj"), &format!("{bucket}/copy")], &env));
        let err = failed(&tessera(&server, dialect, &["rb", &bucket], &env), 1);
        assert!(err.starts_with("tessera rb: BucketNotEmpty"), "{dialect}: {err}");
        ok(&tessera(&server, dialect, &["rm", &format!("{bucket}/dir/obj")], &env));
        ok(&tessera(&server, dialect, &["rm", &format!("{bucket}/copy")], &env));
        assert_eq!(ok(&tessera(&server, dialect, &["uploads", "ls", &bucket], &env)), "");
        ok(&tessera(&server, dialect, &["rb", &bucket], &env));
    }
}

#[test]
fn exit_codes_a_script_can_rely_on() {
    let server = serve();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    write(&file, b"hello");
    let env = keys();
    // 1: the service refused, the S3 code first.
    let err = failed(&tessera(&server, "aws", &["cp", file.to_str().unwrap(), "s3://missing/k"], &env), 1);
    assert!(err.starts_with("tessera cp: NoSuchBucket"), "{err}");
    let err =
        failed(&tessera(&server, "oss", &["cp", "s3://missing/k", dir.path().join("x").to_str().unwrap()], &env), 1);
    assert!(err.starts_with("tessera cp: NoSuchBucket"), "{err}");
    let wrong = [("TESSERA_ACCESS_KEY", AK), ("TESSERA_SECRET_KEY", "wrong")];
    let err = failed(&tessera(&server, "cos", &["mb", "s3://denied"], &wrong), 1);
    assert!(err.starts_with("tessera mb: SignatureDoesNotMatch"), "{err}");
    // 2: usage.
    failed(&tessera(&server, "aws", &["cp", "a", "b"], &env), 2);
    failed(&tessera(&server, "aws", &["mb", "s3://b/with-key"], &env), 2);
    failed(&tessera(&server, "nope", &["ls"], &env), 2);
    let err = failed(&tessera(&server, "aws", &["ls"], &[]), 2);
    assert!(err.contains("no credentials"), "{err}");
    // 3: nothing listens there.
    let mut cmd = Command::new(BIN);
    let closed = format!("http://127.0.0.1:{}", free_port());
    let out = cmd
        .env_clear()
        .envs(env.iter().copied())
        .args(["ls", "--endpoint", &closed, "--attempts", "1"])
        .output()
        .unwrap();
    failed(&out, 3);
    // 4: a local file that is not there.
    ok(&tessera(&server, "ks3", &["mb", "s3://exists"], &env));
    failed(&tessera(&server, "ks3", &["cp", dir.path().join("absent").to_str().unwrap(), "s3://exists/k"], &env), 4);
    // --help documents them.
    let help = ok(&Command::new(BIN).args(["cp", "--help"]).output().unwrap());
    assert!(help.contains("Exit codes:") && help.contains("5  an integrity check failed"), "{help}");
}

#[test]
fn vendor_variables_and_profile_files_give_credentials() {
    let server = serve();
    let dir = tempfile::tempdir().unwrap();
    let oss = [("OSS_ACCESS_KEY_ID", AK), ("OSS_ACCESS_KEY_SECRET", SK)];
    ok(&tessera(&server, "oss", &["mb", "s3://from-env"], &oss));
    let cos = [("COS_SECRET_ID", AK), ("COS_SECRET_KEY", SK)];
    ok(&tessera(&server, "cos", &["ls"], &cos));
    let aws_file = dir.path().join("aws-credentials");
    std::fs::write(&aws_file, format!("[default]\naws_access_key_id = {AK}\naws_secret_access_key = {SK}\n")).unwrap();
    let env = [("AWS_SHARED_CREDENTIALS_FILE", aws_file.to_str().unwrap())];
    assert!(ok(&tessera(&server, "aws", &["ls"], &env)).contains("from-env"));
    let ks3_file = dir.path().join("tessera-credentials");
    std::fs::write(&ks3_file, format!("[ks3]\naccess_key = {AK}\nsecret_key = {SK}\n")).unwrap();
    let env = [("TESSERA_CREDENTIALS_FILE", ks3_file.to_str().unwrap())];
    ok(&tessera(&server, "ks3", &["rb", "s3://from-env"], &env));
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn lib_client(server: &Server, dialect: Dialect) -> Client {
    let config = ClientConfig::new(&server.endpoint, dialect).unwrap().with_credentials(Credentials::new(AK, SK));
    Client::new(config).unwrap()
}

#[test]
fn cp_resume_continues_an_interrupted_upload_and_uploads_ls_abort() {
    let server = serve();
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let client = lib_client(&server, Dialect::Obs);
    let content = data(PART * 4, 3);
    let src = dir.path().join("big");
    write(&src, &content);
    // An upload that stopped after two of its four parts.
    let id = rt.block_on(async {
        client.create_bucket("resume").await.unwrap();
        let id = client.create_multipart_upload("resume", "obj", &ObjectOptions::default(), None).await.unwrap();
        for n in 1..=2u32 {
            let part = content[(n as usize - 1) * PART..n as usize * PART].to_vec();
            client.upload_part("resume", "obj", &id, PartNumber::new(n).unwrap(), part.into(), None).await.unwrap();
        }
        id
    });
    let env = keys();
    let listed = ok(&tessera(&server, "obs", &["uploads", "ls", "s3://resume"], &env));
    assert!(listed.contains(id.as_str()) && listed.contains("obj"), "{listed}");
    let part = PART.to_string();
    let out = ok(&tessera(
        &server,
        "obs",
        &["cp", src.to_str().unwrap(), "s3://resume/obj", "--part-size", &part, "--min-part-size", &part, "--resume"],
        &env,
    ));
    assert!(out.contains("4 parts, 2 resumed"), "{out}");
    let stored =
        rt.block_on(async { client.get_object("resume", "obj", None, None).await.unwrap().bytes().await.unwrap() });
    assert!(stored == content);

    // uploads abort drops an upload.
    let id = rt.block_on(async {
        client.create_multipart_upload("resume", "other", &ObjectOptions::default(), None).await.unwrap()
    });
    ok(&tessera(&server, "obs", &["uploads", "abort", "s3://resume/other", id.as_str()], &env));
    assert_eq!(ok(&tessera(&server, "obs", &["uploads", "ls", "s3://resume"], &env)), "");
    let err = failed(&tessera(&server, "obs", &["uploads", "abort", "s3://resume/other", id.as_str()], &env), 1);
    assert!(err.starts_with("tessera uploads abort: NoSuchUpload"), "{err}");
}

#[test]
fn https_with_a_trusted_ca_file_or_insecure() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let (ca, cert, key) = (path("ca.pem"), path("cert.pem"), path("key.pem"));
    std::fs::write(
        dir.path().join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    // A private CA and a certificate for 127.0.0.1 it signed, made with the openssl command.
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let steps: [Vec<String>; 3] = [
        ["req", "-x509"]
            .iter()
            .chain(&ec)
            .map(|s| s.to_string())
            .chain(
                ["-days", "2", "-subj", "/CN=tessera test CA", "-keyout", &path("ca.key"), "-out", &ca]
                    .map(String::from),
            )
            .collect(),
        ["req"]
            .iter()
            .chain(&ec)
            .map(|s| s.to_string())
            .chain(["-subj", "/CN=127.0.0.1", "-keyout", &key, "-out", &path("leaf.csr")].map(String::from))
            .collect(),
        ["x509", "-req", "-in", &path("leaf.csr"), "-CA", &ca, "-CAkey", &path("ca.key"), "-CAcreateserial"]
            .iter()
            .map(|s| s.to_string())
            .chain(["-days", "2", "-extfile", &path("leaf.ext"), "-out", &cert].map(String::from))
            .collect(),
    ];
    for args in steps {
        let made =
            Command::new("openssl").args(&args).output().expect("the openssl command makes the test certificates");
        assert!(made.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&made.stderr));
    }
    let server = serve_with(&["--tls-cert", &cert, "--tls-key", &key], "https");
    let env = keys();
    // Not trusted: a TLS failure is a transport failure.
    let err = failed(&tessera(&server, "aws", &["ls", "--attempts", "1"], &env), 3);
    assert!(err.contains("certificate") || err.contains("Certificate"), "{err}");
    ok(&tessera(&server, "aws", &["mb", "s3://tls", "--ca-cert", &ca], &env));
    let file = dir.path().join("f");
    write(&file, &data(300_000, 1));
    ok(&tessera(&server, "oss", &["cp", file.to_str().unwrap(), "s3://tls/f", "--insecure"], &env));
    let listing = ok(&tessera(&server, "ks3", &["ls", "s3://tls", "--ca-cert", &ca], &env));
    assert!(listing.contains("300000"), "{listing}");
}
