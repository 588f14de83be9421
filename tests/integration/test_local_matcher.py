"""The local matcher never silently disagrees with the directory.

custom_recipient_match and mailbox_match are evaluated by the plugin on the
entry the search returned, not by the server. Here real slapd is the judge:

* for filters the matcher accepts, every entry of the AD tree (plus one
  that lists only inetOrgPerson and has odd spaces in its cn) is
  classified by mailbox-guard-check (the plugin's core) exactly as slapd
  answers a base search with the same filter on that entry;
* filters it cannot judge as the server would stop the auth process at
  start, naming the key, the attribute and what to write instead; the
  check tool refuses them the same way;
* filters sent to the server take all of RFC 4515: AD's bit rule in
  pass_filter (issue 12) starts and finds exactly what slapd finds.
"""

import json
import re
import subprocess

import pytest

import mgsetup
from fixtures import Entry, ad_tree, pw, tree_ldif
from sandbox import Sandbox, is_24
from sandbox.dovecot import REPO_ROOT

pytestmark = pytest.mark.plugin

PASS_FILTER = "(|(mailNickname=%u)(uid=%u))"
INET_ONLY = Entry(f"cn=inet only,ou=Users,{ad_tree.SUFFIX}",
                  {"objectClass": ["inetOrgPerson"], "cn": "Inet   Only ",
                   "sn": "Only", "uid": "inetonly",
                   "mail": "inetonly@corp.test"},
                  login="inetonly", password=pw("inetonly"))
ENTRIES = ad_tree.ENTRIES + [INET_ONLY]
LOGINS = [e for e in ENTRIES if e.login]

MDB_RESPELLED = ("cn = mailbox database 01 , CN=Databases,cn=exchange "
                 "administrative group,CN=Administrative Groups,cn=corp,"
                 "CN=Microsoft   Exchange,cn=services,cn=configuration,"
                 "dc=CORP,dc=test")

# Accepted by the local matcher; each leans on one comparison rule.
AGREEING_FILTERS = [
    "(objectClass=organizationalPerson)",   # class hierarchy (inetonly)
    "(objectClass=person)",
    "(!(objectClass=user))",
    "(objectClass=top)",
    "(cn=inet only)",                        # insignificant spaces
    "(cn=  INET  ONLY)",
    "(cn=*t o*)",
    "(sn=*LIC*)",
    "(targetAddress=smtp:*@partner.test)",
    "(msExchRecipientTypeDetails=128)",      # integerMatch
    "(msExchRecipientTypeDetails>=128)",
    "(msExchRecipientTypeDetails<=4)",
    "(msExchRecipientDisplayType<=-1)",
    "(msExchRecipientTypeDetails:1.2.840.113556.1.4.803:=128)",  # bit AND
    "(msExchRecipientTypeDetails:1.2.840.113556.1.4.803:=2147483648)",
    "(msExchRecipientTypeDetails:1.2.840.113556.1.4.804:=68)",   # bit OR
    "(msExchRecipientDisplayType:1.2.840.113556.1.4.803:=6)",
    f"(homeMDB={MDB_RESPELLED})",           # distinguishedNameMatch
    "(mailNickname:=ALICE)",
    "(&(objectClass=person)(!(homeMDB=*))(mail=*@corp.test))",
]

# Refused at start: (filter, words the error must hold)
REFUSED_FILTERS = {
    "objectCategory": ("(|(objectClass=contact)(objectCategory=person))",
                       [r"custom_recipient_match", r"objectCategory",
                        r"\(objectClass=person\)"]),
    "alias": ("(|(objectClass=contact)(userid=x))",
              [r"custom_recipient_match", r"userid", r"write uid"]),
    "oid": ("(|(objectClass=contact)(2.5.4.3=x))",
            [r"custom_recipient_match", r"2\.5\.4\.3", r"write cn"]),
    "leading-zero": ("(msExchRecipientTypeDetails=0128)",
                     [r"custom_recipient_match", r"msExchRecipientTypeDetails",
                      r"write 128"]),
    "other-rule": ("(targetAddress:2.5.13.5:=x)",
                   [r"custom_recipient_match", r"2\.5\.13\.5",
                    r"1\.2\.840\.113556\.1\.4\.803"]),
}


def settings(uri, **over):
    return ad_tree.plugin_settings(uri, pass_filter=PASS_FILTER,
                                   user_filter=PASS_FILTER, **over)


def slapd_matches(ldap, dn, flt):
    r = subprocess.run(["ldapsearch", "-x", "-LLL", "-H", ldap.uri,
                        "-s", "base", "-b", dn, flt, "1.1"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return "dn:" in r.stdout


@pytest.fixture(scope="module")
def directory():
    with Sandbox() as sb:
        ldap = sb.slapd(suffix=ad_tree.SUFFIX, ldif=tree_ldif(ENTRIES))
        yield sb, ldap


@pytest.mark.parametrize("flt", AGREEING_FILTERS)
def test_local_matcher_agrees_with_slapd(directory, flt):
    sb, ldap = directory
    tool = mgsetup.check_tool(sb, settings(ldap.uri, match=flt),
                              name=f"agree{AGREEING_FILTERS.index(flt)}")
    disagreements = []
    matched = 0
    for e in LOGINS:
        server = slapd_matches(ldap, e.dn, flt)
        r = tool("--json", e.login)
        assert r.returncode in (0, 1), f"{e.login}: {r.stdout}{r.stderr}"
        local = r.returncode == 1
        matched += server
        if local != server:
            disagreements.append(f"{e.login}: slapd {server}, local {local}")
    assert not disagreements, disagreements
    # a filter slapd matches on no entry would prove nothing
    assert matched > 0, flt


@pytest.mark.parametrize("case", sorted(REFUSED_FILTERS))
def test_check_tool_refuses_what_it_cannot_judge(directory, case):
    sb, ldap = directory
    flt, words = REFUSED_FILTERS[case]
    r = mgsetup.check_tool(sb, settings(ldap.uri, match=flt),
                           name=f"refused-{case}")("alice")
    assert r.returncode == 3, r.stdout + r.stderr
    for w in words:
        assert re.search(w, r.stderr), (w, r.stderr)


@pytest.mark.parametrize("case", ["objectCategory", "leading-zero"])
def test_refused_filter_stops_auth(case):
    """2.3: the auth process stops naming the settings file; 2.4: doveconf
    (the settings module's check) refuses dovecot.conf naming the key."""
    flt, words = REFUSED_FILTERS[case]
    with Sandbox() as sb:
        if is_24():
            ldap, dc = mgsetup.guard_setup(sb, ad_tree, match=flt,
                                           start=False)
            with pytest.raises(RuntimeError) as refused:
                dc.start(wait_greeting=False)
            line = str(refused.value)
            assert "mailbox_guard_custom_recipient_match: " in line, line
            for w in words:
                assert re.search(w, line), (w, line)
            return
        s = ad_tree.plugin_settings("@URI@", match=flt)
        text = "".join(f"{k} = {v}\n" for k, v in s.items())
        ldap, dc = mgsetup.guard_setup(sb, ad_tree, raw_settings_text=text)
        dc.client_timeout = 8
        path = dc.auth_dbs[0].args
        alice = ad_tree.EXPECTED["alice"]
        ok, reply = dc.imap_login(alice.login, alice.try_password)
        assert not ok, reply

        def fatal_line(log):
            return next((ln for ln in log.splitlines()
                         if "Fatal" in ln and path in ln), None)
        log = dc.wait_log(lambda t: fatal_line(t) is not None, timeout=10)
        assert log is not None, dc.log_text()
        line = fatal_line(log)
        for w in words:
            assert re.search(w, line), (w, line)


def test_ad_bit_rule_in_pass_filter():
    """AD's way of leaving out accounts by a flag, in pass_filter: the auth
    process starts, and the entries it finds are the ones slapd finds."""
    flt = ("(&(objectClass=person)(mailNickname=%u)"
           "(!(msExchRecipientTypeDetails:1.2.840.113556.1.4.803:=128)))")
    with Sandbox() as sb:
        ldap, dc = mgsetup.guard_setup(sb, ad_tree,
                                       settings_over={"pass_filter": flt,
                                                      "user_filter": flt})
        alice = ad_tree.EXPECTED["alice"]
        mailuser = ad_tree.EXPECTED["mailuser"]
        assert not slapd_matches(ldap, mailuser.dn,
                                 flt.replace("%u", "mailuser"))
        ok, reply = dc.imap_login(alice.login, alice.try_password)
        assert ok, reply
        # not found, so a plain authentication failure, not the refusal
        ok, reply = dc.imap_login(mailuser.login, mailuser.try_password)
        assert not ok and "CONTACTADMIN" not in reply, reply
        assert "Fatal" not in dc.log_text()
