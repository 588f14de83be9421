"""User iteration in pages (RFC 2696) past a server's size limit.

slapd keeps its default size limit (500: no sizelimit line in its
configuration) and the plugin binds anonymously, so the limit applies.
slapd also limits the total of a paged search to its hard size limit
(also 500 by default) unless `size.prtotal` says otherwise: at the pure
defaults paged iteration fails (an error, never a short list); with
`limits anonymous size.prtotal=unlimited` (the size limit of ordinary
searches still 500) 2,000 mailbox users and the openldap tree's entries
are listed in full by `doveadm user '*'`, in pages, custom recipients left
out. A server that does not list the control in its rootDSE gets one
search, as before paging existed: at the size limit that is an error,
never a short list.
"""

import math
import re
import subprocess
import threading

import pytest

from fixtures import Entry, openldap_tree, tree_ldif
from mgsetup import auth_dbs_for, plugin_available, skip_reason, standin
from sandbox import Sandbox

pytestmark = [pytest.mark.plugin,
              pytest.mark.skipif(not plugin_available(), reason=skip_reason()),
              pytest.mark.skipif(standin(), reason="plugin feature")]

BULK = 2000
PAGE = 500
ITERATE_FILTER = "(objectClass=inetOrgPerson)"
PEOPLE = openldap_tree.PEOPLE
# The rootDSE then lists no supportedControl: a server without paging.
HIDE_CONTROLS = ('access to dn.exact="" attrs=supportedControl by * none\n'
                 'access to * by * read\n')


def bulk_entries():
    return [Entry(f"uid=bulk{i:04d},{PEOPLE}",
                  {"objectClass": ["top", "person", "organizationalPerson",
                                   "inetOrgPerson", "inetLocalMailRecipient"],
                   "cn": f"bulk{i:04d}", "sn": "bulk", "uid": f"bulk{i:04d}",
                   "mailHost": "mail.example.test"})
            for i in range(BULK)]


BULK_LDIF = tree_ldif(bulk_entries())
# Everything the iterate filter finds, and what of it is a mailbox.
ALL_PERSONS = {e.login for e in openldap_tree.ENTRIES if e.login and
               "inetOrgPerson" in e.attrs.get("objectClass", ())}
MAILBOXES = ({f"bulk{i:04d}" for i in range(BULK)} |
             {e.login for e in openldap_tree.ENTRIES
              if e.login in ALL_PERSONS and e.userdb})


PRTOTAL = "limits anonymous size.prtotal=unlimited\n"


def start(sb, global_conf="", db_conf=PRTOTAL, settings_over=None,
          connections=None):
    ldap = sb.slapd(suffix=openldap_tree.SUFFIX, global_conf=global_conf,
                    db_conf=db_conf,
                    ldif=openldap_tree.ldif() + "\n" + BULK_LDIF)
    settings = openldap_tree.plugin_settings(ldap.uri)
    settings.update({"iterate_filter": ITERATE_FILTER,
                     "iterate_attrs": "uid=user"})
    if connections is not None:
        settings["connections"] = str(connections)
    settings.update(settings_over or {})
    dc = sb.dovecot(start=False)
    dc.auth_dbs = auth_dbs_for(dc, settings)
    dc.start()
    return ldap, dc


def iterate_searches(ldap):
    return [s for s in ldap.searches() if s[2] == ITERATE_FILTER]


@pytest.fixture(scope="module")
def paged():
    with Sandbox(prefix="mgpg") as sb:
        yield start(sb, connections=1)


def test_default_size_limit_applies_without_paging(paged):
    """The premise: this slapd stops an unpaged search at 500 entries."""
    ldap, _ = paged
    r = ldap.ldapsearch(filt=ITERATE_FILTER, attrs=["uid"], bind=False)
    assert r.returncode == 4, r.stderr          # sizeLimitExceeded
    assert r.stdout.count("dn: ") == 500


def test_iteration_lists_every_mailbox_in_pages(paged):
    ldap, dc = paged
    before = len(iterate_searches(ldap))
    rc, out = dc.doveadm("user", "*", timeout=120)
    assert rc == 0, out[-2000:]
    listed = out.split()
    assert len(listed) == len(set(listed)), "a user listed twice"
    assert set(listed) == MAILBOXES
    # the pages: one search per page, after one read of the rootDSE
    pages = len(iterate_searches(ldap)) - before
    assert pages == math.ceil((BULK + len(ALL_PERSONS)) / PAGE)
    assert any(base == "" and scope == "0"
               for base, scope, _ in ldap.searches())


def test_concurrent_iterations_on_one_connection(paged):
    """Two iterations at once with connections = 1: slapd keeps one paging
    state per connection, so the second waits for the first instead of
    resetting it; both list everything."""
    _, dc = paged
    results = [None, None]

    def run(i):
        results[i] = dc.doveadm("user", "*", timeout=120)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for rc, out in results:
        assert rc == 0, out[-2000:]
        assert set(out.split()) == MAILBOXES


@pytest.mark.parametrize("db_conf,after", [
    ("", 500),                                  # slapd's pure defaults
    ("limits anonymous size.prtotal=1000\n", 1000),
])
def test_size_limit_within_pages_is_an_error(db_conf, after):
    """slapd's limit on a paged search's total ends it with
    sizeLimitExceeded part way: an error, never the pages read so far."""
    with Sandbox(prefix="mgpg") as sb:
        _, dc = start(sb, db_conf=db_conf)
        mark = dc.log_mark()
        rc, out = dc.doveadm("user", "*", timeout=120)
        assert rc != 0, out[-2000:]
        assert "bulk" not in out
        log = dc.log_since(mark, wait_for="iterate: search failed")
        assert (f"iterate: search failed: Size limit exceeded (paged "
                f"search, page size {PAGE}, after {after} entries)") in log, log


def test_server_without_the_control_gets_one_search():
    """No paged results control in the rootDSE: one search as before
    paging. At the size limit it fails whole."""
    with Sandbox(prefix="mgpg") as sb:
        ldap, dc = start(sb, global_conf=HIDE_CONTROLS,
                         settings_over={"iterate_page_size": "100"})
        r = subprocess.run(["ldapsearch", "-x", "-LLL", "-H", ldap.uri,
                            "-b", "", "-s", "base", "supportedControl"],
                           capture_output=True, text=True)
        assert r.returncode == 0 and "dn:" in r.stdout, r.stderr
        assert "supportedControl" not in r.stdout, r.stdout
        mark = dc.log_mark()
        before = len(iterate_searches(ldap))
        rc, out = dc.doveadm("user", "*", timeout=120)
        assert rc != 0, out[-2000:]
        assert "bulk1999" not in out
        assert len(iterate_searches(ldap)) - before == 1
        log = dc.log_since(mark, wait_for="iterate: search failed")
        assert "iterate: search failed: Size limit exceeded" in log, log


def test_server_without_the_control_under_its_limit():
    """The same server with a limit the directory fits in: the one search
    lists everything."""
    with Sandbox(prefix="mgpg") as sb:
        ldap, dc = start(sb, global_conf=HIDE_CONTROLS,
                         db_conf="limits anonymous size=5000\n",
                         settings_over={"iterate_page_size": "100"})
        before = len(iterate_searches(ldap))
        rc, out = dc.doveadm("user", "*", timeout=120)
        assert rc == 0, out[-2000:]
        assert set(out.split()) == MAILBOXES
        assert len(iterate_searches(ldap)) - before == 1
