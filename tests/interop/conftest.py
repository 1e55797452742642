"""Fixtures of the interop suite: the `tessera serve` processes, the in-process loopback resolver
and the failure report (server log tail).

Server contract (what this suite assumes about the binary in $TESSERA_BIN):

  $TESSERA_BIN serve --listen 127.0.0.1:PORT (--data DIR | --memory) --region us-east-1
                     --domain s3.local --domain obs.local --domain cos.local --domain oss.local
                     --domain ks3.local [--tls-cert CERT.pem --tls-key KEY.pem]
                     [--kms-key-file KMS.toml]   (fs server: KMS_KEYS, the first is the default)
  env TESSERA_ACCESS_KEY / TESSERA_SECRET_KEY: the one credential pair.
  GET /_tessera/health answers 200 once the server is ready. It creates no bucket by itself.

Three servers at most, each started on first use and stopped by its pid (SIGTERM, then SIGKILL
after 10 s) at the end of the session: "fs" (--data in a temporary folder: the whole suite),
"memory" (--memory: the tests marked `smoke`), "tls" (--data plus a self-signed certificate:
the tests marked `tls`).
"""
import ipaddress
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from interop_support import ACCESS_KEY, DOMAINS, REGION, SECRET_KEY  # noqa: E402

HEALTH_PATH = "/_tessera/health"

# KMS master keys of the "fs" server (--kms-key-file, written into its temporary folder as
# `name = "<64 hex>"` lines): the first one is the default key. The SSE tests read them from
# `server.kms_keys` / `server.kms_default`.
KMS_KEYS = {"interop-kms-main": "6b" * 32, "interop-kms-alt": "a7" * 32}
STARTUP_TIMEOUT = 20.0
LOG_TAIL_LINES = 60

# Proxies from the environment would send the SDKs' requests elsewhere; nothing in this suite
# leaves the machine.
for _k in list(os.environ):
    if _k.lower() in ("http_proxy", "https_proxy", "all_proxy"):
        del os.environ[_k]
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "*"


def _tessera_bin():
    """(path, problem): problem is None when the binary is usable."""
    path = os.environ.get("TESSERA_BIN")
    if not path:
        return None, ("TESSERA_BIN is not set. The interop suite drives a real `tessera serve`: run it with "
                      "`cargo xtask interop`, or set TESSERA_BIN to the tessera binary (e.g. target/debug/tessera).")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        return None, "TESSERA_BIN=%s is not an executable file (build it with `cargo build -p tessera`)." % path
    return path, None


def pytest_configure(config):
    config.addinivalue_line("markers", "smoke: one flow per SDK; also run against the --memory server")
    config.addinivalue_line("markers", "tls: needs the server started with --tls-cert/--tls-key (boto3 over https)")
    config.addinivalue_line("markers", "memory: runs against the --memory server")
    config.addinivalue_line("markers", "sdk(name): the SDK package the test drives")


def pytest_collection_modifyitems(session, config, items):
    """The whole suite runs against the fs server first, then the smoke subset against the
    --memory server (stable order otherwise)."""
    items.sort(key=lambda item: "[memory-" in item.nodeid)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):
    """A missing binary is one clear failure of the run, not one error per test (collection
    itself, `--collect-only`, works without it)."""
    if session.config.option.collectonly or not session.items:
        return None
    _, problem = _tessera_bin()
    if problem:
        pytest.exit("interop suite cannot run: " + problem, returncode=1)
    return None


# ------------------------------------------------------------------------------ servers
def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _make_cert(folder):
    """Self-signed certificate for 127.0.0.1 and the service domains: openssl if present,
    else the `cryptography` package (installed with the SDKs)."""
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    names = ["127.0.0.1"] + list(DOMAINS) + ["*." + d for d in DOMAINS]
    openssl = shutil.which("openssl")
    if openssl:
        san = ",".join(("IP:" if n[0].isdigit() else "DNS:") + n for n in names)
        p = subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                            "-keyout", key, "-out", cert, "-addext", "subjectAltName=" + san],
                           capture_output=True, text=True)
        if p.returncode == 0:
            return cert, key
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    pk = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    alt = [x509.IPAddress(ipaddress.ip_address(n)) if n[0].isdigit() else x509.DNSName(n) for n in names]
    now = datetime.datetime.now(datetime.timezone.utc)
    crt = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(pk.public_key())
           .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
           .not_valid_after(now + datetime.timedelta(days=2)).add_extension(x509.SubjectAlternativeName(alt), critical=False)
           .sign(pk, hashes.SHA256()))
    with open(key, "wb") as f:
        f.write(pk.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with open(cert, "wb") as f:
        f.write(crt.public_bytes(serialization.Encoding.PEM))
    return cert, key


class StartupFailed(Exception):
    pass


class TesseraServer:
    """One `tessera serve` process. `kind` is "fs", "memory" or "tls"."""

    def __init__(self, kind, binary, folder):
        self.kind = kind
        self.binary = binary
        self.folder = folder
        self.port = None
        self.proc = None
        self.scheme = "https" if kind == "tls" else "http"
        self.log_path = os.path.join(folder, "tessera-%s.log" % kind)
        self.args = []
        self.buckets = set()  # buckets created on this server (by adapter name)
        self.data_dir = None
        self.kms_keys = KMS_KEYS if kind == "fs" else {}  # name -> hex master key
        self.kms_default = next(iter(self.kms_keys), None)

    def __repr__(self):
        return "tessera[%s %s://127.0.0.1:%s]" % (self.kind, self.scheme, self.port)

    def start(self):
        self.port = _free_port()
        args = [self.binary, "serve", "--listen", "127.0.0.1:%d" % self.port]
        if self.kind == "memory":
            args.append("--memory")
        else:
            data = self.data_dir = os.path.join(self.folder, "data-%s" % self.kind)
            os.makedirs(data, exist_ok=True)
            args += ["--data", data]
        args += ["--region", REGION]
        for d in DOMAINS:
            args += ["--domain", d]
        if self.kind == "tls":
            cert, key = _make_cert(self.folder)
            args += ["--tls-cert", cert, "--tls-key", key]
        if self.kms_keys:
            kms_file = os.path.join(self.folder, "kms-keys.toml")
            with open(kms_file, "w") as f:
                f.writelines('%s = "%s"\n' % kv for kv in self.kms_keys.items())
            args += ["--kms-key-file", kms_file]
        self.args = args
        env = dict(os.environ, TESSERA_ACCESS_KEY=ACCESS_KEY, TESSERA_SECRET_KEY=SECRET_KEY)
        env.setdefault("RUST_BACKTRACE", "1")
        self.log = open(self.log_path, "ab")
        self.log.write(("$ %s\n" % " ".join(args)).encode())
        self.log.flush()
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                     cwd=self.folder)
        self._wait_ready()

    def _health(self, timeout=2):
        url = "%s://127.0.0.1:%d%s" % (self.scheme, self.port, HEALTH_PATH)
        ctx = None
        if self.scheme == "https":
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx))
        try:
            with opener.open(url, timeout=timeout) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            return None

    def _wait_ready(self):
        deadline = time.monotonic() + STARTUP_TIMEOUT
        status = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StartupFailed("tessera serve (%s) exited with status %s before becoming healthy.\ncommand: %s\n"
                                    "--- server output ---\n%s" % (self.kind, self.proc.returncode, " ".join(self.args), self.tail()))
            status = self._health()
            if status == 200:
                return
            time.sleep(0.2)
        self.stop()
        raise StartupFailed("tessera serve (%s) did not answer 200 on GET %s within %.0f s (last status: %s).\ncommand: %s\n"
                            "--- server output ---\n%s" % (self.kind, HEALTH_PATH, STARTUP_TIMEOUT, status, " ".join(self.args),
                                                            self.tail()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()

    def log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def tail(self, since=None, lines=LOG_TAIL_LINES):
        try:
            with open(self.log_path, "rb") as f:
                if since:
                    f.seek(since)
                text = f.read().decode("utf-8", "replace")
        except OSError as e:
            return "(no server log: %s)" % e
        out = text.splitlines()
        cut = out[-lines:]
        head = "(... %d earlier lines in %s)\n" % (len(out) - len(cut), self.log_path) if len(out) > len(cut) else ""
        return head + "\n".join(cut)


class ServerPool:
    def __init__(self, tmp_factory):
        self.tmp_factory = tmp_factory
        self.servers = {}
        self.broken = {}  # kind -> why it could not start (reported in full once)

    def get(self, kind):
        if kind in self.broken:
            pytest.fail("tessera serve (%s) could not be started (full output in the first test that tried):\n%s"
                        % (kind, self.broken[kind]), pytrace=False)
        srv = self.servers.get(kind)
        if srv is None:
            binary, problem = _tessera_bin()
            if problem:
                pytest.fail(problem, pytrace=False)
            srv = TesseraServer(kind, binary, str(self.tmp_factory.mktemp("tessera-%s" % kind)))
            failure = None
            try:
                srv.start()
            except StartupFailed as e:
                failure = str(e)
            if failure:
                lines = failure.splitlines()
                self.broken[kind] = "\n".join(lines if len(lines) <= 10 else lines[:1] + ["..."] + lines[-8:])
                pytest.fail(failure, pytrace=False)
            self.servers[kind] = srv
        if not srv.alive():
            pytest.fail("tessera serve (%s) is no longer running (exit status %s); it died during an earlier test.\n"
                        "--- last lines of its output ---\n%s" % (kind, srv.proc.returncode, srv.tail(lines=15)), pytrace=False)
        status = srv._health(timeout=10)
        if status != 200:  # a hung server costs one test, not every SDK timeout after it
            pytest.fail("tessera serve (%s) is running but GET %s answered %s (10 s timeout) before this test.\n"
                        "--- last lines of its output ---\n%s" % (kind, HEALTH_PATH, status, srv.tail(lines=15)), pytrace=False)
        return srv

    def stop_all(self):
        for srv in self.servers.values():
            srv.stop()
            if srv.data_dir:  # objects of up to 24 MiB each; the log next to it is kept
                shutil.rmtree(srv.data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def servers(tmp_path_factory):
    pool = ServerPool(tmp_path_factory)
    yield pool
    pool.stop_all()


# ------------------------------------------------------------------------------ name resolution
def _is_ip(host):
    try:
        ipaddress.ip_address(host.strip("[]") if isinstance(host, str) else host.decode())
        return True
    except ValueError:
        return False


@pytest.fixture(scope="session", autouse=True)
def loopback_dns():
    """Inside this process only, every host *name* (virtual-host buckets such as
    `b.obs.local`, vendor defaults such as `b.oss-cn-hangzhou.aliyuncs.com`) resolves to
    127.0.0.1 with the port the SDK asked for, so the SDK keeps its own Host header and
    signature. IP literals are left alone. No system file is touched."""
    real = socket.getaddrinfo

    def fake(host, port, family=0, type=0, proto=0, flags=0):
        if host is None or _is_ip(host):
            return real(host, port, family, type, proto, flags)
        return real("127.0.0.1", port, socket.AF_INET, type, proto, flags)

    socket.getaddrinfo = fake
    yield
    socket.getaddrinfo = real


# ------------------------------------------------------------------------------ failure report
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        srv = getattr(item, "_tessera_server", None)
        if srv is not None:
            state = "running" if srv.alive() else "EXITED with status %s" % srv.proc.returncode
            since = getattr(item, "_tessera_log_offset", None)
            rep.sections.append(("tessera server log (%s, %s; output during this test)" % (srv, state),
                                 srv.tail(since=since)))


# ------------------------------------------------------------------------------ per-SDK summary
_RESULTS = {}  # adapter id (e.g. "fs-boto3-sigv4") -> {nodeid: outcome}


def pytest_runtest_logreport(report):
    if "[" not in report.nodeid:
        return
    ident = report.nodeid.rsplit("[", 1)[1].rstrip("]")
    adapter = ident.split("-", 1)[1] if "-" in ident else ident
    outcomes = _RESULTS.setdefault(adapter, {})
    if report.when == "call" or report.outcome != "passed":
        if outcomes.get(report.nodeid) in (None, "passed"):
            outcomes[report.nodeid] = report.outcome


def pytest_terminal_summary(terminalreporter):
    if not _RESULTS:
        return
    terminalreporter.section("interop results per SDK / signing mode")
    total_ok = total = 0
    for adapter in sorted(_RESULTS):
        outcomes = _RESULTS[adapter]
        ok = sum(1 for o in outcomes.values() if o == "passed")
        total_ok += ok
        total += len(outcomes)
        bad = sorted(n.split("::")[-1] for n, o in outcomes.items() if o != "passed")
        terminalreporter.write_line("%-22s %3d/%-3d passed%s" % (adapter, ok, len(outcomes),
                                                               ("   not passed: " + ", ".join(bad)) if bad else ""))
    terminalreporter.write_line("%-22s %3d/%-3d passed" % ("all", total_ok, total))
