"""A throw-away Dovecot (2.3 or 2.4, the one installed) running from the
sandbox.

Auth plugins are only loaded from /usr/lib/dovecot/modules/auth, so dovecot
runs in a private mount namespace where that directory is a bind mount of
<sandbox>/modules/auth (stock modules + the freshly built plugin). On 2.4
the same is done for modules/settings (the plugin's settings module), and
doveconf and doveadm run in such a namespace too: without the settings
module they don't know the plugin's keys.

The tests describe a setup once, in 2.3's terms (settings dicts, AuthDB
blocks with 2.3 args); on 2.4 it is rendered in 2.4's syntax (see
render24()).
"""

import functools
import hmac
import imaplib
import os
import poplib
import re
import shlex
import shutil
import socket
import subprocess
import time

from . import procs

STOCK_AUTH_MODULES = "/usr/lib/dovecot/modules/auth"
STOCK_SETTINGS_MODULES = "/usr/lib/dovecot/modules/settings"
REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__),
                                         "..", "..", ".."))
MODULE_NAME = "libauthdb_mailbox_guard.so"
SETTINGS_MODULE_NAME = "libmailbox_guard_settings.so"

# exact server texts the plugin must produce
IMAP_REFUSED = ("NO [CONTACTADMIN] The requested mailbox is not available "
                "on this server.")
POP3_REFUSED = "-ERR [AUTH] The requested mailbox is not available on this server."
IMAP_AUTHFAIL = "NO [AUTHENTICATIONFAILED] Authentication failed."
POP3_AUTHFAIL = "-ERR [AUTH] Authentication failed."
REFUSAL_REASON = "The requested mailbox is not available on this server."


# --- opt-in checking of the auth process -----------------------------------
# Nothing here changes anything unless one of these is set:
#   MG_AUTH_ASAN=1      start the auth process with the ASan runtime preloaded,
#                       for a plugin built with ./configure --enable-sanitizers
#                       (Dovecot's own binary is not instrumented); reports go
#                       to <report dir>/asan.PID and ubsan.PID
#   MG_AUTH_VALGRIND=1  start the auth process under valgrind (memcheck, with
#                       tests/valgrind.supp); logs go to valgrind-PID.log
#   MG_AUTH_REPORT_DIR  where each Dovecot instance gets its report dir
#                       (<dir>/<sandbox>-<name>); default <sandbox>/<name>/
#                       auth-reports, which goes away with the sandbox
#   MG_ASAN_RUNTIME     the libasan to preload (default: the one the plugin
#                       links, else gcc's)
# tests/fuzz/check-auth-reports reads the report dirs afterwards.
AUTH_BINARY = "/usr/lib/dovecot/auth"
VALGRIND_SUPPRESSIONS = os.path.join(REPO_ROOT, "tests", "valgrind.supp")


def _process_title(cmdline):
    """"auth" for "<instance_name>/auth", "dovecot/auth [...]" (Dovecot's
    proctitle); under valgrind, whose own argv /proc shows, the auth
    binary's name ("auth", or "auth-worker" when started with -w)."""
    words = cmdline.split()
    if not words:
        return ""
    name = words[0].rsplit("/", 1)[-1]
    if name.startswith("valgrind") and AUTH_BINARY in words:
        rest = words[words.index(AUTH_BINARY) + 1:]
        return "auth-worker" if "-w" in rest else "auth"
    return name


def auth_check_mode():
    """None, "asan" or "valgrind"."""
    if os.environ.get("MG_AUTH_VALGRIND") == "1":
        return "valgrind"
    if os.environ.get("MG_AUTH_ASAN") == "1":
        return "asan"
    return None


def _asan_runtime(module):
    env = os.environ.get("MG_ASAN_RUNTIME")
    if env:
        return env
    try:
        out = subprocess.run(["ldd", module], capture_output=True, text=True,
                             timeout=10).stdout
        for line in out.splitlines():
            parts = line.split()
            if parts and parts[0].startswith("libasan.so") and len(parts) >= 3 \
                    and parts[2].startswith("/"):
                return parts[2]
    except (OSError, subprocess.SubprocessError):
        pass
    return subprocess.run(["gcc", "-print-file-name=libasan.so"],
                          capture_output=True, text=True).stdout.strip()


def plugin_module_path():
    return os.environ.get("MG_MODULE") or os.path.join(
        REPO_ROOT, "src", ".libs", MODULE_NAME)


def plugin_module_exists():
    return os.path.isfile(plugin_module_path())


def settings_module_path():
    """2.4: the settings module built beside the plugin."""
    return os.path.join(os.path.dirname(plugin_module_path()),
                        SETTINGS_MODULE_NAME)


@functools.lru_cache(maxsize=None)
def dovecot_release():
    """"2.3" or "2.4", from the installed Dovecot's version."""
    out = subprocess.run(["dovecot", "--version"], capture_output=True,
                         text=True, check=True).stdout
    major_minor = ".".join(out.split()[0].split(".")[:2])
    return "2.4" if major_minor == "2.4" else "2.3"


def is_24():
    return dovecot_release() == "2.4"


# --- 2.4 rendering ------------------------------------------------------------
# 2.3's variables in the values the tests give, and 2.4's.
VARS_24 = (("%u", "%{user}"), ("%n", "%{user | username}"),
           ("%d", "%{user | domain}"), ("%s", "%{protocol}"),
           ("%r", "%{remote_ip}"), ("%l", "%{local_ip}"))


def vars24(value, attr=None):
    """2.3 variables in value as 2.4 writes them; %$ is the attribute
    `attr` of the found entry (%{ldap:attr})."""
    out, i = [], 0
    while i < len(value):
        two = value[i:i + 2]
        if two == "%%":
            out.append("%%")
            i += 2
            continue
        if two == "%$":
            if attr is None:
                raise ValueError(f"%$ without an attribute in {value!r}")
            out.append(f"%{{ldap:{attr}}}")
            i += 2
            continue
        new = dict(VARS_24).get(two)
        if new is not None:
            out.append(new)
            i += 2
            continue
        out.append(value[i])
        i += 1
    return "".join(out)


def attrs_to_fields(attrs):
    """2.3's pass_attrs/user_attrs ("ldapAttr=field[=template]", ...) as a
    2.4 fields { } dict (field -> %{ldap:ldapAttr} or the template)."""
    fields = {}
    for item in (a.strip() for a in attrs.split(",")):
        if not item:
            continue
        attr, _, rest = item.partition("=")
        field, has_tmpl, template = rest.partition("=")
        if not field:
            field, attr = attr, None
        if has_tmpl:
            fields[field] = vars24(template, attr)
        else:
            fields[field] = f"%{{ldap:{attr}}}"
    return fields


def _static_args(args):
    """2.3 static args "k=v k2=v2" -> dict."""
    out = {}
    for word in shlex.split(args):
        k, _, v = word.partition("=")
        out[k] = v
    return out


# 2.3 top-level settings that 2.4 renamed or split (value -> dict)
TOPLEVEL_24 = {
    "disable_plaintext_auth": lambda v: {
        "auth_allow_cleartext": "no" if v == "yes" else "yes"},
    "mail_location": lambda v: dict(zip(("mail_driver", "mail_path"),
                                        v.split(":", 1))),
    "mail_home": lambda v: {"mail_home": vars24(v)},
}


def doveadm_tempfail_rc():
    """`doveadm auth test`'s exit status for a temporary failure: 2.3
    gives 77 as for any failure, 2.4 75 (EX_TEMPFAIL)."""
    return 75 if is_24() else 77


def db_line_re(driver="mailbox_guard"):
    """A regex for the log lines a passdb/userdb logged, groups (level,
    text): 2.3 writes "auth: Info: driver(user,...): text", 2.4
    "auth(user,...)<session>: Info: BLOCKNAME: text" (the harness names
    the blocks passdbN, userdbN)."""
    if is_24():
        return re.compile(r"auth\([^)]*\)(?:<[^>]*>)?: (Info|Error|Warning): "
                          r"(?:passdb|userdb)\d+: (.*)$")
    return re.compile(rf"auth: (Info|Error|Warning): {re.escape(driver)}"
                      r"\([^)]*\): (.*)$")


def settings24(settings):
    """A dict of 2.3 top-level settings in 2.4's names."""
    out = {}
    for k, v in settings.items():
        conv = TOPLEVEL_24.get(k)
        out.update(conv(v) if conv else {k: v})
    return out


def _render_block(lines, key, value, indent):
    pad = "  " * indent
    if isinstance(value, dict):
        lines.append(f"{pad}{key} {{")
        for k, v in value.items():
            _render_block(lines, k, v, indent + 1)
        lines.append(f"{pad}}}")
    else:
        lines.append(f"{pad}{key} = {value}")


class AuthDB:
    """One passdb { } or userdb { } block.

    kind      "passdb" | "userdb"
    driver    "mailbox_guard", "ldap", "passwd-file", "static", ...
    args      the args line (usually a settings file path)
    settings  further block settings: master=yes, result_success=continue,
              skip=..., default_fields=..., override_fields=..., ...
    """

    def __init__(self, kind, driver, args="", **settings):
        assert kind in ("passdb", "userdb")
        self.kind, self.driver, self.args = kind, driver, args
        self.settings = settings

    def render_for(self, name):
        """This block for the Dovecot installed; name: 2.4's block name."""
        return self.render24(name) if is_24() else self.render()

    def render24(self, name):
        """2.4: `passdb NAME { }`; args become the driver's settings,
        dict values nested blocks (fields { })."""
        block = {"driver": self.driver}
        settings = dict(self.settings)
        fields = dict(settings.pop("fields", {}))
        if settings.pop("pass", None) == "yes":
            # 2.4 has no pass: a master passdb continues on success
            settings["result_success"] = "continue"
        if self.driver == "passwd-file" and self.args:
            block["passwd_file_path"] = self.args
        elif self.driver == "static" and self.args:
            static = _static_args(self.args)
            if self.kind == "passdb" and "password" in static:
                block["passdb_static_password"] = static.pop("password")
            fields.update(static)
        elif self.args:
            raise ValueError(f"2.4: no rendering for {self.driver} args "
                             f"{self.args!r}")
        block.update(settings)
        if fields:
            block["fields"] = fields
        lines = []
        _render_block(lines, f"{self.kind} {name}", block, 0)
        return "\n".join(lines)

    def render(self):
        out = [f"{self.kind} {{", f"  driver = {self.driver}"]
        if self.args:
            out.append(f"  args = {self.args}")
        for k, v in self.settings.items():
            out.append(f"  {k} = {v}")
        out.append("}")
        return "\n".join(out)


def render_settings(settings):
    """dict -> text in the dovecot-ldap.conf.ext syntax (key = value)."""
    lines = []
    for k, v in settings.items():
        if v is None:
            continue
        if isinstance(v, bool):
            v = "yes" if v else "no"
        lines.append(f"{k} = {v}")
    return "\n".join(lines) + "\n"


class Reply(tuple):
    """(ok, text) with attribute access."""

    def __new__(cls, ok, text):
        return super().__new__(cls, (bool(ok), text))

    ok = property(lambda self: self[0])
    text = property(lambda self: self[1])


class _Sourced:
    """A client library class connecting from a chosen 127.x address, so
    Dovecot's per-address auth penalty never builds up across tests."""

    def __init__(self, host, port, source, timeout):
        self._source = source
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self._source, 0))


class _SourcedIMAP(_Sourced, imaplib.IMAP4):
    pass


def _proto_text(e):
    """poplib's error text: the server's line (bytes), or its own words
    (str) such as "-ERR EOF" when the server closed the connection."""
    arg = e.args[0]
    return arg.decode(errors="replace") if isinstance(arg, bytes) else arg


class _SourcedPOP3(_Sourced, poplib.POP3):
    pass


def imap_quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Dovecot:
    """Dovecot master + auth + login processes for one sandbox.

    auth_dbs   list of AuthDB, rendered in order (so passdbs can be chained,
               master passdbs added, ...)
    settings   extra top-level dovecot.conf settings (dict), override the
               defaults below
    extra_conf raw text appended to dovecot.conf (metric {}, service {}, ...)
    modules    extra .so files to put next to the stock auth modules;
               default: the mailbox_guard plugin if it has been built
    """

    def __init__(self, sandbox, auth_dbs=(), settings=None, extra_conf="",
                 modules=None, name="dovecot"):
        self.sandbox = sandbox
        self.name = name
        self.dir = sandbox.path(name)
        os.makedirs(self.dir, exist_ok=True)
        self.base_dir = os.path.join(self.dir, "run")
        self.state_dir = os.path.join(self.dir, "state")
        self.home_root = sandbox.path("home")
        self.module_dir = os.path.join(self.dir, "modules", "auth")
        self.settings_module_dir = os.path.join(self.dir, "modules",
                                                "settings")
        self.conf_path = os.path.join(self.dir, "dovecot.conf")
        self.log_path = os.path.join(self.dir, "dovecot.log")
        self.out_path = os.path.join(self.dir, "dovecot.out")
        self.imap_port = procs.free_port()
        self.pop3_port = procs.free_port()
        self.auth_dbs = list(auth_dbs)
        self.settings = dict(settings or {})
        self.extra_conf = extra_conf
        if modules is None:
            modules = [plugin_module_path()] if plugin_module_exists() else []
        self.modules = list(modules)
        # 2.4: the settings modules going with self.modules
        self.settings_modules = []
        if is_24() and plugin_module_path() in self.modules and \
                os.path.isfile(settings_module_path()):
            self.settings_modules.append(settings_module_path())
        self.proc = None
        self.client_timeout = 15
        # (source, target) files bind-mounted in Dovecot's private mount
        # namespace only, e.g. a resolv.conf or an /etc/hosts of the
        # test's own (a sandbox server's name resolves there only)
        self.bind_mounts = []
        self.report_dir = None      # MG_AUTH_ASAN / MG_AUTH_VALGRIND

    # ------------------------------------------------------------------
    # files
    # ------------------------------------------------------------------
    def write_settings(self, filename, settings):
        """Write a plugin settings file from a dict; returns its path."""
        return self.write_settings_text(filename, render_settings(settings))

    def write_settings_text(self, filename, text, mode=0o600):
        """mode: root's only by default, as the plugin wants a file
        holding dnpass; files Dovecot reads after dropping root (a
        passwd-file) need 0o644."""
        path = os.path.join(self.dir, filename)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def default_settings(self):
        """In 2.3's names: _write_conf renders them for the Dovecot found."""
        return {
            "instance_name": f"mg-{os.path.basename(self.sandbox.root)}-{self.name}",
            "base_dir": self.base_dir,
            "state_dir": self.state_dir,
            "log_path": self.log_path,
            "listen": "127.0.0.1",
            "protocols": "imap pop3",
            "ssl": "no",
            "disable_plaintext_auth": "no",
            "auth_mechanisms": "plain login",
            "auth_failure_delay": "0",
            "auth_verbose": "yes",
            "mail_location": "maildir:~/Maildir",
            "mail_home": f"{self.home_root}/%n",
            "mail_uid": "nobody",
            "mail_gid": "nogroup",
            "first_valid_uid": "1",
            "first_valid_gid": "1",
            "login_greeting": "Dovecot sandbox ready.",
        }

    def _write_conf(self):
        s = self.default_settings()
        s.update(self.settings)
        lines = []
        if is_24():
            # must come first; they fix the meaning of what follows
            lines += ["dovecot_config_version = 2.4.1",
                      "dovecot_storage_version = 2.4.1"]
            s = settings24(s)
        lines += [f"{k} = {v}" for k, v in s.items()]
        address = "listen" if is_24() else "address"
        lines += [
            "service imap-login {",
            f"  inet_listener imap {{\n    {address} = 127.0.0.1\n    port = {self.imap_port}\n  }}",
            "  inet_listener imaps {\n    port = 0\n  }",
            "}",
            "service pop3-login {",
            f"  inet_listener pop3 {{\n    {address} = 127.0.0.1\n    port = {self.pop3_port}\n  }}",
            "  inet_listener pop3s {\n    port = 0\n  }",
            "}",
        ]
        lines += [db.render_for(f"{db.kind}{i}")
                  for i, db in enumerate(self.auth_dbs)]
        lines.append(self.extra_conf)
        lines.append(self._auth_check_conf())
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def _auth_check_conf(self):
        """service auth { } and auth-worker { } for MG_AUTH_ASAN /
        MG_AUTH_VALGRIND, else ""."""
        mode = auth_check_mode()
        if mode is None:
            return ""
        base = os.environ.get("MG_AUTH_REPORT_DIR")
        if base:
            self.report_dir = os.path.join(
                base, f"{os.path.basename(self.sandbox.root)}-{self.name}")
        else:
            self.report_dir = os.path.join(self.dir, "auth-reports")
        os.makedirs(self.report_dir, exist_ok=True)
        # the auth process runs as dovecot's internal user
        os.chmod(self.report_dir, 0o1777)
        if mode == "valgrind":
            # Dovecot splits executable at spaces into argv. GDB=1 keeps
            # Dovecot from dlclose()ing the modules at exit (module-dir.c),
            # so valgrind still sees their symbols and what the libraries
            # they pulled in (libldap, libsasl2, GnuTLS) hold in globals.
            executable = " ".join([
                "/usr/bin/env", "GDB=1",
                "/usr/bin/valgrind", "--tool=memcheck", "--error-exitcode=97",
                "--leak-check=full", "--show-leak-kinds=definite",
                "--errors-for-leak-kinds=definite", "--keep-debuginfo=yes",
                "--num-callers=40", "--track-origins=yes",
                f"--suppressions={VALGRIND_SUPPRESSIONS}",
                f"--log-file={self.report_dir}/valgrind-%p.log",
                AUTH_BINARY])
        else:
            # a service's environment cannot be set in dovecot.conf, and
            # import_environment would preload ASan into every process:
            # a wrapper sets it for the auth process alone
            wrapper = os.path.join(self.dir, "auth-asan")
            runtime = _asan_runtime(self.modules[0] if self.modules
                                    else plugin_module_path())
            rd = self.report_dir
            with open(wrapper, "w") as f:
                f.write(
                    "#!/bin/sh\n"
                    "# MG_AUTH_ASAN=1: Dovecot's auth with the ASan runtime\n"
                    f": > {rd}/auth-started.$$\n"
                    f"[ -f {runtime} ] || echo \"no ASan runtime at "
                    f"'{runtime}'\" > {rd}/setup-error.$$\n"
                    f"LD_PRELOAD={runtime} \\\n"
                    # Dovecot is built without frame pointers: the slow
                    # unwinder gives whole allocation stacks
                    f"ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:"
                    f"fast_unwind_on_malloc=0:malloc_context_size=40:"
                    f"log_path={rd}/asan \\\n"
                    f"UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:"
                    f"log_path={rd}/ubsan \\\n"
                    f"exec {AUTH_BINARY} \"$@\"\n")
            os.chmod(wrapper, 0o755)
            executable = wrapper
        # ASan's shadow memory and valgrind need more address space than
        # the default vsz_limit (256 MB) allows
        # auth-worker processes (user listing always runs in one) are the
        # same binary with -w, and load the plugin too
        # (2.4 spells "no limit" unlimited)
        vsz = "unlimited" if is_24() else "0"
        return ("service auth {\n"
                f"  executable = {executable}\n"
                f"  vsz_limit = {vsz}\n"
                "}\n"
                "service auth-worker {\n"
                f"  executable = {executable} -w\n"
                f"  vsz_limit = {vsz}\n"
                "}")

    def _prepare_module_dir(self, target, stock, modules):
        if os.path.isdir(target):
            shutil.rmtree(target)
        os.makedirs(target)
        for entry in os.listdir(stock):
            src = os.path.join(stock, entry)
            if os.path.isfile(src):
                shutil.copy2(src, target)
        for m in modules:
            shutil.copy2(m, os.path.join(target, os.path.basename(m)))
        os.chmod(os.path.dirname(target), 0o755)
        os.chmod(target, 0o755)

    def _prepare_modules(self):
        self._prepare_module_dir(self.module_dir, STOCK_AUTH_MODULES,
                                 self.modules)
        if is_24():
            self._prepare_module_dir(self.settings_module_dir,
                                     STOCK_SETTINGS_MODULES,
                                     self.settings_modules)

    def _mounts(self):
        mounts = [(self.module_dir, STOCK_AUTH_MODULES)]
        if is_24():
            mounts.append((self.settings_module_dir, STOCK_SETTINGS_MODULES))
        return mounts + self.bind_mounts

    def in_namespace(self, argv):
        """argv as run in Dovecot's private mount namespace (the module
        directories, self.bind_mounts)."""
        inner = "".join(f"mount --bind {shlex.quote(src)} {shlex.quote(dst)} && "
                        for src, dst in self._mounts())
        inner += "exec " + shlex.join(argv)
        return ["unshare", "--mount", "--propagation", "private",
                "sh", "-c", inner]

    def _config_argv(self, argv):
        """doveconf/doveadm: on 2.4 in the namespace (the settings module);
        on 2.3 as they are."""
        return self.in_namespace(argv) if is_24() else argv

    # ------------------------------------------------------------------
    # lifecycle
    # ------------------------------------------------------------------
    def prepare(self):
        """The module directories and dovecot.conf as start() makes them:
        enough for doveconf (in_namespace on 2.4) without a Dovecot."""
        self._prepare_modules()
        self._write_conf()

    def start(self, timeout=20.0, wait_greeting=True):
        """Start dovecot. wait_greeting=False: only wait for the listening
        ports and auth sockets (login processes greet only once they reach
        a working auth process, so a broken auth setup never greets)."""
        os.makedirs(self.home_root, exist_ok=True)
        shutil.chown(self.home_root, "nobody", "nogroup")
        os.chmod(self.home_root, 0o755)
        os.makedirs(self.base_dir, exist_ok=True)
        os.makedirs(self.state_dir, exist_ok=True)
        self.prepare()
        r = subprocess.run(self._config_argv(
            ["doveconf", "-c", self.conf_path, "-n"]),
            capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"doveconf rejected {self.conf_path}:\n{r.stderr}")
        argv = self.in_namespace(["dovecot", "-F", "-c", self.conf_path])
        self.proc = procs.ManagedProcess(self.name, argv, self.out_path,
                                         kill_when_childless=True)
        self.wait_ready(timeout, wait_greeting)
        return self

    def wait_ready(self, timeout=20.0, wait_greeting=True):
        deadline = time.monotonic() + timeout
        procs.wait_port("127.0.0.1", self.imap_port, timeout, self.proc)
        procs.wait_port("127.0.0.1", self.pop3_port, timeout, self.proc)
        # the IMAP port must really greet
        while wait_greeting:
            try:
                with socket.create_connection(("127.0.0.1", self.imap_port),
                                              timeout=5) as s:
                    greet = s.recv(512)
                if greet.startswith(b"* OK"):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("no IMAP greeting; see " + self.log_path)
            time.sleep(0.05)
        for sock in ("auth-client", "auth-userdb"):
            p = os.path.join(self.base_dir, sock)
            while not os.path.exists(p):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{p} never appeared")
                time.sleep(0.05)

    def stop(self):
        """SIGTERM the master, SIGKILL it once its children are gone."""
        if self.proc is not None:
            p, self.proc = self.proc, None
            p.stop(timeout=10)

    def restart(self):
        self.stop()
        return self.start()

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    # ------------------------------------------------------------------
    # processes
    # ------------------------------------------------------------------
    def child_pids(self, title):
        """PIDs of the master's children whose process title ends in
        `/title` ("auth", "auth-worker", "imap-login", ...), from /proc."""
        if self.pid is None:
            return []
        found = []
        for pid in procs.children_of(self.pid):
            if _process_title(procs.cmdline(pid)) == title:
                found.append(pid)
        return found

    def auth_pid(self, timeout=10.0):
        """PID of the (one) auth process; waits for it to exist."""
        deadline = time.monotonic() + timeout
        while True:
            pids = self.child_pids("auth")
            if len(pids) == 1:
                return pids[0]
            if time.monotonic() > deadline:
                raise RuntimeError(f"auth processes: {pids}")
            time.sleep(0.05)

    def auth_client(self, service="imap", timeout=30.0):
        """A raw auth-client protocol connection (sandbox.authclient)."""
        from .authclient import AuthClient
        return AuthClient(os.path.join(self.base_dir, "auth-client"),
                          service=service, timeout=timeout)

    def crash_lines(self, text=None):
        """Log lines telling of a crash or a fatal error."""
        text = self.log_text() if text is None else text
        needles = ("Fatal:", "Panic:", "killed with signal",
                   "exited with status", "core dumped", "segfault")
        return [l for l in text.splitlines() if any(n in l for n in needles)]

    # ------------------------------------------------------------------
    # logs
    # ------------------------------------------------------------------
    def log_text(self, wait_for=None, timeout=10.0):
        """The whole log. With `wait_for`, as log_since()."""
        if wait_for is not None:
            self.wait_log(wait_for, timeout=timeout)
        text = ""
        for p in (self.log_path, self.out_path):
            try:
                with open(p, errors="replace") as f:
                    text += f.read()
            except FileNotFoundError:
                pass
        return text

    def db_log_lines(self, text, login, driver="mailbox_guard"):
        """The lines of text a passdb or userdb with `driver` logged for
        `login`: 2.3 tags them "driver(login,...)", 2.4
        "auth(login,...)<session>: Info: BLOCKNAME: "."""
        if not is_24():
            tag = f"{driver}({login},"
            return [l for l in text.splitlines() if tag in l]
        names = tuple(f": {db.kind}{i}: " for i, db in
                      enumerate(self.auth_dbs) if db.driver == driver)
        return [l for l in text.splitlines()
                if f"auth({login}," in l and any(n in l for n in names)]

    def log_mark(self):
        """Position to pass to log_since() (only log_path)."""
        try:
            return os.path.getsize(self.log_path)
        except FileNotFoundError:
            return 0

    def log_since(self, mark, wait_for=None, timeout=10.0):
        """The log after `mark`. With `wait_for`, first wait (up to
        `timeout`) for that text: the log process writes a line after
        the client may already have its answer."""
        if wait_for is not None:
            self.wait_log(wait_for, timeout=timeout, since=mark)
        try:
            with open(self.log_path, errors="replace") as f:
                f.seek(mark)
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, needle, timeout=10.0, since=0):
        """Wait until `needle` (str or callable(text)->bool) is in the log."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_since(since) if since else self.log_text()
            if (needle(text) if callable(needle) else needle in text):
                return text
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)

    # ------------------------------------------------------------------
    # clients
    # ------------------------------------------------------------------
    def _imap(self, source=None):
        return _SourcedIMAP("127.0.0.1", self.imap_port,
                            source or procs.next_source_address(),
                            self.client_timeout)

    def imap_login(self, user, password, source=None, select=False):
        """IMAP LOGIN. Returns Reply(ok, 'OK ...' / 'NO [...] ...')."""
        return self._imap_do(user, password, source, select, plain=False)

    def imap_authenticate_plain(self, user, password, source=None,
                                select=False, authz=""):
        """IMAP AUTHENTICATE PLAIN (no SASL-IR, as imaplib does it)."""
        return self._imap_do(user, password, source, select, plain=True,
                             authz=authz)

    def imap_authenticate_cram_md5(self, user, password, source=None):
        """IMAP AUTHENTICATE CRAM-MD5 (RFC 2195)."""
        def respond(challenge):
            digest = hmac.new(password.encode(), challenge, "md5").hexdigest()
            return f"{user} {digest}".encode()
        return self._imap_do(user, password, source, False, plain=False,
                             mech=("CRAM-MD5", respond))

    def _imap_do(self, user, password, source, select, plain, authz="",
                 mech=None):
        """LOGIN; AUTHENTICATE PLAIN when plain; AUTHENTICATE NAME when
        mech is (NAME, callable(challenge bytes) -> response bytes)."""
        try:
            c = self._imap(source)
        except (OSError, imaplib.IMAP4.error) as e:
            return Reply(False, f"CONNECT FAILED: {e}")
        if plain:
            blob = f"{authz}\0{user}\0{password}".encode()
            mech = ("PLAIN", lambda _: blob)
        try:
            if mech is not None:
                c.literal = imaplib._Authenticator(mech[1]).process
                typ, dat = c._simple_command("AUTHENTICATE", mech[0])
            else:
                typ, dat = c._simple_command("LOGIN", imap_quote(user),
                                             imap_quote(password))
            text = dat[-1].decode(errors="replace") if dat and dat[-1] else ""
            line = f"{typ} {text}".rstrip()
            if typ == "OK":
                c.state = "AUTH"
            if typ == "OK" and select:
                st, sd = c.select("INBOX")
                if st != "OK":
                    return Reply(False, f"{line} / SELECT {st} {sd}")
            try:
                c.logout()
            except Exception:
                pass
            return Reply(typ == "OK", line)
        except (imaplib.IMAP4.abort, OSError, EOFError) as e:
            return Reply(False, f"DISCONNECTED: {e}")
        except imaplib.IMAP4.error as e:
            return Reply(False, f"ERROR: {e}")
        finally:
            try:
                c.shutdown()
            except Exception:
                pass

    def pop3_login(self, user, password, source=None, stat=False):
        """POP3 USER + PASS. Returns Reply(ok, '+OK ...' / '-ERR ...')."""
        try:
            c = _SourcedPOP3("127.0.0.1", self.pop3_port,
                             source or procs.next_source_address(),
                             self.client_timeout)
        except (OSError, poplib.error_proto) as e:
            return Reply(False, f"CONNECT FAILED: {e}")
        try:
            try:
                c.user(user)
            except poplib.error_proto as e:
                return Reply(False, _proto_text(e))
            try:
                resp = c.pass_(password).decode(errors="replace")
            except poplib.error_proto as e:
                return Reply(False, _proto_text(e))
            if stat:
                c.stat()
            try:
                c.quit()
            except Exception:
                pass
            return Reply(True, resp)
        except (OSError, EOFError) as e:
            return Reply(False, f"DISCONNECTED: {e}")
        finally:
            try:
                c.close()
            except Exception:
                pass

    def parallel(self, jobs, workers=16):
        """Run [(callable, args...), ...] concurrently; results in order.
        Failed logins cost ~0.5 s each (Dovecot answers failures from a
        500 ms timer even with auth_failure_delay = 0), so batches of
        failing logins are much faster in parallel."""
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(max_workers=workers) as ex:
            futs = [ex.submit(j[0], *j[1:]) for j in jobs]
            return [f.result() for f in futs]

    def login_all(self, user, password):
        """IMAP LOGIN, IMAP AUTHENTICATE PLAIN and POP3: dict of Replies."""
        names = ("imap-login", "imap-plain", "pop3")
        res = self.parallel([(self.imap_login, user, password),
                             (self.imap_authenticate_plain, user, password),
                             (self.pop3_login, user, password)])
        return dict(zip(names, res))

    # ------------------------------------------------------------------
    # doveadm
    # ------------------------------------------------------------------
    def doveadm(self, *args, timeout=30):
        r = subprocess.run(self._config_argv(
            ["doveadm", "-c", self.conf_path, *args]),
            capture_output=True, text=True, timeout=timeout)
        return r.returncode, r.stdout + r.stderr

    def doveadm_user(self, name, *extra):
        """`doveadm user NAME`: (exit code, output). 67 = no such user."""
        return self.doveadm("user", *extra, name)

    def doveadm_auth_test(self, user, password, service="imap", *fields):
        """`doveadm auth test -x service=S U P`: 0 ok, 77 failed."""
        args = ["auth", "test", "-x", f"service={service}"]
        for f in fields:
            args += ["-x", f]
        return self.doveadm(*args, user, password)

    def doveadm_auth_login(self, user, password, service="imap"):
        return self.doveadm("auth", "login", "-x", f"service={service}",
                            user, password)


def parse_doveadm_user(output):
    """`doveadm user` output -> dict of userdb fields."""
    fields = {}
    for line in output.splitlines():
        if not line.strip() or line.startswith("field"):
            continue
        parts = line.split(None, 1)
        if len(parts) == 2:
            fields[parts[0]] = parts[1].strip()
        elif len(parts) == 1:
            fields[parts[0]] = ""
    return fields
