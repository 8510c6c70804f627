"""A real IMAP server on this machine: Debian's Dovecot (``dovecot-imapd`` + ``dovecot-lmtpd``) run as a
private instance on free ports of 127.0.0.1, the offline stand-in for an account's mail provider.

The emulator delivers X's confirmation-code emails to it over LMTP (as a provider's MX would) and XGet
reads them back over IMAP or IMAPS (``core/pools/mailbox.py``). Used by the tests and available for
local development::

    with start_dovecot(tmp_path, {"alice@mail.test": "pw"}) as mail:
        mail.imap_port, mail.imaps_port, mail.lmtp_port, mail.add_user("bob@mail.test", "pw2")

The instance keeps everything (config, users, maildirs, log, pid) under its directory. Mailboxes are
owned by ``nobody`` when run as root (Dovecot refuses uid 0 for mail), else by the current user. A
server that does not come up raises :class:`MailServerError` with its log, so tests fail, never skip.
"""

from __future__ import annotations

import datetime as dt
import grp
import os
import pwd
import socket
import subprocess
import time
from pathlib import Path

DOVECOT = "/usr/sbin/dovecot"


class MailServerError(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _self_signed(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A self-signed certificate for ``host`` (used as its own CA by clients): (cert, key) paths."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "xget-test-imap")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


class MailServer:
    """A running Dovecot instance: IMAP (plain), IMAPS (self-signed, ``ca_file``) and LMTP on 127.0.0.1."""

    def __init__(
        self,
        directory: Path,
        imap_port: int,
        imaps_port: int,
        lmtp_port: int,
        ca_file: Path,
        owner: tuple[int, int],
    ):
        self.directory, self.imap_port, self.imaps_port, self.lmtp_port = (
            directory,
            imap_port,
            imaps_port,
            lmtp_port,
        )
        self.ca_file, self.owner = ca_file, owner
        self.host = "127.0.0.1"

    @property
    def users_file(self) -> Path:
        return self.directory / "users"

    def add_user(self, email: str, password: str) -> None:
        """Create (or re-password) a mailbox. The users file is world-readable (Dovecot's auth process
        reads it): throwaway test mailboxes only."""
        if ":" in email or "\n" in email + password:
            raise ValueError("mailbox names and passwords cannot contain ':' or newlines here")
        lines = [
            ln for ln in self.users_file.read_text().splitlines() if ln and not ln.startswith(f"{email}:")
        ]
        lines.append(f"{email}:{{PLAIN}}{password}")
        # A new file (new inode) each time: Dovecot notices a change by inode and mtime (whole seconds).
        tmp = self.users_file.with_suffix(".new")
        tmp.write_text("\n".join(lines) + "\n")
        tmp.chmod(0o644)
        tmp.replace(self.users_file)
        self._wait_for_login(email, password)

    def _wait_for_login(self, email: str, password: str, timeout_s: float = 10) -> None:
        """Dovecot re-reads the users file lazily (it compares stat data at whole-second resolution): wait
        until the new mailbox can log in, so callers never race it."""
        import imaplib

        deadline = time.monotonic() + timeout_s
        while True:
            conn = imaplib.IMAP4(self.host, self.imap_port, timeout=5)
            try:
                conn.login(email, password)
                conn.logout()
                return
            except imaplib.IMAP4.error:
                conn.shutdown()
                if time.monotonic() > deadline:
                    raise MailServerError(
                        f"dovecot does not accept the new mailbox {email}:\n{self.log_text()}"
                    ) from None
                time.sleep(0.2)

    def deliver(self, to: str, subject: str, body: str, sender: str = "X <verify@x.com>") -> None:
        """Deliver a message to ``to`` over LMTP, as a mail provider's MX would."""
        import smtplib
        from email.message import EmailMessage

        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = sender, to, subject
        msg.set_content(body)
        with smtplib.LMTP(self.host, self.lmtp_port, timeout=10) as lmtp:
            lmtp.send_message(msg)

    def log_text(self) -> str:
        path = self.directory / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @property
    def lmtp_address(self) -> str:
        return f"{self.host}:{self.lmtp_port}"

    def stop(self) -> None:
        subprocess.run(
            [DOVECOT, "-c", str(self.directory / "dovecot.conf"), "stop"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=20,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _listening(self.imap_port):
            time.sleep(0.1)

    def __enter__(self) -> MailServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _owner() -> tuple[str, str, int, int]:
    if os.geteuid() == 0:
        user = pwd.getpwnam("nobody")
        return "nobody", grp.getgrgid(user.pw_gid).gr_name, user.pw_uid, user.pw_gid
    user = pwd.getpwuid(os.geteuid())
    return user.pw_name, grp.getgrgid(os.getegid()).gr_name, os.geteuid(), os.getegid()


def start_dovecot(
    directory: Path | str, users: dict[str, str] | None = None, timeout_s: float = 20
) -> MailServer:
    """Start a private Dovecot under ``directory`` (created) with the given mailboxes (email -> password)."""
    if not Path(DOVECOT).exists():
        raise MailServerError(
            f"{DOVECOT} not found: install Debian's dovecot-imapd and dovecot-lmtpd "
            "(apt-get install dovecot-imapd dovecot-lmtpd; .ci/run does)"
        )
    directory = Path(directory).absolute()
    for sub in ("run", "state", "mail"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    # Dovecot's unprivileged processes (auth, the mail user) must reach the users file and maildirs.
    directory.chmod(0o755)
    blocked = [p for p in directory.parents if not os.stat(p).st_mode & 0o001]
    if blocked:
        raise MailServerError(
            f"{blocked[0]} is not traversable by other users, so Dovecot's unprivileged "
            "processes cannot reach the mailboxes: use a directory under /tmp (tempfile.mkdtemp)"
        )
    user, group, uid, gid = _owner()
    os.chown(directory / "mail", uid, gid)
    cert, key = _self_signed(directory)
    imap_port, imaps_port, lmtp_port = _free_port(), _free_port(), _free_port()
    privileged = os.geteuid() == 0
    me = pwd.getpwuid(os.geteuid()).pw_name
    conf = f"""
base_dir = {directory}/run
state_dir = {directory}/state
log_path = {directory}/dovecot.log
instance_name = xget-{imap_port}
protocols = imap lmtp
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:{directory}/mail/%u
mail_uid = {user}
mail_gid = {group}
first_valid_uid = 1
{"" if privileged else f"default_login_user = {me}{chr(10)}default_internal_user = {me}"}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {directory}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={directory}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
}}
"""
    conf_path = directory / "dovecot.conf"
    conf_path.write_text(conf)
    (directory / "users").write_text("")
    server = MailServer(directory, imap_port, imaps_port, lmtp_port, cert, (uid, gid))
    start_log = directory / "start.log"
    with open(start_log, "w") as out:  # the daemon keeps its output open: a file, never a pipe
        code = subprocess.run(
            [DOVECOT, "-c", str(conf_path)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=timeout_s,
        ).returncode
    if code != 0:
        raise MailServerError(f"dovecot did not start: {start_log.read_text().strip()}\n{server.log_text()}")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(_listening(p) for p in (imap_port, imaps_port, lmtp_port)):
            for email, password in (users or {}).items():
                server.add_user(email, password)
            return server
        time.sleep(0.1)
    server.stop()
    raise MailServerError(
        f"dovecot did not listen on {imap_port}/{imaps_port}/{lmtp_port} "
        f"within {timeout_s}s:\n{server.log_text()}"
    )
