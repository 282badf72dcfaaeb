"""A throw-away OpenSSH server on 127.0.0.1, for the test of a real SSH remote (`dvc-ssh`).

The server gets its own host key, one authorized client key (both made here, both gone with
the temporary directory), a free port on the loopback interface only, SFTP in-process
(``internal-sftp``, what dvc-ssh speaks), no passwords, and a handful of sessions at most.
Nothing in the user's ``~/.ssh`` is read or written (dvc-ssh, through sshfs, does not check
host keys at all, so no ``known_hosts`` entry is needed).
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SBIN = os.pathsep.join(["/usr/sbin", "/usr/local/sbin", os.environ.get("PATH", "")])


@dataclass(frozen=True)
class Server:
    """What a client needs: where to connect, as whom, with which key."""

    port: int
    user: str
    keyfile: Path
    process: subprocess.Popen


def missing_reason() -> str | None:
    """Why no server can be started here (None when one can)."""
    if shutil.which("sshd", path=SBIN) is None:
        return "OpenSSH server not installed (Debian: apt-get install openssh-server; .ci/run does this)"
    if shutil.which("ssh-keygen") is None:
        return "ssh-keygen not installed (Debian: openssh-client)"
    if os.geteuid() == 0 and not os.path.isdir("/run/sshd") and not os.access("/run", os.W_OK):
        return "sshd runs as root but its privilege-separation directory /run/sshd is missing"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keygen(path: Path) -> str:
    """A new passphrase-less ed25519 key at ``path``; returns the public key line."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path.with_suffix(".pub").read_text().strip()


def config_text(root: Path, port: int) -> str:
    return "\n".join(
        [
            f"Port {port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {root / 'host_ed25519'}",
            f"AuthorizedKeysFile {root / 'authorized_keys'}",
            f"PidFile {root / 'sshd.pid'}",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "UsePAM no",
            "StrictModes no",  # the temporary directory's permissions are the test's, not a home's
            "MaxStartups 4",
            "MaxSessions 8",
            "LoginGraceTime 30",
            "Subsystem sftp internal-sftp",
            "",
        ]
    )


def wait_listening(port: int, process: subprocess.Popen, log: Path, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited with {process.returncode}:\n{log.read_text()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"sshd did not listen on 127.0.0.1:{port} within {seconds} s:\n{log.read_text()}")


def start(root: Path) -> Server:
    """Start sshd (foreground process, stopped by :func:`stop`) with its files under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    keygen(root / "host_ed25519")
    (root / "authorized_keys").write_text(keygen(root / "client_ed25519") + "\n")
    port = free_port()
    (root / "sshd_config").write_text(config_text(root, port))
    log = root / "sshd.log"
    sshd = shutil.which("sshd", path=SBIN)  # absolute: sshd re-executes itself
    with log.open("w") as out:
        process = subprocess.Popen([sshd, "-D", "-e", "-f", str(root / "sshd_config")], stdout=out, stderr=out)
    wait_listening(port, process, log)
    return Server(port, getpass.getuser(), root / "client_ed25519", process)


def stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
