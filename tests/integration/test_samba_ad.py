"""The ad profile against a real Active Directory implementation: a private
Samba AD DC (sandbox/samba.py), provisioned once for this module.

The plugin binds as a service account, over StartTLS with Samba's own CA
and tls_require_cert = demand, searches from the domain root (Samba sends
continuation references to the configuration and DNS partitions: they are
ignored), and checks passwords by binding as the user (auth_bind = yes: AD
passwords can't be read).
"""

import os
import re
import shutil
import subprocess
import tempfile

import pytest

from mgsetup import WANT, plugin_available, skip_reason, standin
from fixtures import REFUSED, AUTHFAIL
import mgsetup
from sandbox import AuthDB, Sandbox, is_24, parse_doveadm_user
from sandbox import samba
from sandbox.samba import BASE, unicode_pwd

pytestmark = [
    pytest.mark.plugin,
    pytest.mark.skipif(not plugin_available(), reason=skip_reason()),
    pytest.mark.skipif(standin(), reason="plugin feature"),
    pytest.mark.skipif(shutil.which("samba") is None or
                       shutil.which("ldbadd") is None,
                       reason="samba / ldb-tools not installed"),
]

MAIL = f"OU=Mail,{BASE}"
MDB = f"CN=Mailbox Database 01,{MAIL}"
SVC_DN = f"CN=dovecot-svc,CN=Users,{BASE}"
SVC_PASSWORD = "Svc-Passw0rd!"
BULK = 250
MAX_PAGE_SIZE = 100
UPN_SUFFIX = "example.test"


def pw(name):
    return f"{name.capitalize()}-Passw0rd!"


def _entry(dn, *lines):
    return "\n".join([f"dn: {dn}", *lines]) + "\n"


def _user(name, uac=512, password=True, mailbox=True, extra=()):
    lines = ["objectClass: user", f"sAMAccountName: {name}",
             f"userPrincipalName: {name}@{UPN_SUFFIX}",
             f"mail: {name}@{UPN_SUFFIX}", f"mailNickname: {name}",
             f"userAccountControl: {uac}"]
    if mailbox:
        lines += [f"homeMDB: {MDB}", "msExchRecipientTypeDetails: 1"]
    if password:
        lines.append(f"unicodePwd:: {unicode_pwd(pw(name))}")
    return _entry(f"CN={name},{MAIL}", *lines, *extra)


def _contact(name, mail, target):
    return _entry(f"CN={name},OU=Contacts,{BASE}", "objectClass: contact",
                  f"mail: {mail}", f"mailNickname: {name}",
                  f"targetAddress: {target}",
                  "msExchRecipientTypeDetails: 64")


# userAccountControl: 512 normal, 514 normal + disabled, 544 normal +
# password not required (bulk users have none)
ENTRIES = "\n".join([
    _entry(MAIL, "objectClass: organizationalUnit"),
    _entry(f"OU=Contacts,{BASE}", "objectClass: organizationalUnit"),
    _entry(MDB, "objectClass: container"),
    _entry(SVC_DN, "objectClass: user", "sAMAccountName: dovecot-svc",
           "userAccountControl: 66048",
           f"unicodePwd:: {unicode_pwd(SVC_PASSWORD)}"),
    _user("ada"),
    _user("bert"),
    # MailUser: targetAddress without homeMDB
    _user("carl", mailbox=False, extra=(
        "targetAddress: SMTP:carl@partner.test",
        "msExchRecipientTypeDetails: 128")),
    # RemoteUserMailbox (a mailbox in Exchange Online)
    _user("dora", mailbox=False, extra=(
        "targetAddress: SMTP:dora@tenant.mail.onmicrosoft.test",
        "msExchRecipientTypeDetails: 2147483648")),
    # a disabled account with a mailbox
    _user("eve", uac=514),
    # an Exchange shared mailbox: a disabled account without a password
    _entry(f"CN=shared,{MAIL}", "objectClass: user", "sAMAccountName: shared",
           "mail: shared@example.test", "mailNickname: shared",
           "userAccountControl: 546", f"homeMDB: {MDB}",
           "msExchRecipientTypeDetails: 4"),
    _contact("partner", "partner@partner.test", "SMTP:partner@partner.test"),
    # a contact holding a mailbox user's address
    _contact("ada-old", "ada@example.test", "SMTP:ada@old.example.test"),
    *[_entry(f"CN=bulk{i:03d},{MAIL}", "objectClass: user",
             f"sAMAccountName: bulk{i:03d}", f"mailNickname: bulk{i:03d}",
             "userAccountControl: 544", f"homeMDB: {MDB}")
      for i in range(BULK)],
])

BULK_NAMES = {f"bulk{i:03d}" for i in range(BULK)}
# What user iteration lists: disabled accounts count as mailboxes
# outside a login (doc/active-directory.md).
ITERATED = {"ada", "bert", "eve", "shared"} | BULK_NAMES
ITERATED_ENABLED = {"ada", "bert"} | BULK_NAMES
NOT_DISABLED = "(!(userAccountControl:1.2.840.113556.1.4.803:=2))"
PERSON_USER = "(objectCategory=person)(objectClass=user)"

SAM_SETTINGS = {
    "pass_filter": f"(&{PERSON_USER}(sAMAccountName=%n))",
    "user_filter": f"(&{PERSON_USER}(sAMAccountName=%n))",
    "pass_attrs": "sAMAccountName=user",
    "user_attrs": "sAMAccountName=user,mail=email",
    "iterate_attrs": "sAMAccountName=user",
}
UPN_SETTINGS = {
    "pass_filter": f"(&{PERSON_USER}(userPrincipalName=%u))",
    "user_filter": f"(&{PERSON_USER}(userPrincipalName=%u))",
    "pass_attrs": "userPrincipalName=user",
    "user_attrs": "userPrincipalName=user,mail=email",
    "iterate_attrs": "userPrincipalName=user",
}


@pytest.fixture(scope="module")
def dc():
    root = tempfile.mkdtemp(prefix="mgad", dir="/tmp")
    dc = samba.SambaDC(root, ENTRIES, limits={"MaxPageSize": MAX_PAGE_SIZE})
    try:
        dc.provision()
        dc.start()
        yield dc
    finally:
        dc.stop()
        if not os.environ.get("MG_KEEP_SANDBOX"):
            shutil.rmtree(root, ignore_errors=True)


def settings_for(dc, logins, **over):
    s = {
        "uris": dc.uri,
        "dn": SVC_DN,
        "dnpass": SVC_PASSWORD,
        "tls": "yes",
        "tls_ca_cert_file": dc.ca,
        "tls_require_cert": "demand",
        "base": BASE,
        "scope": "subtree",
        "auth_bind": "yes",
        "recipient_profile": "ad",
        "iterate_filter": f"(&{PERSON_USER}(mailNickname=*))",
        "iterate_page_size": str(MAX_PAGE_SIZE),
    }
    s.update(logins)
    s.update(over)
    return s


def start_dovecot(sb, dc, settings, mounts=(), path=None):
    d = sb.dovecot(start=False, settings={"auth_debug": "yes"})
    d.bind_mounts = [(dc.hosts, "/etc/hosts"), *mounts]
    if path is None:
        d.auth_dbs = mgsetup.auth_dbs_for(d, settings)
    else:
        d.auth_dbs = [AuthDB("passdb", "mailbox_guard", path),
                      AuthDB("userdb", "mailbox_guard", path)]
    d.start()
    return d


@pytest.fixture(scope="module")
def sam(dc):
    with Sandbox(prefix="mgads") as sb:
        yield start_dovecot(sb, dc, settings_for(dc, SAM_SETTINGS))


@pytest.fixture(scope="module")
def upn(dc):
    with Sandbox(prefix="mgadu") as sb:
        yield start_dovecot(sb, dc, settings_for(dc, UPN_SETTINGS))


def replies(d, login, password):
    got = d.login_all(login, password)
    return (got["imap-login"], got["imap-plain"], got["pop3"])


@pytest.mark.parametrize("name", ["ada", "bert"])
def test_mailbox_user_logs_in_by_samaccountname(sam, name):
    for reply in replies(sam, name, pw(name)):
        assert reply.ok, reply.text


@pytest.mark.parametrize("name", ["ada", "bert"])
def test_mailbox_user_logs_in_by_upn(upn, name):
    for reply in replies(upn, f"{name}@{UPN_SUFFIX}", pw(name)):
        assert reply.ok, reply.text


@pytest.mark.parametrize("name", ["ada", "eve"])
def test_wrong_password_fails(sam, name):
    got = replies(sam, name, "Not-The-Passw0rd!")
    assert tuple(r.text for r in got) == WANT[AUTHFAIL]


@pytest.mark.parametrize("name,rtd", [("carl", "128"),
                                      ("dora", "2147483648")])
def test_mailuser_refused_with_the_exchange_lines(sam, name, rtd):
    mark = sam.log_mark()
    got = replies(sam, name, pw(name))
    assert tuple(r.text for r in got) == WANT[REFUSED]
    log = sam.log_since(mark, wait_for="Event ID 13003")
    assert "Event ID 1023" in log and f"cn=Recipients/cn={name}" in log, log
    assert "Event ID 13003" in log, log


def test_mailuser_refused_by_upn(upn):
    got = replies(upn, f"carl@{UPN_SUFFIX}", pw("carl"))
    assert tuple(r.text for r in got) == WANT[REFUSED]


@pytest.mark.parametrize("login", ["partner", "ada-old"])
def test_contact_fails_like_a_wrong_password(sam, login):
    """Contacts have no sAMAccountName and no password: unknown."""
    got = replies(sam, login, pw(login))
    assert tuple(r.text for r in got) == WANT[AUTHFAIL]


def test_disabled_account_fails_like_a_wrong_password(sam):
    """AD refuses a disabled account's bind (invalidCredentials, data
    533) even with the right password."""
    mark = sam.log_mark()
    got = replies(sam, "eve", pw("eve"))
    assert tuple(r.text for r in got) == WANT[AUTHFAIL]
    assert "Event ID" not in sam.log_since(mark)


def test_continuation_references_are_ignored(sam):
    """The lookups above search from the domain root, where Samba answers
    with references to other partitions besides the entry."""
    r = subprocess.run(["ldapsearch", "-x", "-ZZ", "-H", f"ldap://{samba.IP}",
                        "-D", SVC_DN, "-w", SVC_PASSWORD, "-b", BASE,
                        "(sAMAccountName=ada)", "dn"],
                       capture_output=True, text=True,
                       env=dict(os.environ, LDAPTLS_REQCERT="never"))
    assert "# search reference" in r.stdout, r.stdout
    rc, out = sam.doveadm_user("ada")
    assert rc == 0, out
    assert parse_doveadm_user(out).get("email") == "ada@example.test", out


def test_doveadm_user_mailuser_unknown(sam):
    rc, out = sam.doveadm_user("carl")
    assert rc == 67, out


def test_disabled_account_is_a_mailbox_outside_a_login(sam):
    for name in ("eve", "shared"):
        rc, out = sam.doveadm_user(name)
        assert rc == 0, out


def test_iteration_in_pages_past_max_page_size(sam):
    mark = sam.log_mark()
    rc, out = sam.doveadm("user", "*", timeout=120)
    assert rc == 0, out[-2000:]
    listed = out.split()
    assert len(listed) == len(set(listed))
    assert set(listed) == ITERATED
    paged = f"paged search (page size {MAX_PAGE_SIZE})"
    assert paged in sam.log_since(mark, wait_for=paged)


def test_iteration_without_disabled_accounts(dc):
    with Sandbox(prefix="mgadi") as sb:
        d = start_dovecot(sb, dc, settings_for(
            dc, SAM_SETTINGS,
            iterate_filter=f"(&{PERSON_USER}(mailNickname=*){NOT_DISABLED})"))
        rc, out = d.doveadm("user", "*", timeout=120)
        assert rc == 0, out[-2000:]
        assert set(out.split()) == ITERATED_ENABLED


def test_ad_filter_excluding_disabled_accounts_at_login(dc):
    """The filter every AD guide gives, in pass_filter and user_filter."""
    f = f"(&{PERSON_USER}(sAMAccountName=%n){NOT_DISABLED})"
    with Sandbox(prefix="mgadf") as sb:
        d = start_dovecot(sb, dc, settings_for(
            dc, SAM_SETTINGS, pass_filter=f, user_filter=f))
        for reply in replies(d, "ada", pw("ada")):
            assert reply.ok, reply.text
        got = replies(d, "eve", pw("eve"))
        assert tuple(r.text for r in got) == WANT[AUTHFAIL]
        rc, out = d.doveadm_user("eve")
        assert rc == 67, out


# ---- doc/active-directory.md: every command block, run as written ----

DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "doc", "active-directory.md")
CHECK_TOOL = os.environ.get("MG_CHECK_TOOL", os.path.join(
    os.path.dirname(DOC), "..", "src", "tools", "mailbox-guard-check"))


def doc_blocks():
    """The ```sh blocks of the document for the Dovecot installed, in
    order: those of both releases (```sh) and this one's (```sh
    dovecot-2.3, ```sh dovecot-2.4)."""
    with open(DOC) as f:
        text = f.read()
    mine = " dovecot-2.4" if is_24() else " dovecot-2.3"
    return [body for release, body in
            re.findall(r"^```sh( dovecot-2\.[34])?\n(.*?)^```$", text,
                       re.S | re.M)
            if release in ("", mine)]


@pytest.mark.skipif(not os.path.exists(CHECK_TOOL),
                    reason="mailbox-guard-check not built")
def test_doc_commands(dc):
    """The document's commands against the DC, in a mount namespace where
    /etc/dovecot is a sandbox directory (and the DC's name resolves);
    then a Dovecot on the settings they wrote (2.3: the settings file;
    2.4: the snippet, included from that Dovecot's dovecot.conf, which is
    /etc/dovecot/dovecot.conf there too, where the tool reads it)."""
    blocks = doc_blocks()
    assert len(blocks) >= 6
    with Sandbox(prefix="mgadd") as sb:
        etc = sb.path("etc-dovecot")
        os.makedirs(etc)
        # the step the document leaves to the admin: saving the CA
        shutil.copyfile(dc.ca, os.path.join(etc, "ad-ca.pem"))
        os.chmod(os.path.join(etc, "ad-ca.pem"), 0o644)
        mounts = [(etc, "/etc/dovecot")]
        tools = os.path.dirname(os.path.abspath(CHECK_TOOL))
        env = {"PATH": tools + ":" + os.environ["PATH"]}
        if is_24():
            # the steps it leaves to the admin: a dovecot.conf whose
            # conf.d/10-auth.conf includes the snippet
            os.makedirs(os.path.join(etc, "conf.d"))
            d = sb.dovecot(start=False, settings={"auth_debug": "yes"})
            d.bind_mounts = [(dc.hosts, "/etc/hosts"), *mounts]
            d.extra_conf = \
                "!include /etc/dovecot/conf.d/auth-mailbox-guard.conf.ext"
            d.prepare()
            shutil.copyfile(d.conf_path, os.path.join(etc, "dovecot.conf"))
            r = subprocess.run(
                d.in_namespace(["sh", "-e", "-c", "\n".join(blocks)]),
                capture_output=True, text=True, cwd=sb.root,
                env=dict(os.environ, **env), timeout=120)
        else:
            r = dc.in_namespace("\n".join(blocks), mounts=mounts,
                                cwd=sb.root, env=env)
        out = r.stdout
        assert r.returncode == 0, out + r.stderr
        assert "TLS: verified" in out
        searches, *reports = out.split("\nuser: ")
        assert searches.count(
            "dn: CN=ada,OU=Mail,DC=ad,DC=example,DC=test") == 2, out
        assert len(reports) == 3, out
        assert "kind: mailbox" in reports[0]
        assert "disabled:" not in reports[0]
        assert "kind: custom_recipient" in reports[1]
        assert "rule: (msExchRecipientTypeDetails=128)" in reports[1]
        assert "exit status 1" in reports[1]
        assert "kind: mailbox" in reports[2]
        assert "disabled: yes" in reports[2]
        assert out.count("disabled: yes") == 2, out

        # the settings the document wrote, in a Dovecot
        if is_24():
            assert os.stat(os.path.join(etc, "mailbox-guard.conf")) \
                .st_mode & 0o777 == 0o600
            d.start()
        else:
            d = start_dovecot(sb, dc, None, mounts=mounts,
                              path="/etc/dovecot/mailbox-guard-ad.conf")
        for reply in replies(d, "ada", pw("ada")):
            assert reply.ok, reply.text
        got = replies(d, "carl", pw("carl"))
        assert tuple(r.text for r in got) == WANT[REFUSED]
        rc, out = d.doveadm("user", "*", timeout=120)
        assert rc == 0 and set(out.split()) == ITERATED, out[-2000:]


@pytest.mark.skipif(not os.path.exists(CHECK_TOOL),
                    reason="mailbox-guard-check not built")
def test_check_tool_prints_the_servers_diagnostic(dc):
    """A simple bind in plain text: Samba refuses it with its own text,
    which the tool shows as the plugin's log does (issue 12, item 5)."""
    settings = settings_for(dc, SAM_SETTINGS, tls="no")
    with Sandbox(prefix="mgadt") as sb:
        d = sb.dovecot(start=False)
        if is_24():
            # the settings are dovecot.conf's, read where doveconf finds
            # the plugin's settings module and the DC's name resolves
            d.bind_mounts = [(dc.hosts, "/etc/hosts")]
            d.auth_dbs = mgsetup.auth_dbs_24(settings)
            d.prepare()
            r = subprocess.run(d.in_namespace(
                [CHECK_TOOL, "--dovecot-conf", d.conf_path, "ada"]),
                capture_output=True, text=True, timeout=60)
        else:
            path = d.write_settings("plain.conf", settings)
            r = dc.in_namespace(f"{CHECK_TOOL} -c {path} --dovecot-conf= "
                                "ada")
    out = r.stdout + r.stderr
    assert r.returncode == 3, out
    assert "Transport encryption required" in out, out
