"""The Sandbox: one temp dir holding every daemon of one test setup."""

import os
import shutil
import tempfile

from . import procs
from .dovecot import Dovecot
from .postfix import Postfix, add_sasl_listener
from .slapd import Slapd


class Sandbox:
    live = []           # open sandboxes (for failure diagnostics)

    """Owns a temp dir and everything started in it.

        with Sandbox() as sb:
            ldap = sb.slapd(ldif=..., suffix=...)
            dc = sb.dovecot(auth_dbs=[...])
            dc.imap_login("alice", "pw")

    The dir is removed on close unless MG_KEEP_SANDBOX is set (or
    keep=True), in which case its path is printed.
    """

    def __init__(self, prefix="mg", keep=None):
        procs.install_cleanup_handlers()
        # short path: unix socket paths under base_dir must stay < 108 bytes
        self.root = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
        os.chmod(self.root, 0o755)      # the mail uid must traverse it
        self.keep = bool(os.environ.get("MG_KEEP_SANDBOX")) if keep is None else keep
        self.slapds = []
        self.dovecots = []
        self.postfixes = []
        self.closed = False
        Sandbox.live.append(self)

    def diagnostics(self, lines=40):
        """Tail of every log in this sandbox, for failure reports."""
        out = [f"sandbox {self.root}"]
        for d in self.dovecots:
            tail = d.log_text().splitlines()[-lines:]
            out.append(f"--- {d.name} log ({d.log_path}) ---")
            out.extend(tail)
        for p in self.postfixes:
            tail = p.log_text().splitlines()[-lines // 2:]
            out.append(f"--- {p.name} log ({p.log_path}) ---")
            out.extend(tail)
        for s in self.slapds:
            tail = s.log_text().splitlines()[-lines // 2:]
            out.append(f"--- {s.name} log ({s.log_path}) ---")
            out.extend(tail)
        return "\n".join(out)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def slapd(self, start=True, **kw):
        kw.setdefault("name", "slapd" if not self.slapds else f"slapd{len(self.slapds)}")
        s = Slapd(self, **kw)
        self.slapds.append(s)
        if start:
            s.start()
        return s

    def dovecot(self, start=True, **kw):
        kw.setdefault("name", "dovecot" if not self.dovecots else f"dovecot{len(self.dovecots)}")
        d = Dovecot(self, **kw)
        self.dovecots.append(d)
        if start:
            d.start()
        return d

    def postfix(self, dovecot, **kw):
        """A Postfix (not started) whose smtpd authenticates against
        `dovecot`. Dovecot must not be started yet: this adds the auth
        listener smtpd uses to its configuration. Start Dovecot, then the
        Postfix."""
        kw.setdefault("name", "postfix" if not self.postfixes
                      else f"postfix{len(self.postfixes)}")
        p = Postfix(self, add_sasl_listener(dovecot), **kw)
        self.postfixes.append(p)
        return p

    def close(self):
        if self.closed:
            return
        self.closed = True
        if self in Sandbox.live:
            Sandbox.live.remove(self)
        errors = []
        # SIGTERM to every Postfix and Dovecot at once, so that their
        # shutdowns overlap; each is then reaped in turn, clients first
        for p in self.postfixes + self.dovecots:
            if p.proc is not None:
                p.proc.terminate()
        for p in reversed(self.postfixes):
            try:
                p.stop()
            except Exception as e:      # keep stopping the rest
                errors.append(e)
        for d in reversed(self.dovecots):
            try:
                d.stop()
            except Exception as e:      # keep stopping the rest
                errors.append(e)
        for s in reversed(self.slapds):
            try:
                s.stop()
            except Exception as e:
                errors.append(e)
        if self.keep:
            print(f"# sandbox kept at {self.root}")
        else:
            shutil.rmtree(self.root, ignore_errors=True)
        if errors:
            raise errors[0]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
