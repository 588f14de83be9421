"""A private Samba AD DC (Debian's samba, samba-ad-dc, samba-ad-provision,
ldb-tools) in a sandbox directory.

Everything lives under `root`: `samba-tool domain provision --targetdir`
writes its own smb.conf there, every later command names it with `-s`
(or opens sam.ldb by path), so the host's /etc/samba is never read or
written. The DC listens only on its own loopback address (IP), runs only
its LDAP server (`server services = ldap`) in one process
(`samba -i -M single`) and is stopped by PID.

Offline, before the first start:
  * the Exchange attributes targetAddress, homeMDB,
    msExchRecipientTypeDetails and mailNickname are added to the schema
    under Microsoft's attributeIDs (ldbadd / ldbmodify on sam.ldb with
    `dsdb:schema update allowed = true`) and to the auxiliary class
    mailRecipient, which user and contact include, as Exchange does;
  * MaxPageSize and MaxConnIdleTime of the Default Query Policy are set;
  * the entries are added with ldbadd.
"""

import base64
import os
import shutil
import subprocess
import time

from . import procs

REALM = "AD.EXAMPLE.TEST"
DOMAIN = "ADTEST"
HOST = "dc1"
FQDN = "dc1.ad.example.test"
# one loopback address per test process, so that two runs on one machine
# (a developer's and a CI clone's) never reach each other's DC
IP = f"127.2.{(os.getpid() >> 8) % 256}.{os.getpid() % 254 + 1}"
BASE = "DC=ad,DC=example,DC=test"
SCHEMA = f"CN=Schema,CN=Configuration,{BASE}"
QUERY_POLICY = ("CN=Default Query Policy,CN=Query-Policies,"
                "CN=Directory Service,CN=Windows NT,CN=Services,"
                f"CN=Configuration,{BASE}")
ADMIN_PASSWORD = "Adm1n-Passw0rd!"

# (cn, lDAPDisplayName, attributeID, attributeSyntax, oMSyntax, extra)
# attributeIDs: targetAddress from Microsoft's Exchange 2007 schema
# reference; msExchRecipientTypeDetails as Exchange's schema defines it
# (1.2.840.113556.1.4.7000.102.50855, Large-Integer); homeMDB and
# mailNickname from the Exchange schema as commonly documented.
EXCHANGE_ATTRS = [
    ("ms-Exch-Target-Address", "targetAddress", "1.2.840.113556.1.2.352",
     "2.5.5.12", "64", ["rangeLower: 1", "rangeUpper: 1123"]),
    ("ms-Exch-Home-MDB", "homeMDB", "1.2.840.113556.1.2.44",
     "2.5.5.1", "127", ["oMObjectClass:: KwwCh3McAIVK"]),
    ("ms-Exch-Recipient-Type-Details", "msExchRecipientTypeDetails",
     "1.2.840.113556.1.4.7000.102.50855", "2.5.5.16", "65", []),
    ("ms-Exch-Mail-Nickname", "mailNickname", "1.2.840.113556.1.2.447",
     "2.5.5.12", "64", ["rangeLower: 1", "rangeUpper: 64"]),
]


def unicode_pwd(password):
    """AD's unicodePwd value: the quoted password in UTF-16LE."""
    return base64.b64encode(f'"{password}"'.encode("utf-16-le")).decode()


def _schema_ldif():
    out = []
    for cn, name, oid, syntax, om, extra in EXCHANGE_ATTRS:
        out.append("\n".join([
            f"dn: CN={cn},{SCHEMA}", "objectClass: top",
            "objectClass: attributeSchema", f"cn: {cn}",
            f"attributeID: {oid}", f"attributeSyntax: {syntax}",
            f"oMSyntax: {om}", "isSingleValued: TRUE", "searchFlags: 1",
            f"lDAPDisplayName: {name}", *extra]) + "\n")
    return "\n".join(out)


def _schema_mod_ldif():
    update = "dn:\nchangetype: modify\nadd: schemaUpdateNow\nschemaUpdateNow: 1\n"
    may = "".join(f"mayContain: {a[1]}\n" for a in EXCHANGE_ATTRS)
    return (update + "\n" +
            f"dn: CN=Mail-Recipient,{SCHEMA}\nchangetype: modify\n"
            f"add: mayContain\n{may}\n" + update)


def _policy_ldif(limits):
    lines = [f"dn: {QUERY_POLICY}", "changetype: modify"]
    for name, value in limits.items():
        lines += ["delete: lDAPAdminLimits",
                  f"lDAPAdminLimits: {name}={DEFAULT_LIMITS[name]}", "-",
                  "add: lDAPAdminLimits", f"lDAPAdminLimits: {name}={value}",
                  "-"]
    return "\n".join(lines) + "\n"


DEFAULT_LIMITS = {"MaxPageSize": 1000, "MaxConnIdleTime": 900}


class SambaDC:
    """root: a directory of its own (created). entries_ldif: LDIF added
    offline. limits: lDAPAdminLimits to set, e.g. {"MaxPageSize": 100}.
    options: more smb.conf settings for the provision."""

    def __init__(self, root, entries_ldif="", limits=None, options=None):
        self.root = root
        self.target = os.path.join(root, "dc")
        self.conf = os.path.join(self.target, "etc", "smb.conf")
        self.sam = os.path.join(self.target, "private", "sam.ldb")
        # Samba's own CA, copied where Dovecot's auth process (not root)
        # can read it: private/ is root's only
        self.ca = os.path.join(root, "ca.pem")
        self.samba_ca = os.path.join(self.target, "private", "tls", "ca.pem")
        self.log_path = os.path.join(root, "samba.log")
        self.hosts = os.path.join(root, "hosts")
        self.entries_ldif = entries_ldif
        self.limits = dict(limits or {})
        self.options = dict(options or {})
        self.uri = f"ldap://{FQDN}"
        self.proc = None
        os.makedirs(root, exist_ok=True)
        os.chmod(root, 0o755)

    def _run(self, argv, stdin=None):
        r = subprocess.run(argv, input=stdin, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({r.returncode}):\n"
                               f"{r.stdout[-3000:]}{r.stderr[-3000:]}")
        return r.stdout

    def _ldb(self, tool, ldif, schema=False):
        path = os.path.join(self.root, f"{tool}.ldif")
        with open(path, "w") as f:
            f.write(ldif)
        argv = [tool, "-H", self.sam]
        if schema:
            argv.append("--option=dsdb:schema update allowed=true")
        self._run(argv + [path])

    def provision(self):
        if os.path.isdir(self.target):
            shutil.rmtree(self.target)
        self._run([
            "samba-tool", "domain", "provision", f"--realm={REALM}",
            f"--domain={DOMAIN}", "--server-role=dc", "--dns-backend=NONE",
            f"--adminpass={ADMIN_PASSWORD}", f"--targetdir={self.target}",
            f"--host-name={HOST}", f"--host-ip={IP}",
            # the address is on lo only as part of 127.0.0.0/8
            f"--option=interfaces={IP}/8",
            "--option=bind interfaces only=yes",
            "--option=server services=ldap",
            f"--option=log file={self.root}/log.%m",
            "--option=logging=file",
            # the defaults of these are host paths (/run/samba, ...)
            f"--option=pid directory={self.root}/run",
            f"--option=ncalrpc dir={self.root}/run/ncalrpc",
            f"--option=winbindd socket directory={self.root}/run/winbindd",
            f"--option=ntp signd socket directory={self.root}/run/ntp"])
        if self.options:
            # the provision writes only some --option values to smb.conf
            with open(self.conf) as f:
                conf = f.read()
            lines = "".join(f"\t{k} = {v}\n" for k, v in self.options.items())
            with open(self.conf, "w") as f:
                f.write(conf.replace("[global]\n", "[global]\n" + lines, 1))
        self._ldb("ldbadd", _schema_ldif(), schema=True)
        self._ldb("ldbmodify", _schema_mod_ldif(), schema=True)
        if self.limits:
            self._ldb("ldbmodify", _policy_ldif(self.limits))
        if self.entries_ldif:
            self._ldb("ldbadd", self.entries_ldif)
        with open(self.hosts, "w") as f:
            f.write(f"127.0.0.1 localhost\n{IP} {FQDN} {HOST}\n")

    def ldb_modify(self, ldif, controls=()):
        """ldbmodify on sam.ldb directly (offline: while the DC is
        stopped, or a write the LDAP server does not see)."""
        path = os.path.join(self.root, "ldbmodify.ldif")
        with open(path, "w") as f:
            f.write(ldif)
        self._run(["ldbmodify", "-H", self.sam,
                   *[f"--controls={c}" for c in controls], path])

    def ldb_delete(self, dn):
        """ldbdel on sam.ldb (offline): a deleted object, as AD keeps it."""
        self._run(["ldbdel", "-H", self.sam, dn])

    def _ldb_attr(self, dn, attr, controls=()):
        out = self._run(["ldbsearch", "-H", self.sam, "-b", dn, "-s",
                         "base", *[f"--controls={c}" for c in controls],
                         attr])
        # LDIF folds long lines: a leading space continues the last one
        text = out.replace("\n ", "")
        for line in text.splitlines():
            if line.startswith(f"{attr}: "):
                return line[len(attr) + 2:]
        raise RuntimeError(f"no {attr} in {dn}:\n{out}")

    def allow_reading_deleted_objects(self, account_dn):
        """What AD's `dsacls "CN=Deleted Objects,..." /G account:LCRP`
        does, offline: the account may list the Deleted Objects container
        and read the objects in it (inherited), so that a notification
        search reports deletes."""
        container = f"CN=Deleted Objects,{BASE}"
        sid = self._ldb_attr(account_dn, "objectSid")
        sd = self._ldb_attr(container, "nTSecurityDescriptor",
                            ["show_deleted:1"])
        ace = f"(A;CI;RPLC;;;{sid})"
        sacl = sd.find("S:")
        sd = sd + ace if sacl < 0 else sd[:sacl] + ace + sd[sacl:]
        self.ldb_modify(f"dn: {container}\nchangetype: modify\n"
                        f"replace: nTSecurityDescriptor\n"
                        f"nTSecurityDescriptor: {sd}\n", ["show_deleted:1"])

    def start(self, timeout=60.0):
        # --debuglevel would override a "log level" of the options
        level = [] if "log level" in self.options else ["--debuglevel=1"]
        self.proc = procs.ManagedProcess(
            "samba", ["samba", "-i", "-M", "single", "-s", self.conf,
                      *level], self.log_path)
        procs.wait_port(IP, 389, timeout, self.proc)
        deadline = time.monotonic() + timeout
        # the TLS certificate is made at the first start, before the
        # LDAP server answers StartTLS with it
        while True:
            r = subprocess.run(
                ["ldapsearch", "-x", "-ZZ", "-H", f"ldap://{IP}", "-b", "",
                 "-s", "base", "-o", "nettimeout=5", "dnsHostName"],
                capture_output=True, text=True,
                env=dict(os.environ, LDAPTLS_REQCERT="never"))
            if r.returncode == 0 and os.path.exists(self.samba_ca):
                shutil.copyfile(self.samba_ca, self.ca)
                os.chmod(self.ca, 0o644)
                return self
            if not self.proc.alive():
                raise RuntimeError(f"samba exited; see {self.log_path}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"samba not answering: {r.stderr}")
            time.sleep(0.2)

    def stop(self):
        if self.proc is not None:
            self.proc.stop()
            self.proc = None

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def in_namespace(self, script, env=None, mounts=(), cwd=None,
                     timeout=120):
        """Runs a shell script (sh -e) where FQDN resolves to IP (a
        sandbox /etc/hosts bind-mounted in a private mount namespace),
        with the other (src, dst) bind mounts of `mounts`."""
        inner = "".join(f"mount --bind {src} {dst} && "
                        for src, dst in [(self.hosts, "/etc/hosts"),
                                         *mounts])
        inner += "exec sh -e -c \"$1\""
        return subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             inner, "sh", script], capture_output=True, text=True,
            env=dict(os.environ, **(env or {})), cwd=cwd, timeout=timeout)
