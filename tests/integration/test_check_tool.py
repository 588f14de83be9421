"""mailbox-guard-check against the plugin itself.

For every entry of each fixture tree and an unknown user (and for settings
variants that reach tempfail, audit_only, a templated reason, the 11202
success audit, a duplicate match and an ambiguous one), the user logs in
over IMAP and POP3 against a dovecot running the plugin, then the tool is
asked about the same user with the same settings (2.3: the settings file;
2.4: the dovecot.conf) and the same client address. Its exit status, its IMAP and
POP3 reply texts and its Exchange lines must be what the logins really got
and what the plugin really logged.
"""

import json
import os
import re
import subprocess

import pytest

import mgsetup
from fixtures import ad_tree, ex55_tree, openldap_tree, pw
from sandbox import Sandbox, procs
from sandbox.dovecot import REPO_ROOT, AuthDB, is_24

TREES = {"ad": ad_tree, "ex55": ex55_tree, "openldap": openldap_tree}
EXIT_MAILBOX, EXIT_CUSTOM, EXIT_UNKNOWN, EXIT_ERROR = 0, 1, 2, 3
UNKNOWN_LOGIN = "mg-no-such-user"
BARRIER_LOGIN = "mg-barrier-user"

# name -> (tree, settings over the tree's plugin_settings, logins): logins
# is a list of (login, password, exit status), None for every entry of the
# tree (the fixture's userdb column says which are mailboxes) and a user
# that does not exist
VARIANTS = {
    "ad": ("ad", {}, None),
    "ex55": ("ex55", {}, None),
    "openldap": ("openldap", {}, None),
    "ad-tempfail": ("ad", {"custom_recipient_result": "tempfail",
                           "diagnostics_logging": "minimum"}, None),
    "ex55-audit": ("ex55", {"audit_only": "yes",
                            "diagnostics_logging": "medium",
                            "mailbox_alias_attr": "cn"}, None),
    "openldap-reason": ("openldap", {
        "custom_recipient_reason":
            "Mail for %n (%{ldap:mail}, %{ldap_multi:objectClass}) goes to "
            + ("%{ldap:mailRoutingAddress | default('another server')}."
               if is_24() else "%{ldap:mailRoutingAddress:another server}."),
        "diagnostics_logging": "minimum"}, None),
    # the forms --to-2.4 writes (doc/upgrading-to-2.4.md) and 2.3's
    "openldap-converted": ("openldap", {
        "custom_recipient_reason":
            "100%{literal('\\x25')} %{ldap:mailRoutingAddress | default} "
            "for %{user | upper}." if is_24() else
            "100%% %{ldap:mailRoutingAddress} for %Uu.",
        "diagnostics_logging": "minimum"}, None),
    # a contact shares alice's address: the login uses alice, and
    # pass_attrs renames the user to her mailNickname
    "ad-by-mail": ("ad", {"pass_filter": "(&(objectClass=person)(mail=%u))",
                          "diagnostics_logging": "minimum"},
                   [("alice@corp.test", pw("alice"), EXIT_MAILBOX)]),
    # every user of the domain matches: several mailboxes, a tempfail
    "ad-by-domain": ("ad", {"pass_filter":
                            "(&(objectClass=person)(mail=*@%d))"},
                     [("anyone@corp.test", "whatever", EXIT_ERROR)]),
}


def variant_logins(variant):
    tree_name, _, logins = VARIANTS[variant]
    if logins is not None:
        return logins
    return [(e.login, e.try_password,
             EXIT_MAILBOX if e.userdb else EXIT_CUSTOM)
            for e in TREES[tree_name].EXPECTED.values()] + \
        [(UNKNOWN_LOGIN, "whatever", EXIT_UNKNOWN)]


CASES = [(v, login, rc) for v in VARIANTS
         for login, _, rc in variant_logins(v)]

TEMPFAIL_SUFFIX = re.compile(r" \[[^\]]*\]$")
CAPABILITY = re.compile(r"^OK \[CAPABILITY [^\]]*\] ")
# what the plugin's lines start with: 2.3 "mailbox_guard(user,addr,...): ",
# 2.4 "auth(user,addr,...)<session>: Info: passdbN: "
PREFIX_23 = re.compile(r"mailbox_guard\(([^)]*)\): (.*)$")
PREFIX_24 = re.compile(r"auth\(([^)]*)\)(?:<[^>]*>)?: [A-Za-z]+: "
                       r"(?:passdb|userdb)\d+: (.*)$")


def tool_path():
    return os.environ.get("MG_CHECK_TOOL") or os.path.join(
        REPO_ROOT, "src", "tools", "mailbox-guard-check")


def run_tool(*args):
    r = subprocess.run([tool_path(), *args], capture_output=True, text=True,
                       timeout=60)
    return r.returncode, r.stdout, r.stderr


def run_tool_for(dc, *args, conf=True):
    """The tool asked about dc's settings. 2.3: its settings file, and its
    dovecot.conf for auth_username_* unless conf is False; 2.4: its
    dovecot.conf (the settings are there), in the mount namespace where
    doveconf finds the plugin's settings module."""
    if is_24():
        argv = dc.in_namespace([tool_path(), "--dovecot-conf", dc.conf_path,
                                *args])
    else:
        argv = [tool_path(), "-c", dc.auth_dbs[0].args, "--dovecot-conf",
                dc.conf_path if conf else "", *args]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def ask(dc, login, addr, conf=True):
    rc, out, err = run_tool_for(dc, "--remote-ip", addr, "--json", login,
                                conf=conf)
    assert out, f"no output (exit {rc}): {err}"
    return rc, json.loads(out)


def normalize(reply_text):
    """The parts of a server reply the tool does not predict: the
    capability list of a successful IMAP login and the [host:time] tag of
    a temporary failure."""
    text = CAPABILITY.sub("OK ", reply_text)
    if text.startswith(("NO [UNAVAILABLE]", "-ERR [SYS/TEMP]")):
        text = TEMPFAIL_SUFFIX.sub("", text)
    return text


def exchange_lines(log, addr):
    """The Exchange lines mailbox_guard logged for logins from addr."""
    lines = []
    for line in log.splitlines():
        m = (PREFIX_24 if is_24() else PREFIX_23).search(line)
        if not m:
            continue
        fields = m.group(1).split(",")
        if len(fields) > 1 and fields[1] == addr and \
                m.group(2).startswith("MSExchange"):
            lines.append(m.group(2))
    return lines


class Observed:
    """One variant's dovecot, and what each login got from it."""

    def __init__(self, dovecot):
        self.dovecot = dovecot
        self.replies = {}       # (login, service) -> (addr, Reply)
        self.smtp = {}          # login -> what an SMTP AUTH client gets
        self.log = ""

    def login_all(self, logins):
        jobs, keys = [], []
        for login, password in logins:
            for service, call in (("imap", self.dovecot.imap_login),
                                  ("pop3", self.dovecot.pop3_login)):
                addr = procs.next_source_address()
                jobs.append((call, login, password, addr))
                keys.append((login, service, addr))
        for (login, service, addr), reply in zip(
                keys, self.dovecot.parallel(jobs)):
            self.replies[(login, service)] = (addr, reply)
        for login, password in logins:
            rc, out = self.dovecot.doveadm_auth_test(
                login, password, "smtp",
                f"rip={procs.next_source_address()}")
            self.smtp[login] = smtp_answer(rc, out)
        self.log = self.wait_barrier()

    def wait_barrier(self):
        """The auth process logs in order, and every login above has been
        answered: once a later login's line is in the log, theirs are."""
        addr = procs.next_source_address()
        self.dovecot.imap_login(BARRIER_LOGIN, "x", source=addr)
        log = self.dovecot.wait_log(
            lambda text: any(PREFIX_24.search(line) for line in
                             self.dovecot.db_log_lines(text, BARRIER_LOGIN)
                             if f"({BARRIER_LOGIN},{addr}," in line)
            if is_24() else f"mailbox_guard({BARRIER_LOGIN},{addr}," in text)
        assert log is not None, "the barrier login never reached the log"
        return log


@pytest.fixture(scope="module")
def observed():
    if not mgsetup.plugin_available() or mgsetup.standin():
        pytest.skip(mgsetup.skip_reason())
    if not os.access(tool_path(), os.X_OK):
        pytest.skip(f"{tool_path()} is not built")
    done, sandboxes = {}, []

    def get(variant):
        if variant not in done:
            tree_name, over, _ = VARIANTS[variant]
            sb = Sandbox(prefix=f"mgck{tree_name}")
            sandboxes.append(sb)
            _, dc = mgsetup.guard_setup(sb, TREES[tree_name],
                                        settings_over=over)
            obs = Observed(dc)
            obs.login_all([(login, password) for login, password, _
                           in variant_logins(variant)])
            done[variant] = obs
        return done[variant]
    try:
        yield get
    finally:
        for sb in sandboxes:
            sb.close()


def smtp_answer(rc, out):
    """`doveadm auth test -x service=smtp` output in the tool's words
    (what Postfix and Exim see on the same socket)."""
    if rc == 0:
        return "OK (Postfix: 235)"
    for code in ("user_disabled", "temp_fail"):
        if f"code={code}" in out:
            return f"FAIL code={code} (Postfix: 535)"
    return "FAIL (Postfix: 535)"


def check_against(obs, login, want_rc):
    """Asks the tool once per service (each login came from its own
    address) and compares with what that login got."""
    for service in ("imap", "pop3"):
        addr, real = obs.replies[(login, service)]
        rc, got = ask(obs.dovecot, login, addr)
        where = f"{service} login as {login} from {addr}"
        assert rc == want_rc, f"{where}: exit {rc}, {got}"
        assert got["exit_status"] == rc
        assert got[service]["reply"] == normalize(real.text), where
        assert (got[service]["result"] in ("ok", "audit_only")) == real.ok, \
            where
        assert got[service]["exchange"] == exchange_lines(obs.log, addr), \
            where
        assert got["other_clients"] == obs.smtp[login], login


@pytest.mark.plugin
@pytest.mark.parametrize("variant,login,want_rc", CASES,
                         ids=[f"{v}:{l}" for v, l, _ in CASES])
def test_tool_agrees_with_login(observed, variant, login, want_rc):
    check_against(observed(variant), login, want_rc)


@pytest.mark.plugin
def test_text_output_matches_json(observed):
    obs = observed("ad-tempfail")
    login = "partner"
    addr, _ = obs.replies[(login, "imap")]
    rc_json, got = ask(obs.dovecot, login, addr, conf=False)
    rc, out, err = run_tool_for(obs.dovecot, "--remote-ip", addr, login,
                                conf=False)
    assert rc == rc_json == 1, err
    lines = out.splitlines()
    assert f"dn: {got['dn']}" in lines
    assert f"kind: {got['kind']}" in lines
    assert f"rule: {got['rule']}" in lines
    for service in ("imap", "pop3"):
        assert f"{service}: {got[service]['reply']}" in lines
        ex = [x[len(f"{service} exchange: "):] for x in lines
              if x.startswith(f"{service} exchange: ")]
        assert ex == got[service]["exchange"]
        assert ex, "tempfail + minimum logs Exchange lines"
    assert f"other clients: {got['other_clients']}" in lines
    assert got["other_clients"] == "FAIL code=temp_fail (Postfix: 535)"


# --- errors: no plugin, dovecot or slapd needed ------------------------------

@pytest.fixture
def tool():
    if not os.access(tool_path(), os.X_OK):
        pytest.skip(f"{tool_path()} is not built")
    return tool_path()


def only_23(why):
    """For a test of 2.3's settings file whose behaviour 2.4 has not: 2.4
    has no settings file of the plugin's, dovecot.conf and the files it
    includes are read by Dovecot's config process."""
    return pytest.mark.skipif(is_24(), reason="Dovecot 2.4: no settings "
                              "file of the plugin's (Dovecot's config "
                              f"process reads dovecot.conf): {why}")


def run_tool_24(conf_text, *args):
    """2.4: the tool on a dovecot.conf (of a Dovecot not started) ending
    with conf_text, with a mailbox_guard passdb and userdb, run where
    doveconf finds the plugin's settings module: (exit status, stdout,
    stderr, the dovecot.conf's path)."""
    if not mgsetup.plugin_available() or mgsetup.standin():
        pytest.skip(mgsetup.skip_reason())
    with Sandbox(prefix="mgck24") as sb:
        dc = sb.dovecot(start=False)
        dc.auth_dbs = [AuthDB("passdb", "mailbox_guard"),
                       AuthDB("userdb", "mailbox_guard")]
        dc.extra_conf = conf_text
        dc.prepare()
        r = subprocess.run(dc.in_namespace([tool_path(), "--dovecot-conf",
                                            dc.conf_path, *args]),
                           capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout, r.stderr, dc.conf_path


def conf_text(body):
    """A dovecot.conf holding body, for the Dovecot installed."""
    if is_24():
        return ("dovecot_config_version = 2.4.1\n"
                "dovecot_storage_version = 2.4.1\n" + body)
    return body


def write(tmp_path, text):
    p = tmp_path / "guard.conf"
    p.write_text(text)
    return str(p)


def test_settings_error_names_file_and_line(tool, tmp_path):
    """2.4: the same through doveconf, which names the file and the
    setting (Dovecot gives no line for a value its check refuses)."""
    if is_24():
        rc, out, err, conf = run_tool_24(
            "mailbox_guard_uris = ldap://127.0.0.1:1\n# a comment\n\n"
            "mailbox_guard_base = dc=x\nmailbox_guard_scope = sideways\n",
            "alice")
        assert rc == 3
        assert f"Error in configuration file {conf}: mailbox_guard_scope: " \
            "expected base, onelevel or subtree, got 'sideways'" in err, err
        return
    path = write(tmp_path, "uris = ldap://127.0.0.1:1\n"
                           "# a comment\n\n"
                           "base = dc=x\n"
                           "scope = sideways\n")
    rc, out, err = run_tool("-c", path, "alice")
    assert rc == 3
    assert f"{path} line 5: scope: expected base, onelevel or subtree, " \
           "got 'sideways'" in err


def test_settings_syntax(tool, tmp_path):
    """Quotes keep a '#', a backslash continues a line; the file is then
    valid and the tool gets as far as LDAP (nobody listens there). 2.4:
    the same lines as dovecot.conf settings."""
    text = ('uris = ldap://127.0.0.1:1 \\\n'
            '       ldap://127.0.0.1:2  # two servers\n'
            'base = dc=x\n'
            'custom_recipient_reason = "No mailbox # here"\n'
            'request_timeout = 500ms\n')
    if is_24():
        rc, out, err, _ = run_tool_24(re.sub(r"^(\w+ =)", r"mailbox_guard_\1",
                                             text, flags=re.M),
                                      "--json", "alice")
    else:
        rc, out, err = run_tool("-c", write(tmp_path, text), "--json",
                                "alice")
    assert rc == 3
    got = json.loads(out)
    assert "ldap://127.0.0.1:1: " in got["error"]
    assert "ldap://127.0.0.1:2: " in got["error"]


def test_dnpass_never_printed(tool, tmp_path):
    """2.4: mailbox_guard_auth_dn_password, beside an unknown setting that
    holds it too."""
    secret = "S3cret-dnpass-value"
    if is_24():
        conf = ("mailbox_guard_uris = ldap://127.0.0.1:1\n"
                "mailbox_guard_base = dc=x\n"
                "mailbox_guard_auth_dn = cn=svc,dc=x\n"
                f"mailbox_guard_auth_dn_password = {secret}\n")
        rc, out, err, _ = run_tool_24(conf + f"mailbox_guard_bogus = {secret}\n",
                                      "--json", "alice")
        assert rc == 3
        assert "Unknown setting: mailbox_guard_bogus" in err, err
        assert secret not in out + err
        rc, out, err, _ = run_tool_24(conf, "--json", "alice")
        assert rc == 3
        assert "bind as 'cn=svc,dc=x' failed" in json.loads(
            out.splitlines()[0])["error"]
        assert secret not in out + err
        return
    path = write(tmp_path, "uris = ldap://127.0.0.1:1\nbase = dc=x\n"
                           f"dn = cn=svc,dc=x\ndnpass = {secret}\n"
                           f"bogus = {secret}\n")
    rc, out, err = run_tool("-c", path, "--json", "alice")
    assert rc == 3
    assert "line 5: unknown setting 'bogus'" in err
    assert secret not in out + err
    path = write(tmp_path, "uris = ldap://127.0.0.1:1\nbase = dc=x\n"
                           f"dn = cn=svc,dc=x\ndnpass = {secret}\n")
    rc, out, err = run_tool("-c", path, "alice")
    assert rc == 3
    assert "cn=svc,dc=x" in err or "ldap://127.0.0.1:1" in err
    assert secret not in out + err


def test_bad_remote_ip(tool, tmp_path):
    path = write(tmp_path, "uris = ldap://127.0.0.1:1\nbase = dc=x\n")
    rc, out, err = run_tool("-c", path, "--remote-ip", "not-an-ip", "alice")
    assert rc == 3
    assert "--remote-ip" in err


# --- the name Dovecot hands the passdb ---------------------------------------

@pytest.mark.plugin
def test_tool_checks_the_name_dovecot_gives_the_passdb(tool):
    """auth_username_format = %Ln: the login 'Alice@Elsewhere.Test' reaches
    the plugin as 'alice', a mailbox; the tool, reading the same
    dovecot.conf, checks 'alice' and says so."""
    if mgsetup.standin():
        pytest.skip(mgsetup.skip_reason())
    login = "Alice@Elsewhere.Test"
    with Sandbox(prefix="mgckname") as sb:
        fmt = "%{user | username | lower}" if is_24() else "%Ln"
        _, dc = mgsetup.guard_setup(
            sb, ad_tree, dovecot_settings={"auth_username_format": fmt})
        assert dc.imap_login(login, pw("alice")).ok
        rc, out, err = run_tool_for(dc, "--json", login)
        assert rc == EXIT_MAILBOX, err
        got = json.loads(out)
        assert got["user"] == "alice"
        assert "Dovecot gives the passdb 'alice', not " \
               "'Alice@Elsewhere.Test'" in got["user_note"]
        assert got["user_note"] in err


def test_tool_says_when_it_cannot_reproduce_the_name(tool, tmp_path):
    conf = tmp_path / "dovecot.conf"
    fmt = "%{user | username}.%{user | domain}" if is_24() else "%n.%d"
    conf.write_text(conf_text(f"auth_username_format = {fmt}\n"))
    path = write(tmp_path, "uris = ldap://127.0.0.1:1\nbase = dc=x\n")
    rc, out, err = run_tool(*(() if is_24() else ("-c", path)),
                            "--dovecot-conf", str(conf), "a@b")
    assert f"auth_username_format = {fmt} changes the name in a way this " \
           "tool does not reproduce" in err


def test_tool_refuses_a_name_dovecot_refuses(tool, tmp_path):
    conf = tmp_path / "dovecot.conf"
    conf.write_text(conf_text("auth_username_translation = +x\n"))
    path = write(tmp_path, "uris = ldap://127.0.0.1:1\nbase = dc=x\n")
    rc, out, err = run_tool(*(() if is_24() else ("-c", path)),
                            "--dovecot-conf", str(conf), "--json", "a+b c")
    assert rc == EXIT_ERROR
    assert "character 0x20 is not in auth_username_chars" in \
        json.loads(out)["error"]


# --- the settings file as the plugin reads it ---------------------------------

@only_23("the tool has no reader of its own to match Dovecot's")
def test_settings_continuation_as_dovecot_joins(tool, tmp_path):
    """Dovecot's reader skips a comment line inside a continued line and
    cuts each physical line at its own comment."""
    path = write(tmp_path,
                 'uris = ldap://127.0.0.1:1 \\\n'
                 '# the second server:\n'
                 '\n'
                 '       ldap://127.0.0.1:2\n'
                 'base = dc=x # a comment \\\n'
                 'request_timeout = 500ms\n')
    rc, out, err = run_tool("-c", path, "--dovecot-conf", "", "--json",
                            "alice")
    assert rc == 3
    got = json.loads(out)
    assert "ldap://127.0.0.1:1: " in got["error"]
    assert "ldap://127.0.0.1:2: " in got["error"]


@pytest.mark.parametrize("mode,owner,words", [
    (0o620, 0, "the file is writable by its group"),
    (0o600, 65534, "the file is owned by uid 65534, not root"),
])
@only_23("their permissions are the admin's (mailbox-guard.conf(5), "
         "DOVECOT 2.4)")
def test_tool_refuses_a_changeable_settings_file(tool, tmp_path, mode, owner,
                                                words):
    path = write(tmp_path, "uris = ldap://127.0.0.1:1\n!include inc.conf\n")
    inc = tmp_path / "inc.conf"
    inc.write_text("base = dc=x\n")
    os.chmod(inc, 0o600)
    for target, where in ((path, f"Error in configuration file {path}: "),
                          (str(inc), f"Error in configuration file {path} "
                                     f"line 2: included file {inc}: ")):
        os.chmod(target, mode)
        os.chown(target, owner, -1)
        rc, out, err = run_tool("-c", path, "--dovecot-conf", "", "alice")
        assert rc == 3
        assert where + words in err, err
        os.chmod(target, 0o600)
        os.chown(target, 0, -1)


def test_tool_empty_dnpass(tool, tmp_path):
    """2.4: mailbox_guard_auth_dn_password, set empty."""
    if is_24():
        rc, out, err, _ = run_tool_24(
            "mailbox_guard_uris = ldap://127.0.0.1:1\n"
            "mailbox_guard_base = dc=x\n"
            "mailbox_guard_auth_dn = cn=svc,dc=x\n"
            "mailbox_guard_auth_dn_password = \"\"\n", "alice")
        assert rc == 3
        assert "mailbox_guard_auth_dn is set but " \
            "mailbox_guard_auth_dn_password is not" in err, err
        return
    path = write(tmp_path, "uris = ldap://127.0.0.1:1\nbase = dc=x\n"
                           "dn = cn=svc,dc=x\ndnpass = \"\"\n")
    rc, out, err = run_tool("-c", path, "--dovecot-conf", "", "alice")
    assert rc == 3
    assert f"Error in configuration file {path} line 4: dnpass is empty " \
           "but dn is set" in err


@only_23("the plugin never learns which file holds "
         "mailbox_guard_auth_dn_password")
def test_tool_readable_dnpass(tool, tmp_path):
    path = write(tmp_path, "uris = ldap://127.0.0.1:1\nbase = dc=x\n"
                           "dn = cn=svc,dc=x\ndnpass = s\n")
    os.chmod(path, 0o640)
    rc, out, err = run_tool("-c", path, "--dovecot-conf", "", "alice")
    assert f"warning: {path} holds dnpass but is readable by its group " \
           "(chmod go-r)" in err


# --- Dovecot 2.4: the settings from dovecot.conf -------------------------------

def tool_24(sb, shared, passdb, extra=()):
    """The tool on a dovecot.conf with the shared settings at the top level
    and a mailbox_guard passdb and userdb: (exit status, out + err)."""
    dc = sb.dovecot(start=False, settings=shared)
    dc.auth_dbs = [AuthDB("passdb", "mailbox_guard", **passdb),
                   AuthDB("userdb", "mailbox_guard")]
    dc.prepare()
    r = subprocess.run(dc.in_namespace([tool_path(), "--dovecot-conf",
                                        dc.conf_path, *extra, "alice"]),
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


@pytest.fixture
def sandbox_24(tool):
    if not is_24():
        pytest.skip("Dovecot 2.4 only: 2.3 forms in its settings, and -c, "
                    "which 2.3 reads")
    if not mgsetup.plugin_available() or mgsetup.standin():
        pytest.skip(mgsetup.skip_reason())
    with Sandbox(prefix="mgck24") as sb:
        yield sb


UNREACHABLE = {"mailbox_guard_uris": "ldap://127.0.0.1:1",
               "mailbox_guard_base": "dc=x"}


@pytest.mark.parametrize("shared,passdb,extra,words", [
    # doveconf passes it; the plugin would refuse to start
    ({}, {"passdb_mailbox_guard_filter": "(uid=%u)"}, (),
     "passdb_mailbox_guard_filter: %u is Dovecot 2.3 syntax: write "
     "%{user}"),
    ({}, {}, ("-c", "/etc/dovecot/mailbox-guard.conf"),
     "-c: Dovecot 2.4 has no mailbox_guard settings file"),
], ids=["2.3-variable", "no-settings-file"])
def test_24_settings_errors_name_the_setting(sandbox_24, shared, passdb,
                                             extra, words):
    rc, out = tool_24(sandbox_24, {**UNREACHABLE, **shared}, passdb, extra)
    assert rc == EXIT_ERROR
    assert words in out, out

