"""A throw-away slapd: config in the sandbox, mdb database, stats log."""

import os
import re
import signal
import subprocess
import time
import urllib.parse

from . import procs

SCHEMA_DIR = "/etc/ldap/schema"
STOCK_SCHEMAS = ("core", "cosine", "inetorgperson", "nis", "misc")
TEST_SCHEMA = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "schema", "mailbox-guard-test.schema")


class Slapd:
    """One slapd instance.

    name          sub-directory name inside the sandbox (several instances
                  can live side by side: provider, consumer, ...)
    suffix        database suffix
    ldif          text loaded offline with slapadd before start
    port          TCP port of the default ldap:// URI (allocated if None)
    uris          full list of -h URIs (default: ldap://127.0.0.1:PORT/)
    global_conf   extra slapd.conf text before the database section
                  (TLS settings, extra moduleload, ...)
    db_conf       extra text inside the mdb database section
                  (syncprov overlay, syncrepl, limits, ACLs, ...)
    schemas       extra schema files to include after the test schema
    ready_uri     URI the readiness probe searches (default: the first
                  ldap:// URI of `uris`, else the first URI); ldaps://
                  and ldapi:// work too
    ready_env     extra environment for the probe's ldapsearch, e.g.
                  {"LDAPTLS_CACERT": ca_path}; an ldaps:// probe without
                  LDAPTLS_CACERT skips certificate checks (it only asks
                  whether slapd answers)

    start() may be called again after stop() or kill() (same ports, same
    database); freeze() / thaw() send SIGSTOP / SIGCONT.
    """

    def __init__(self, sandbox, name="slapd", suffix="dc=example,dc=test",
                 ldif="", port=None, uris=None, global_conf="", db_conf="",
                 rootdn=None, rootpw="rootsecret", schemas=(),
                 debug_level="stats", modules=("back_mdb",),
                 ready_uri=None, ready_env=None):
        self.sandbox = sandbox
        self.name = name
        self.dir = sandbox.path(name)
        os.makedirs(self.dir, exist_ok=True)
        self.suffix = suffix
        self.rootdn = rootdn or f"cn=admin,{suffix}"
        self.rootpw = rootpw
        self.port = port or procs.free_port()
        self.uri = f"ldap://127.0.0.1:{self.port}/"
        self.uris = list(uris) if uris else [self.uri]
        self.ready_uri = ready_uri
        self.ready_env = dict(ready_env or {})
        self.global_conf = global_conf
        self.db_conf = db_conf
        self.schemas = list(schemas)
        self.debug_level = debug_level
        self.modules = modules
        self.ldif = ldif
        self.conf_path = os.path.join(self.dir, "slapd.conf")
        self.db_dir = os.path.join(self.dir, "db")
        self.log_path = os.path.join(self.dir, "slapd.log")
        self.proc = None
        self._write_conf()

    # ------------------------------------------------------------------
    def _write_conf(self):
        os.makedirs(self.db_dir, exist_ok=True)
        inc = [os.path.join(SCHEMA_DIR, s + ".schema") for s in STOCK_SCHEMAS]
        inc.append(TEST_SCHEMA)
        inc.extend(self.schemas)
        lines = [f"include {p}" for p in inc]
        lines += [
            "modulepath /usr/lib/ldap",
            *[f"moduleload {m}" for m in self.modules],
            f"pidfile {os.path.join(self.dir, 'slapd.pid')}",
            f"argsfile {os.path.join(self.dir, 'slapd.args')}",
            "loglevel stats",
            self.global_conf,
            "",
            "database mdb",
            f'suffix "{self.suffix}"',
            f'rootdn "{self.rootdn}"',
            f"rootpw {self.rootpw}",
            f"directory {self.db_dir}",
            "maxsize 33554432",
            "index objectClass eq",
            self.db_conf,
            "",
        ]
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines))

    def load(self, ldif=None):
        """slapadd (offline) the given LDIF text."""
        text = self.ldif if ldif is None else ldif
        if not text.strip():
            return
        path = os.path.join(self.dir, "load.ldif")
        with open(path, "w") as f:
            f.write(text)
        r = subprocess.run(["slapadd", "-q", "-f", self.conf_path, "-l", path],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"slapadd failed ({r.returncode}):\n"
                               f"{r.stdout}{r.stderr}")

    def start(self, timeout=15.0):
        # a restart keeps the database: load the LDIF only the first time
        if self.ldif and not getattr(self, "loaded", False):
            self.load()
            self.loaded = True
        argv = ["slapd", "-d", self.debug_level, "-h", " ".join(self.uris),
                "-f", self.conf_path]
        self.proc = procs.ManagedProcess(self.name, argv, self.log_path)
        self.wait_ready(timeout)
        return self

    def probe_uri(self):
        if self.ready_uri:
            return self.ready_uri
        for u in self.uris:
            if u.startswith("ldap://"):
                return u
        return self.uris[0]

    def wait_ready(self, timeout=15.0):
        uri = self.probe_uri()
        env = dict(os.environ)
        if uri.startswith("ldaps://") and "LDAPTLS_CACERT" not in self.ready_env:
            env["LDAPTLS_REQCERT"] = "never"
        env.update(self.ready_env)
        if uri.startswith(("ldap://", "ldaps://")):
            u = urllib.parse.urlsplit(uri)
            port = u.port or (636 if uri.startswith("ldaps://") else 389)
            procs.wait_port(u.hostname or "127.0.0.1", port, timeout,
                            self.proc)
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if not self.proc.alive():
                raise RuntimeError(f"slapd exited; see {self.log_path}")
            r = subprocess.run(
                ["ldapsearch", "-x", "-H", uri, "-o", "nettimeout=2",
                 "-b", "", "-s", "base", "-LLL", "namingContexts"],
                capture_output=True, text=True, env=env, timeout=30)
            if r.returncode == 0:
                return
            last = r.stderr
            time.sleep(0.05)
        raise TimeoutError(f"slapd not answering on {uri}: {last}")

    def stop(self):
        if self.proc is not None:
            self.proc.stop()
            self.proc = None

    def kill(self):
        """SIGKILL (a crash: no goodbye to clients); start() brings it
        back on the same ports and database."""
        if self.proc is not None:
            self.proc.kill()
            self.proc = None

    def freeze(self):
        """SIGSTOP: connections stay open, nothing is answered."""
        self.proc.signal(signal.SIGSTOP)

    def thaw(self):
        self.proc.signal(signal.SIGCONT)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    # ------------------------------------------------------------------
    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def search_count(self):
        """Number of search operations logged so far ("SRCH base=")."""
        return self.log_text().count("SRCH base=")

    def searches(self):
        """(base, scope, filter) of every logged search, in order."""
        rx = re.compile(r'SRCH base="(.*?)" scope=(\d+) deref=\d+ filter="(.*)"')
        return [m.groups() for m in rx.finditer(self.log_text())]

    def ldapsearch(self, base=None, filt="(objectClass=*)", attrs=(),
                   bind=True, extra=()):
        argv = ["ldapsearch", "-x", "-LLL", "-o", "ldif-wrap=no",
                "-H", self.uri, "-b", base or self.suffix]
        if bind:
            argv += ["-D", self.rootdn, "-w", self.rootpw]
        argv += list(extra) + [filt] + list(attrs)
        return subprocess.run(argv, capture_output=True, text=True)

    def ldapmodify(self, ldif):
        return subprocess.run(
            ["ldapmodify", "-x", "-H", self.uri, "-D", self.rootdn,
             "-w", self.rootpw], input=ldif, capture_output=True, text=True)
