"""Small LDIF helpers: password hashes and entry rendering."""

import base64
import functools
import subprocess


@functools.lru_cache(maxsize=None)
def ssha(password):
    """An {SSHA} hash made by slappasswd (fresh salt per password)."""
    out = subprocess.run(["slappasswd", "-h", "{SSHA}", "-s", password],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def _needs_base64(value):
    if value == "":
        return False
    if value[0] in " :<" or value[-1] == " ":
        return True
    return any(ord(c) > 126 or ord(c) < 32 for c in value)


def render_entry(dn, attrs):
    """attrs: dict name -> str | list[str]. Returns one LDIF record."""
    lines = []

    def add(name, value):
        if _needs_base64(value):
            enc = base64.b64encode(value.encode()).decode()
            lines.append(f"{name}:: {enc}")
        else:
            lines.append(f"{name}: {value}")

    add("dn", dn)
    for name, values in attrs.items():
        if values is None:
            continue
        if isinstance(values, (str, int)):
            values = [values]
        for v in values:
            add(name, str(v))
    return "\n".join(lines) + "\n"


def render(entries):
    """entries: iterable of (dn, attrs)."""
    return "\n".join(render_entry(dn, attrs) for dn, attrs in entries)
