"""Every fixture entry of the three trees, over IMAP and POP3, against the
plugin configured with each tree's plain custom_recipient_match.

The expected results come from the side tables in fixtures/*.py; the
recipient_profile variants of the same matrix belong to later issues.
"""

import pytest

import mgsetup
from fixtures import ad_tree, ex55_tree, openldap_tree
from sandbox import Sandbox, parse_doveadm_user

pytestmark = pytest.mark.plugin

TREES = {"ad": ad_tree, "ex55": ex55_tree, "openldap": openldap_tree}
CASES = [(name, login) for name, t in TREES.items() for login in t.EXPECTED]



@pytest.fixture(scope="module")
def setups():
    """One sandbox per tree, started on first use, closed at module end."""
    if not mgsetup.plugin_available():
        pytest.skip(mgsetup.skip_reason())
    started = {}
    sandboxes = []

    def get(name):
        if name not in started:
            sb = Sandbox(prefix=f"mg{name}")
            sandboxes.append(sb)
            started[name] = mgsetup.guard_setup(sb, TREES[name])[1]
        return started[name]
    try:
        yield get
    finally:
        for sb in sandboxes:
            sb.close()


@pytest.mark.parametrize("tree,login", CASES, ids=[f"{t}:{l}" for t, l in CASES])
def test_entry(setups, tree, login):
    t = TREES[tree]
    e = t.EXPECTED[login]
    dc = setups(tree)
    mgsetup.assert_logins(dc, e)
    where = f"{e.kind} ({e.dn})"
    rc, out = dc.doveadm_user(e.login)
    if e.userdb:
        assert rc == 0, f"{where}: {out}"
        fields = parse_doveadm_user(out)
        for f in t.USER_FIELDS:
            assert f in fields, f"{where}: {f} missing in\n{out}"
    else:
        assert rc == 67, f"{where}: {out}"
