"""A throw-away Postfix whose smtpd asks a sandbox Dovecot for SMTP AUTH.

Debian's postfix package, but none of its system configuration: the
instance has its own config_directory, queue_directory and data_directory
in the sandbox, listens on 127.0.0.1:PORT, runs nothing chrooted, logs to
a file (maillog_file) and its master runs in the foreground, registered by
PID like every other daemon of the harness.

    dc = sb.dovecot(start=False, ...)
    pf = sb.postfix(dc)          # adds the auth listener to dc's config
    dc.start(); pf.start()
    pf.smtp_auth("alice", "pw", "LOGIN")   # Reply(ok, "235 2.7.0 ...")

Postfix's dovecot SASL client speaks to an auth-client type socket (as
`doveadm auth test` does, not a login socket) and sends service=smtp.
"""

import os
import smtplib
import subprocess
import time

from . import procs
from .dovecot import Reply

POSTFIX_DAEMONS = "/usr/lib/postfix/sbin"
SASL_LISTENER = "postfix-sasl"     # "-sasl": an auth-client type socket

# The services smtpd may call while it greets, authenticates and checks
# addresses. No queue manager and no delivery agents: nothing is mailed.
MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
postlog   unix-dgram n - n - 1 postlogd
anvil     unix - - n - 1 anvil
proxymap  unix - - n - - proxymap
rewrite   unix - - n - - trivial-rewrite
cleanup   unix n - n - 0 cleanup
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
scache    unix - - n - 1 scache
"""


def add_sasl_listener(dovecot):
    """Adds to `dovecot` (not yet started) an auth-client listener that
    smtpd, running as the postfix user, may open; returns its path."""
    if dovecot.proc is not None:
        raise RuntimeError("add the SASL listener before starting Dovecot")
    path = os.path.join(dovecot.dir, SASL_LISTENER)
    dovecot.extra_conf += ("\nservice auth {\n"
                           f"  unix_listener {path} {{\n"
                           "    mode = 0666\n"
                           "  }\n"
                           "}\n")
    return path


class Postfix:
    """One private Postfix instance.

    sasl_path  the Dovecot auth socket smtpd uses (smtpd_sasl_path)
    main_cf    extra main.cf settings (dict), override the defaults
    """

    def __init__(self, sandbox, sasl_path, name="postfix", main_cf=None):
        self.sandbox = sandbox
        self.name = name
        self.dir = sandbox.path(name)
        self.conf_dir = os.path.join(self.dir, "conf")
        self.queue_dir = os.path.join(self.dir, "queue")
        self.data_dir = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "postfix.log")
        self.out_path = os.path.join(self.dir, "master.out")
        for d in (self.conf_dir, self.queue_dir):
            os.makedirs(d, exist_ok=True)
        self.port = procs.free_port()
        self.sasl_path = sasl_path
        self.main_cf = dict(main_cf or {})
        self.proc = None
        self.client_timeout = 15

    def default_main_cf(self):
        return {
            "compatibility_level": "3.6",
            "queue_directory": self.queue_dir,
            "data_directory": self.data_dir,
            "meta_directory": "/etc/postfix",
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "sandbox.mg.test",
            "mydestination": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "maillog_file": self.log_path,
            "maillog_file_prefixes": self.dir,
            # no DNS in the sandbox: no reverse lookup of 127.x clients
            "smtpd_peername_lookup": "no",
            "smtpd_error_sleep_time": "0",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "smtpd_tls_security_level": "none",
            "smtpd_sasl_auth_enable": "yes",
            "smtpd_sasl_type": "dovecot",
            "smtpd_sasl_path": self.sasl_path,
            "smtpd_sasl_security_options": "noanonymous",
            "smtpd_relay_restrictions": "permit_sasl_authenticated, reject",
        }

    def _write_conf(self):
        cf = self.default_main_cf()
        cf.update(self.main_cf)
        with open(os.path.join(self.conf_dir, "main.cf"), "w") as f:
            f.write("".join(f"{k} = {v}\n" for k, v in cf.items()))
        with open(os.path.join(self.conf_dir, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(port=self.port))

    def start(self, timeout=20.0):
        self._write_conf()
        # creates the queue and data directories with Postfix's own owners
        # and modes (it reports on stderr only to a terminal: keep stdout)
        r = subprocess.run(["postfix", "-c", self.conf_dir, "check"],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"postfix check failed ({r.returncode}):"
                               f" {r.stdout}{r.stderr} {self.log_text()}")
        # the master without -w stays in the foreground
        self.proc = procs.ManagedProcess(
            self.name, [os.path.join(POSTFIX_DAEMONS, "master"),
                        "-c", self.conf_dir], self.out_path)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=20.0):
        """Until smtpd greets (220) and offers AUTH after EHLO, which it
        does only once it reached Dovecot's socket."""
        deadline = time.monotonic() + timeout
        procs.wait_port("127.0.0.1", self.port, timeout, self.proc)
        last = None
        while time.monotonic() < deadline:
            if not self.proc.alive():
                raise RuntimeError(
                    f"postfix master exited; see {self.log_path}")
            try:
                mechs = self.auth_mechanisms()
                if mechs:
                    return
                last = "EHLO without AUTH"
            except (OSError, smtplib.SMTPException) as e:
                last = e
            time.sleep(0.1)
        raise TimeoutError(f"postfix on port {self.port} not ready: {last};"
                           f" see {self.log_path}")

    def stop(self):
        """SIGTERM the master (it passes it on to its children)."""
        if self.proc is not None:
            p, self.proc = self.proc, None
            p.stop(timeout=10)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def log_text(self):
        text = ""
        for p in (self.log_path, self.out_path):
            try:
                with open(p, errors="replace") as f:
                    text += f.read()
            except FileNotFoundError:
                pass
        return text

    # ------------------------------------------------------------------
    # clients
    # ------------------------------------------------------------------
    def _connect(self, source=None):
        return smtplib.SMTP("127.0.0.1", self.port,
                            local_hostname="client.mg.test",
                            timeout=self.client_timeout,
                            source_address=(source or
                                            procs.next_source_address(), 0))

    def auth_mechanisms(self, source=None):
        """The SASL mechanisms smtpd offers after EHLO (upper case)."""
        s = self._connect(source)
        try:
            s.ehlo()
            return s.esmtp_features.get("auth", "").upper().split()
        finally:
            s.close()

    def smtp_auth(self, user, password, mech="PLAIN", source=None):
        """EHLO + AUTH mech from its own source address.
        Returns Reply(ok, "CODE text"), ok only for 235."""
        try:
            s = self._connect(source)
        except (OSError, smtplib.SMTPException) as e:
            return Reply(False, f"CONNECT FAILED: {e}")
        try:
            s.ehlo()
            offered = s.esmtp_features.get("auth", "").upper().split()
            if mech.upper() not in offered:
                return Reply(False, f"NOT OFFERED: {mech} (AUTH {offered})")
            s.user, s.password = user, password
            method = {"PLAIN": s.auth_plain, "LOGIN": s.auth_login,
                      "CRAM-MD5": s.auth_cram_md5}[mech.upper()]
            try:
                code, resp = s.auth(mech.upper(), method)
            except smtplib.SMTPAuthenticationError as e:
                code, resp = e.smtp_code, e.smtp_error
            text = resp.decode(errors="replace") if isinstance(resp, bytes) \
                else str(resp)
            try:
                s.quit()
            except (OSError, smtplib.SMTPException):
                pass
            return Reply(code == 235, f"{code} {text}")
        except (OSError, smtplib.SMTPException) as e:
            return Reply(False, f"DISCONNECTED: {e}")
        finally:
            s.close()

