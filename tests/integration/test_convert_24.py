"""Upgrading: `mailbox-guard-check --to-2.4` on every fixture tree's 2.3
settings file, round trip.

Each tree's 2.3 settings file, written as the 2.3 suite writes it
(mgsetup: the tree's plugin_settings as a settings file), goes through the
converter. On Dovecot 2.4 a Dovecot whose only plugin configuration is the
printed block must then answer every entry of the tree as the tree's table
says (fixtures/*.py: the table test_fixture_matrix holds the 2.3 Dovecot
to): IMAP LOGIN, AUTHENTICATE PLAIN and POP3, and `doveadm user`. Three
settings of each tree: the plain custom_recipient_match, the tree's
recipient_profile, and one with user_attrs templates whose 2.3 meaning
(a field only when the entry has the attribute, %$, a default) the entry
table predicts, and user iteration (`doveadm user '*'`). Besides: a
refusal reason with %%, %u and an attribute default, and a setting
without a 2.4 form (exit status 4; 2.4 refuses to start with the text).

On Dovecot 2.3 the same table is checked against the 2.3 Dovecot running
the unconverted settings files (so the table is what 2.3 answers, for the
templates too), and the converter's output for each tree for what needs
no 2.4 (all translated, 2.4 variables only, the tree's filters and
attributes where they belong).
"""

import os
import re
import subprocess

import pytest

import mgsetup
from fixtures import REFUSED, ad_tree, ex55_tree, openldap_tree
from sandbox import Sandbox, is_24, parse_doveadm_user
from sandbox.dovecot import REPO_ROOT

pytestmark = pytest.mark.plugin

TREES = {"ad": ad_tree, "ex55": ex55_tree, "openldap": openldap_tree}
VARIANTS = ("match", "profile", "templates")
EXIT_PARTIAL = 4

# the templates variant's user_attrs beyond the tree's own: a field only
# when the entry has the attribute (with and without %$), a 2.3 default
# for a missing one, a request variable
TEMPLATE_ATTRS = ("mail=has_mail=y,mail=mail_copy=<%$>,"
                  "mgNoSuchAttr=never=y,=mg_quota=%{ldap:mgNoSuchAttr:1G},"
                  "=mg_login=%n")


# a custom_recipient_reason with a per cent sign, a request variable and an
# attribute with a 2.3 default
REASON = "Gone 100%%: %u (%{ldap:mail:none})"


def tool_path():
    return os.environ.get("MG_CHECK_TOOL") or os.path.join(
        REPO_ROOT, "src", "tools", "mailbox-guard-check")


def convert(path):
    r = subprocess.run([tool_path(), "--to-2.4", path], capture_output=True,
                       text=True, timeout=30)
    return r.returncode, r.stdout, r.stderr


def settings23(tree, uri, variant):
    """The 2.3 settings dict of tree for variant."""
    if variant == "profile":
        return tree.plugin_settings(uri, match=None, profile=tree.PROFILE)
    settings = tree.plugin_settings(uri)
    if variant == "templates":
        settings["user_attrs"] += "," + TEMPLATE_ATTRS
        # user iteration over what the lookups find, named as they are
        settings["iterate_filter"] = tree.USER_FILTER.replace("%u", "*")
        settings["iterate_attrs"] = tree.USER_ATTRS.split(",")[0]
    return settings


def convert_tree(dc, tree, uri, variant):
    """The 2.3 settings file written in dc's directory, converted: the
    printed text (the converter must have translated everything)."""
    path = dc.write_settings(f"guard-{variant}.conf",
                             settings23(tree, uri, variant))
    rc, out, err = convert(path)
    assert rc == 0 and err == "", f"exit {rc}: {err}\n{out}"
    return out


def block(text, name):
    """The lines of `name {` ... its `}` in text (nested blocks kept)."""
    lines, depth, inside = [], 0, False
    for line in text.splitlines():
        s = line.strip()
        if not inside:
            inside = s == f"{name} {{"
            continue
        if s.endswith("{"):
            depth += 1
        elif s == "}":
            if depth == 0:
                return lines
            depth -= 1
        lines.append(s)
    raise AssertionError(f"no block {name!r} in\n{text}")


def attr_fields(attrs):
    """"ldapAttr=field" items of a 2.3 attribute map -> field lines."""
    out = []
    for item in attrs.split(","):
        attr, field = item.strip().split("=")
        out.append(f"{field} = %{{ldap:{attr}}}")
    return out


@pytest.mark.parametrize("tree_name", sorted(TREES))
def test_converted_text(tree_name):
    """Both releases: what the text must say, from the tree's own
    constants."""
    tree = TREES[tree_name]
    with Sandbox(prefix=f"mgconv{tree_name}") as sb:
        dc = sb.dovecot(start=False)
        uri = "ldap://127.0.0.1:3890"
        out = convert_tree(dc, tree, uri, "match")
    top = [l for l in out.splitlines() if l and not l.startswith(("#", " "))]
    assert f"mailbox_guard_uris = {uri}" in top, out
    assert f"mailbox_guard_base = {tree.SUFFIX}" in top, out
    assert (f"mailbox_guard_custom_recipient_match = {tree.CUSTOM_MATCH}"
            in top), out
    # every '%' starts a 2.4 variable: no 2.3 form is left
    assert re.search(r"%[^{]|%$", out) is None, out
    passdb = block(out, "passdb mailbox_guard")
    userdb = block(out, "userdb mailbox_guard")
    assert "driver = mailbox_guard" in passdb and \
        "driver = mailbox_guard" in userdb
    filter24 = tree.PASS_FILTER.replace("%u", "%{user}")
    assert f"passdb_mailbox_guard_filter = {filter24}" in passdb, out
    assert "passdb_default_password_scheme = SSHA" in passdb, out
    assert block("\n".join(passdb), "fields") == attr_fields(tree.PASS_ATTRS)
    filter24 = tree.USER_FILTER.replace("%u", "%{user}")
    assert f"userdb_mailbox_guard_filter = {filter24}" in userdb, out
    assert block("\n".join(userdb), "fields") == attr_fields(tree.USER_ATTRS)
    # 2.3's default iterate_attrs, which 2.4 lacks
    assert block("\n".join(userdb), "userdb_mailbox_guard_iterate_fields") \
        == ["user = %{ldap:uid}"]


def test_untranslatable_refused():
    """A 2.3 form without a 2.4 one: named on stderr, exit 4, and on 2.4
    the printed text keeps Dovecot from starting."""
    tree = openldap_tree
    with Sandbox(prefix="mgconvbad") as sb:
        dc = sb.dovecot(start=False)
        settings = tree.plugin_settings("ldap://127.0.0.1:3890")
        settings["pass_filter"] = "(uid=%1u)"
        path = dc.write_settings("guard-bad.conf", settings)
        rc, out, err = convert(path)
        assert rc == EXIT_PARTIAL, err
        assert "not translated: pass_filter: %1" in err, err
        assert "mailbox_guard_not_translated = pass_filter" in out, out
        if not is_24():
            return
        dc.auth_dbs = []
        dc.extra_conf = out
        with pytest.raises(RuntimeError,
                           match="Unknown setting: mailbox_guard_not_"):
            dc.start()


@pytest.fixture(scope="module")
def setups():
    """One slapd per tree, one Dovecot per (tree, variant), started on
    first use: on 2.4 configured with the converter's output alone, on 2.3
    with the 2.3 settings file."""
    if not mgsetup.plugin_available() or mgsetup.standin():
        pytest.skip(mgsetup.skip_reason())
    sandboxes, ldaps, started = {}, {}, {}

    def get(tree_name, variant):
        if tree_name not in sandboxes:
            tree = TREES[tree_name]
            sb = sandboxes[tree_name] = Sandbox(prefix=f"mgconv{tree_name}")
            ldaps[tree_name] = sb.slapd(suffix=tree.SUFFIX, ldif=tree.ldif())
        key = (tree_name, variant)
        if key not in started:
            dc = sandboxes[tree_name].dovecot(start=False,
                                              name=f"dovecot-{variant}")
            tree, uri = TREES[tree_name], ldaps[tree_name].uri
            if is_24():
                dc.auth_dbs = []
                dc.extra_conf = convert_tree(dc, tree, uri, variant)
            else:
                dc.auth_dbs = mgsetup.auth_dbs_for(
                    dc, settings23(tree, uri, variant))
            started[key] = dc.start()
        return started[key]
    try:
        yield get
    finally:
        for sb in sandboxes.values():
            sb.close()


def has_attr(entry, name):
    return any(k.lower() == name.lower() for k in entry.attrs)


def first_value(entry, name):
    for k, v in entry.attrs.items():
        if k.lower() == name.lower():
            return v[0] if isinstance(v, list) else v
    return None


CASES = [(t, v, login) for t in sorted(TREES) for v in VARIANTS
         for login in TREES[t].EXPECTED]


@pytest.mark.parametrize("tree_name,variant,login", CASES,
                         ids=[f"{t}:{v}:{l}" for t, v, l in CASES])
def test_round_trip(setups, tree_name, variant, login):
    tree = TREES[tree_name]
    e = tree.EXPECTED[login]
    dc = setups(tree_name, variant)
    mgsetup.assert_logins(dc, e)
    where = f"{e.kind} ({e.dn})"
    rc, out = dc.doveadm_user(e.login)
    if not e.userdb:
        assert rc == 67, f"{where}: {out}"
        return
    assert rc == 0, f"{where}: {out}"
    fields = parse_doveadm_user(out)
    for f in tree.USER_FIELDS:
        assert f in fields, f"{where}: {f} missing in\n{out}"
    if variant != "templates":
        return
    if has_attr(e, "mail"):
        assert fields.get("has_mail") == "y", f"{where}:\n{out}"
        assert fields.get("mail_copy") == f"<{first_value(e, 'mail')}>", \
            f"{where}:\n{out}"
    else:
        assert "has_mail" not in fields and "mail_copy" not in fields, \
            f"{where}:\n{out}"
    assert "never" not in fields, f"{where}:\n{out}"
    assert fields.get("mg_quota") == "1G", f"{where}:\n{out}"
    assert fields.get("mg_login") == e.login, f"{where}:\n{out}"


def test_reason_round_trip():
    """The refusal reason's %%, %u and %{ldap:attr:default}: every custom
    recipient of the OpenLDAP tree gets the text the table predicts, on 2.4
    through the converted settings, on 2.3 through the file itself."""
    if not mgsetup.plugin_available() or mgsetup.standin():
        pytest.skip(mgsetup.skip_reason())
    tree = openldap_tree
    refused = [e for e in tree.EXPECTED.values()
               if e.expect == REFUSED]
    assert refused
    with Sandbox(prefix="mgconvreason") as sb:
        ldap = sb.slapd(suffix=tree.SUFFIX, ldif=tree.ldif())
        dc = sb.dovecot(start=False)
        settings = tree.plugin_settings(ldap.uri,
                                        custom_recipient_reason=REASON)
        if is_24():
            path = dc.write_settings("guard-reason.conf", settings)
            rc, out, err = convert(path)
            assert rc == 0 and err == "", f"exit {rc}: {err}\n{out}"
            dc.auth_dbs = []
            dc.extra_conf = out
        else:
            dc.auth_dbs = mgsetup.auth_dbs_for(dc, settings)
        dc.start()
        got = dc.parallel([(dc.imap_login, e.login, e.try_password)
                           for e in refused] +
                          [(dc.pop3_login, e.login, e.try_password)
                           for e in refused])
    for i, e in enumerate(refused):
        mail = first_value(e, "mail")
        text = f"Gone 100%: {e.login} ({mail if mail else 'none'})"
        assert got[i].text == f"NO [CONTACTADMIN] {text}", e.kind
        assert got[len(refused) + i].text == f"-ERR [AUTH] {text}", e.kind


@pytest.mark.parametrize("tree_name", sorted(TREES))
def test_iteration_round_trip(setups, tree_name):
    """`doveadm user '*'` with the templates variant's iterate settings
    lists the tree's mailboxes, as the table names them."""
    tree = TREES[tree_name]
    dc = setups(tree_name, "templates")
    rc, out = dc.doveadm("user", "*")
    assert rc == 0, out
    want = sorted(e.login for e in tree.EXPECTED.values() if e.userdb)
    assert sorted(out.split()) == want


def test_doc_example():
    """doc/upgrading-to-2.4.md's worked example is what the tool prints."""
    doc = open(os.path.join(REPO_ROOT, "doc", "upgrading-to-2.4.md")).read()
    blocks = re.findall(r"^```\n(.*?)^```$", doc, re.S | re.M)
    settings23, printed = blocks[0], blocks[1]
    with Sandbox(prefix="mgconvdoc") as sb:
        dc = sb.dovecot(start=False)
        path = dc.write_settings_text("mailbox-guard.conf", settings23)
        rc, out, err = convert(path)
    assert rc == 0 and err == "", err
    assert out == printed.replace("/etc/dovecot/mailbox-guard.conf", path)
