"""TLS and SASL EXTERNAL against a real slapd: StartTLS (tls = yes),
ldaps://, a server certificate the configured CA did not sign (refused,
never a plain-text fallback), tls_require_cert = never (shows the refusal
test can tell), and a SASL EXTERNAL service bind over ldapi://.

The test makes its own CA with openssl: a CA, a server certificate for
127.0.0.1 (subjectAltName IP:127.0.0.1, DNS:localhost), and a second,
unrelated CA.
"""

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import urllib.parse

import pytest

import mgsetup
from fixtures import ad_tree
from sandbox import Sandbox, IMAP_REFUSED, is_24, procs
from sandbox.dovecot import AuthDB, REPO_ROOT, render_settings
from sandbox.stall import SilentDNS, TLSStallServer
from sandbox.load import IMAP_TEMPFAIL, POP3_TEMPFAIL

pytestmark = pytest.mark.plugin

ALICE = ad_tree.EXPECTED["alice"]
PARTNER = ad_tree.EXPECTED["partner"]
LOCAL_USER, LOCAL_PW = "localonly", "Local-pw-1"


def openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, f"openssl {' '.join(args)}:\n{r.stderr}"


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-keyout", f"{name}.key", "-out", f"{name}.pem",
            "-subj", f"/O=mailbox-guard tests/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    return os.path.join(d, f"{name}.pem")


def make_server_cert(d, ca):
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                "basicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/O=mailbox-guard tests/CN=127.0.0.1", cwd=d)
    openssl("x509", "-req", "-in", "server.csr", "-CA", f"{ca}.pem",
            "-CAkey", f"{ca}.key", "-CAcreateserial", "-days", "2",
            "-extfile", "server.ext", "-out", "server.pem", cwd=d)
    os.chmod(os.path.join(d, "server.key"), 0o600)   # slapd runs as root
    return os.path.join(d, "server.pem"), os.path.join(d, "server.key")


class TLSWorld:
    """One slapd on ldap://, ldaps:// and ldapi://, certificates, and a
    fresh Dovecot per setup."""

    def __init__(self, sb):
        self.sb = sb
        self.pki = sb.path("pki")
        os.makedirs(self.pki)
        os.chmod(self.pki, 0o755)
        self.ca = make_ca(self.pki, "ca")
        self.other_ca = make_ca(self.pki, "other-ca")
        cert, key = make_server_cert(self.pki, "ca")
        # the auth process runs as Dovecot's internal user: the peer
        # identity slapd sees on ldapi://
        u = pwd.getpwnam("dovecot")
        self.peer_dn = (f"gidNumber={u.pw_gid}+uidNumber={u.pw_uid},"
                        "cn=peercred,cn=external,cn=auth")
        self.ldaps_port = procs.free_port()
        port = procs.free_port()
        os.makedirs(sb.path("ldap"), exist_ok=True)
        self.ldapi_path = sb.path("ldap", "ldapi")
        self.ldapi_uri = "ldapi://" + urllib.parse.quote(self.ldapi_path,
                                                         safe="")
        self.ldaps_uri = f"ldaps://127.0.0.1:{self.ldaps_port}/"
        # the certificate is for 127.0.0.1 and localhost: not this address
        self.ldaps_wrong_host_uri = f"ldaps://127.0.0.2:{procs.free_port()}/"
        self.slapd = sb.slapd(
            name="ldap", suffix=ad_tree.SUFFIX, ldif=ad_tree.ldif(),
            port=port,
            uris=[f"ldap://127.0.0.1:{port}/", self.ldaps_uri,
                  self.ldaps_wrong_host_uri, self.ldapi_uri],
            global_conf=f"TLSCACertificateFile {self.ca}\n"
                        f"TLSCertificateFile {cert}\n"
                        f"TLSCertificateKeyFile {key}\n",
            # only the rootdn and the auth process's peer identity read
            # the users: an anonymous bind finds nobody
            db_conf=f'access to dn.base="{ad_tree.SUFFIX}" by * read\n'
                    f'access to * by dn.exact="{self.peer_dn}" read '
                    "by * none")
        # the ldaps:// listener must answer too, with this CA
        self.slapd.ready_uri = self.ldaps_uri
        self.slapd.ready_env = {"LDAPTLS_CACERT": self.ca}
        self.slapd.wait_ready()

    @contextlib.contextmanager
    def running(self, **over):
        """dovecot(**over), stopped afterwards: the later tests read the
        slapd log, where its reconnects would show."""
        dc = self.dovecot(**over)
        try:
            yield dc
        finally:
            dc.stop()

    def dovecot(self, local_passdb=False, bind_mounts=(), **over):
        """local_passdb: a passwd-file passdb before the plugin's, knowing
        LOCAL_USER alone."""
        dc = self.sb.dovecot(start=False)
        settings = ad_tree.plugin_settings(over.pop("uris", self.slapd.uri),
                                           **{"request_timeout": "2s",
                                              **over})
        dc.auth_dbs = mgsetup.auth_dbs_for(dc, settings)
        if local_passdb:
            path = dc.write_settings_text(
                "local-users", f"{LOCAL_USER}:{{PLAIN}}{LOCAL_PW}::::::\n",
                mode=0o644)
            dc.auth_dbs.insert(0, AuthDB("passdb", "passwd-file", path))
        dc.bind_mounts = list(bind_mounts)
        dc.start()
        return dc

    def service_dn(self):
        return {"dn": self.slapd.rootdn, "dnpass": self.slapd.rootpw}

    def log_since(self, mark):
        return self.slapd.log_text()[mark:]

    def log_mark(self):
        return len(self.slapd.log_text())


@pytest.fixture(scope="module")
def world():
    if not mgsetup.plugin_available() or mgsetup.standin():
        pytest.skip(mgsetup.skip_reason())
    sb = Sandbox(prefix="mgt")
    try:
        yield TLSWorld(sb)
    finally:
        sb.close()


def plugin_searches(text):
    return text.count("(objectClass=person)(mailNickname=")


def assert_serves(dc):
    got = dc.login_all(ALICE.login, ALICE.password)
    assert all(r.ok for r in got.values()), got
    assert dc.imap_login(PARTNER.login, PARTNER.password).text == IMAP_REFUSED


def test_starttls(world):
    mark = world.log_mark()
    dc = world.dovecot(tls="yes", tls_ca_cert_file=world.ca,
                       **world.service_dn())
    assert_serves(dc)
    log = world.log_since(mark)
    # StartTLS's extended operation, then the bind inside TLS
    assert "EXT oid=1.3.6.1.4.1.1466.20037" in log
    assert "TLS established" in log
    assert f'BIND dn="{world.slapd.rootdn}" mech=SIMPLE' in log
    for line in log.splitlines():
        if f'BIND dn="{world.slapd.rootdn}" mech=SIMPLE' in line:
            # "bind_ssf=0 ssf=256": the connection's own strength
            assert int(re.findall(r" ssf=(\d+)", line)[-1]) > 0, line


def test_ldaps(world):
    mark = world.log_mark()
    dc = world.dovecot(uris=world.ldaps_uri, tls_ca_cert_file=world.ca,
                       **world.service_dn())
    assert_serves(dc)
    log = world.log_since(mark)
    assert f"(IP=127.0.0.1:{world.ldaps_port})" in log
    assert "TLS established" in log


def assert_refused(world, dc, mark, what):
    got = dc.login_all(ALICE.login, ALICE.password)
    assert got["imap-login"].text.startswith(IMAP_TEMPFAIL), got
    assert got["imap-plain"].text.startswith(IMAP_TEMPFAIL), got
    assert got["pop3"].text.startswith(POP3_TEMPFAIL), got
    # the custom recipient too: nothing is known without the directory
    assert dc.imap_login(PARTNER.login, PARTNER.password).text.startswith(
        IMAP_TEMPFAIL)
    log = world.log_since(mark)
    # never a plain-text fallback: no bind, no search on any connection
    assert "BIND dn=" not in log, log
    assert plugin_searches(log) == 0, log
    # (with TLS 1.3 slapd may log "TLS established" before the client,
    # checking the certificate, hangs up: the bind never comes)
    assert dc.wait_log(what), dc.log_text()[-2000:]


def test_starttls_other_ca_is_refused(world):
    mark = world.log_mark()
    dc = world.dovecot(tls="yes", tls_ca_cert_file=world.other_ca,
                       **world.service_dn())
    assert_refused(world, dc, mark, "TLS handshake failed")
    # the server was reached and asked for StartTLS, nothing more
    assert "EXT oid=1.3.6.1.4.1.1466.20037" in world.log_since(mark)


def test_ldaps_other_ca_is_refused(world):
    mark = world.log_mark()
    dc = world.dovecot(uris=world.ldaps_uri, tls_ca_cert_file=world.other_ca,
                       **world.service_dn())
    assert_refused(world, dc, mark, world.ldaps_uri)


def test_require_cert_never_accepts_the_other_ca(world):
    mark = world.log_mark()
    dc = world.dovecot(tls="yes", tls_ca_cert_file=world.other_ca,
                       tls_require_cert="never", **world.service_dn())
    assert_serves(dc)
    assert "TLS established" in world.log_since(mark)


def test_sasl_external_over_ldapi(world):
    mark = world.log_mark()
    dc = world.dovecot(uris=world.ldapi_uri, sasl_bind="yes",
                       sasl_mech="EXTERNAL")
    uid = procs.proc_status(dc.auth_pid(), "Uid").split()[0]
    assert f"uidNumber={uid}," in world.peer_dn, "auth runs as another user"
    assert_serves(dc)
    log = world.log_since(mark)
    assert "mech=EXTERNAL" in log
    assert f'dn="{world.peer_dn}"' in log


def test_anonymous_over_ldapi_sees_nobody(world):
    """The control for the SASL test: without the EXTERNAL bind the ACL
    hides the tree, so the logins above really used the peer identity."""
    dc = world.dovecot(uris=world.ldapi_uri)
    assert dc.imap_login(ALICE.login, ALICE.password).text == \
        "NO [AUTHENTICATIONFAILED] Authentication failed."


# --- nothing blocks the auth process ------------------------------------------
#
# libldap resolves host names and does TLS handshakes synchronously. A
# server that accepts TCP and then never speaks TLS (or a DNS server that
# never answers) must stall only the connection waiting for it: a login
# served by another passdb is answered at once, and LDAP logins go on to
# the next URI within request_timeout.

REQUEST_TIMEOUT = 2.0       # world.running()'s request_timeout


def assert_stall_blocks_nothing(dc, stalled, stalled_uri):
    with dc.auth_client() as ac:
        ldap_login = ac.send_plain(ALICE.login, ALICE.password)
        # the plugin is now inside the step that blocks
        assert stalled.wait_seen(1, timeout=REQUEST_TIMEOUT), \
            "the plugin never reached the stalled step"
        local = ac.auth_plain(LOCAL_USER, LOCAL_PW, timeout=10)
        assert local.logged_in, local
        assert local.elapsed < 0.1, local
        answer = ac.wait_all([ldap_login], timeout=10)[ldap_login]
    assert answer.logged_in, answer
    assert answer.elapsed < REQUEST_TIMEOUT, answer
    log = dc.log_text(wait_for=f"{stalled_uri}: connect and bind timed out")
    assert f"{stalled_uri}: connect and bind timed out after" in log, log
    assert dc.crash_lines() == []


def test_stalled_starttls_handshake_blocks_nothing(world):
    stall = TLSStallServer(starttls=True)
    try:
        with world.running(uris=f"{stall.uri} {world.slapd.uri}", tls="yes",
                           tls_ca_cert_file=world.ca, local_passdb=True,
                           **world.service_dn()) as dc:
            assert_stall_blocks_nothing(dc, stall, stall.uri)
        assert stall.errors == []
    finally:
        stall.close()


def test_stop_while_a_login_waits_is_clean(world):
    """Dovecot stopped while a login waits in the plugin (here for a
    handshake that never ends): the plugin answers it before Dovecot frees
    what the answer needs (2.4 frees a passdb's settings at its deinit)."""
    stall = TLSStallServer(starttls=True)
    try:
        dc = world.dovecot(uris=stall.uri, tls="yes",
                           tls_ca_cert_file=world.ca, request_timeout="60s",
                           **world.service_dn())
        try:
            with dc.auth_client() as ac:
                rid = ac.send_plain(ALICE.login, ALICE.password)
                assert stall.wait_seen(1, timeout=10), \
                    "the plugin never reached the stalled handshake"
                dc.stop()
                try:
                    answer = ac.wait_all([rid], timeout=10)[rid]
                except (OSError, EOFError, RuntimeError, TimeoutError):
                    answer = None     # the socket closed first
        finally:
            dc.stop()
        # a temporary failure or nothing, never a login
        assert answer is None or answer.temp, answer
        log = dc.log_text()
        assert dc.crash_lines(log) == [], log[-3000:]
    finally:
        stall.close()


def test_stalled_ldaps_handshake_blocks_nothing(world):
    stall = TLSStallServer(starttls=False)
    try:
        with world.running(uris=f"{stall.uri} {world.ldaps_uri}",
                           tls_ca_cert_file=world.ca, local_passdb=True,
                           **world.service_dn()) as dc:
            assert_stall_blocks_nothing(dc, stall, stall.uri)
    finally:
        stall.close()


def test_stalled_dns_lookup_blocks_nothing(world):
    """The auth process gets a resolv.conf (in Dovecot's private mount
    namespace) naming a DNS server that never answers."""
    dns = SilentDNS()
    try:
        resolv = world.sb.path("resolv.conf")
        with open(resolv, "w") as f:
            # longer than request_timeout: a blocking lookup would show
            f.write(dns.resolv_conf(timeout_secs=3))
        os.chmod(resolv, 0o644)
        # libldap resolves the machine's own name once, in its first
        # ldap_initialize() (the auth process's main thread): an installed
        # Debian has that name in /etc/hosts (the Debian 13 test tree does
        # not), so the stalled DNS server is never asked for it
        hosts = world.sb.path("hosts")
        with open("/etc/hosts") as f:
            text = f.read()
        with open(hosts, "w") as f:
            f.write(f"{text}127.0.1.1\t{socket.gethostname()}\n")
        os.chmod(hosts, 0o644)
        stalled_uri = "ldap://ldap-stall.mailbox-guard.example:389/"
        with world.running(uris=f"{stalled_uri} {world.slapd.uri}",
                           local_passdb=True,
                           bind_mounts=[(resolv, "/etc/resolv.conf"),
                                        (hosts, "/etc/hosts")],
                           **world.service_dn()) as dc:
            assert_stall_blocks_nothing(dc, dns, stalled_uri)
    finally:
        dns.close()


# --- diagnostics that name the cause --------------------------------------------

def check_tool():
    path = os.environ.get("MG_CHECK_TOOL") or os.path.join(
        REPO_ROOT, "src", "tools", "mailbox-guard-check")
    if not os.access(path, os.X_OK):
        pytest.skip(f"{path} is not built")
    return path


def run_check_tool(world, name, **over):
    """mailbox-guard-check for alice with these settings; returns its
    stderr."""
    settings = ad_tree.plugin_settings(over.pop("uris", world.slapd.uri),
                                       request_timeout="2s", **over)
    check_tool()
    r = mgsetup.check_tool(world.sb, settings, name)(ALICE.login)
    assert r.returncode == 3, (r.returncode, r.stdout, r.stderr)
    return r.stderr


def test_unreadable_ca_file_is_named(world):
    """The auth process runs as Dovecot's internal user: a CA file only
    root can read fails every connection, and the log says which file
    and why."""
    ca = os.path.join(world.pki, "root-only-ca.pem")
    shutil.copy(world.ca, ca)
    os.chmod(ca, 0o600)
    mark = world.log_mark()
    with world.running(tls="yes", tls_ca_cert_file=ca,
                       **world.service_dn()) as dc:
        # 2.4: Dovecot's own setting, read by its config process as root
        name = "ssl_client_ca_file" if is_24() else "tls_ca_cert_file"
        assert_refused(world, dc, mark, f"{world.slapd.uri}: can't load the "
                       f"TLS files: {name} {ca}: Permission denied")


def test_check_tool_names_missing_ca_file(world):
    ca = os.path.join(world.pki, "no-such-ca.pem")
    err = run_check_tool(world, "missing-ca", tls="yes", tls_ca_cert_file=ca,
                         **world.service_dn())
    name = "ssl_client_ca_file" if is_24() else "tls_ca_cert_file"
    assert (f"can't load the TLS files: {name} {ca}: "
            "No such file or directory") in err, err


def libldap_uses_gnutls():
    """Debian 12's libldap is built with GnuTLS, Debian 13's with
    OpenSSL (which says itself what is wrong with a certificate)."""
    tool = check_tool()
    out = subprocess.run(["ldd", tool], capture_output=True, text=True,
                         timeout=30).stdout
    m = re.search(r"libldap[^ ]* => (\S+)", out)
    assert m, out
    out = subprocess.run(["ldd", m.group(1)], capture_output=True,
                         text=True, timeout=30).stdout
    return "libgnutls" in out


def test_host_name_mismatch_is_explained(world):
    """libldap with GnuTLS replaces its own "hostname does not match"
    with "(unknown error code)": the log says what that means. With
    OpenSSL libldap's own words name the cause."""
    if libldap_uses_gnutls():
        cause = ("Can't contact LDAP server: the server certificate was "
                 "refused")
        host_mismatch = "not issued for the host name of the URI"
    else:
        cause = ("Connect error: TLS: hostname does not match name in peer "
                 "certificate")
        host_mismatch = "hostname does not match name in peer certificate"
    mark = world.log_mark()
    uri = world.ldaps_wrong_host_uri
    with world.running(uris=uri, tls_ca_cert_file=world.ca,
                       **world.service_dn()) as dc:
        assert_refused(world, dc, mark, f"{uri}: connect or TLS handshake "
                       f"failed: {cause}")
        log = dc.log_text()
    assert host_mismatch in log, log
    assert "(unknown error code)" not in log, log
    err = run_check_tool(world, "wrong-host", uris=uri,
                         tls_ca_cert_file=world.ca, **world.service_dn())
    assert host_mismatch in err, err
    # the control: the same server under its certificate's name
    with world.running(uris=world.ldaps_uri, tls_ca_cert_file=world.ca,
                       **world.service_dn()) as dc:
        assert_serves(dc)


def test_check_tool_prints_the_servers_diagnostic(world):
    """A server that refuses simple binds without TLS says why in its
    diagnostic text; the tool prints it as the plugin logs it."""
    strict = world.sb.slapd(name="ldap-strict", suffix=ad_tree.SUFFIX,
                            ldif=ad_tree.ldif(),
                            global_conf="security simple_bind=1\n")
    try:
        service = {"dn": strict.rootdn, "dnpass": strict.rootpw}
        with world.running(uris=strict.uri, **service) as dc:
            assert dc.imap_login(ALICE.login, ALICE.password).text \
                .startswith(IMAP_TEMPFAIL)
            log = dc.log_text(wait_for="bind as '")
        m = re.search(r"(bind as '[^']*' failed: .*)$", log, re.M)
        assert m, dc.log_text()
        logged = m.group(1)
        # slapd's own text, after libldap's name for the result code
        assert logged == (f"bind as '{strict.rootdn}' failed: "
                          "Confidentiality required: confidentiality "
                          "required"), logged
        err = run_check_tool(world, "strict", uris=strict.uri, **service)
        assert f"{strict.uri}: {logged}" in err, err
    finally:
        strict.stop()


def test_check_tool_uses_starttls_on_ldap_uris_only(world):
    """tls = yes asks for StartTLS on ldap:// URIs only, in the tool as in
    the plugin: an ldapi:// URI is used without it (and without the TLS
    files)."""
    over = dict(uris=world.ldapi_uri, tls="yes", tls_ca_cert_file=world.ca,
                sasl_bind="yes", sasl_mech="EXTERNAL")
    settings = ad_tree.plugin_settings(over.pop("uris"),
                                       request_timeout="2s", **over)
    check_tool()
    r = mgsetup.check_tool(world.sb, settings, "ldapi-tls")(ALICE.login)
    # connected, bound and searched (exit 3 would be an LDAP error); the
    # test ACL shows the tree only to the auth process's own identity,
    # so root's EXTERNAL bind finds nobody (exit 2)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "StartTLS" not in r.stdout + r.stderr
    dc = world.dovecot(uris=world.ldapi_uri, tls="yes",
                       tls_ca_cert_file=world.ca, sasl_bind="yes",
                       sasl_mech="EXTERNAL")
    assert_serves(dc)
