"""Real MariaDB and PostgreSQL servers for tests, started by us and stopped by PID.

Each server lives in its own temporary directory (data, socket, log), listens on
127.0.0.1 at a free port plus a unix socket in that directory, and gets a database and a
password-protected user of its own. Nothing outside the temp dir is touched, so this works
on a fresh Debian 12 machine where the packaged services were never started.

    with dbservers.mariadb() as db:      # db.dsn == "gw:...@tcp(127.0.0.1:PORT)/gw"
        ...
    with dbservers.postgres() as db:     # db.dsn == "postgres://gw:...@127.0.0.1:PORT/gw?..."
        ...

Startup waits are bounded (START_TIMEOUT); on leaving the block, or on any failure while
starting, the server gets SIGTERM (postgres: SIGINT, its fast shutdown), then SIGKILL
after STOP_TIMEOUT, and the temp dir is removed. Stdlib only.

Run directly to keep a server up by hand: python3 dbservers.py mariadb|postgres
"""
import contextlib
import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
PG_BIN = "/usr/lib/postgresql/15/bin"
MARIADBD = "/usr/sbin/mariadbd"
USER, PASSWORD, DBNAME = "gw", "gw-test-pw", "gw"


class ServerError(RuntimeError):
    pass


class Server:
    """A running server: dsn, port, socket (path or dir), pid, tmpdir, startup_s."""

    def __init__(self, kind, tmpdir):
        self.kind, self.tmpdir = kind, tmpdir
        self.dsn = self.socket = None
        self.port = self.pid = None
        self.proc = None
        self.startup_s = 0.0
        self.log = os.path.join(tmpdir, "server.log")

    def log_tail(self, n=30):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


def _die_with_parent(sig):
    """preexec_fn: the server gets sig if the thread that started it dies (a test runner
    killed with SIGKILL would otherwise leave servers behind)."""
    def preexec():
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, int(sig), 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    return preexec


def _me():
    return pwd.getpwuid(os.geteuid()).pw_name


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd, timeout, what, **kw):
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        raise ServerError("%s: timed out after %.0f s" % (what, timeout))
    if r.returncode != 0:
        raise ServerError("%s: exit %d\n%s" % (what, r.returncode,
                                               r.stdout.decode(errors="replace")[-2000:]))
    return r.stdout.decode(errors="replace")


def _wait(deadline, ready, srv, what):
    while time.monotonic() < deadline:
        if srv.proc.poll() is not None:
            raise ServerError("%s exited with %s during startup\n%s"
                              % (what, srv.proc.returncode, srv.log_tail()))
        if ready():
            return
        time.sleep(0.05)
    raise ServerError("%s not ready after %.0f s\n%s" % (what, START_TIMEOUT, srv.log_tail()))


def _tcp_greets(port):
    """True once the server accepts a TCP connection and sends its first bytes."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.settimeout(1)
            return len(s.recv(4)) > 0
    except OSError:
        return False


def _stop(srv, sig):
    """Signals the server by PID and waits; SIGKILL after STOP_TIMEOUT."""
    p = srv.proc
    if p is None or p.poll() is not None:
        return
    try:
        os.kill(p.pid, sig)
        p.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=STOP_TIMEOUT)
    except ProcessLookupError:
        pass


@contextlib.contextmanager
def mariadb():
    tmp = tempfile.mkdtemp(prefix="gw-mariadb-")
    srv = Server("mariadb", tmp)
    logf = None
    try:
        t0 = time.monotonic()
        data = os.path.join(tmp, "data")
        srv.socket = os.path.join(tmp, "mysqld.sock")
        srv.port = free_port()
        _run(["mariadb-install-db", "--no-defaults", "--user=" + _me(), "--datadir=" + data,
              "--auth-root-authentication-method=normal", "--skip-test-db",
              "--skip-name-resolve"], START_TIMEOUT, "mariadb-install-db")
        logf = open(srv.log, "ab")
        srv.proc = subprocess.Popen(
            [MARIADBD, "--no-defaults", "--user=" + _me(), "--datadir=" + data,
             "--socket=" + srv.socket, "--port=%d" % srv.port, "--bind-address=127.0.0.1",
             "--pid-file=" + os.path.join(tmp, "mysqld.pid"), "--skip-name-resolve",
             "--skip-log-bin", "--innodb-buffer-pool-size=32M",
             "--innodb-flush-log-at-trx-commit=2", "--character-set-server=utf8mb4",
             "--collation-server=utf8mb4_unicode_ci", "--max-connections=200"],
            stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent(signal.SIGTERM))
        srv.pid = srv.proc.pid
        _wait(t0 + START_TIMEOUT, lambda: _tcp_greets(srv.port), srv, "mariadbd")
        sql = ("CREATE DATABASE `{db}` CHARACTER SET utf8mb4;"
               "CREATE USER '{u}'@'%' IDENTIFIED BY '{p}';"
               "CREATE USER '{u}'@'localhost' IDENTIFIED BY '{p}';"
               "GRANT ALL ON `{db}`.* TO '{u}'@'%';"
               "GRANT ALL ON `{db}`.* TO '{u}'@'localhost';").format(db=DBNAME, u=USER,
                                                                      p=PASSWORD)
        _run(["mariadb", "--no-defaults", "-uroot", "--socket=" + srv.socket, "-e", sql],
             START_TIMEOUT, "mariadb create user")
        srv.dsn = "%s:%s@tcp(127.0.0.1:%d)/%s" % (USER, PASSWORD, srv.port, DBNAME)
        srv.startup_s = time.monotonic() - t0
        yield srv
    finally:
        _stop(srv, signal.SIGTERM)
        if logf:
            logf.close()
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def postgres():
    # PostgreSQL refuses to run as root: as root, initdb and the server run as the
    # postgres system user (Popen user=, like runuser, but the PID we hold is the
    # postmaster's own); otherwise as ourselves.
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8"}
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        as_pg = dict(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[], env=env)
    else:
        pw = pwd.getpwuid(os.geteuid())
        as_pg = dict(env=env)
    tmp = tempfile.mkdtemp(prefix="gw-pg-")
    os.chown(tmp, pw.pw_uid, pw.pw_gid)
    srv = Server("postgres", tmp)
    logf = None
    try:
        t0 = time.monotonic()
        data = os.path.join(tmp, "data")
        srv.socket = tmp
        srv.port = free_port()
        _run([PG_BIN + "/initdb", "-D", data, "-U", "postgres", "-E", "UTF8",
              "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256",
              "--no-sync", "--no-instructions"], START_TIMEOUT, "initdb", cwd=tmp, **as_pg)
        logf = open(srv.log, "ab")
        os.chown(srv.log, pw.pw_uid, pw.pw_gid)
        srv.proc = subprocess.Popen(
            [PG_BIN + "/postgres", "-D", data, "-p", str(srv.port), "-k", tmp,
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
             "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "shared_buffers=32MB", "-c", "max_connections=100",
             "-c", "logging_collector=off"],
            stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=tmp,
            preexec_fn=_die_with_parent(signal.SIGQUIT), **as_pg)
        srv.pid = srv.proc.pid

        def ready():
            r = subprocess.run([PG_BIN + "/pg_isready", "-q", "-h", tmp, "-p", str(srv.port),
                                "-t", "1"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            return r.returncode == 0
        _wait(t0 + START_TIMEOUT, ready, srv, "postgres")
        psql = [PG_BIN + "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", tmp,
                "-p", str(srv.port), "-U", "postgres", "-d", "postgres"]
        _run(psql + ["-c", "CREATE ROLE %s LOGIN PASSWORD '%s'" % (USER, PASSWORD),
                     "-c", "CREATE DATABASE %s OWNER %s ENCODING 'UTF8'" % (DBNAME, USER)],
             START_TIMEOUT, "psql create role", cwd=tmp, **as_pg)
        srv.dsn = "postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable" % (USER, PASSWORD,
                                                                      srv.port, DBNAME)
        srv.startup_s = time.monotonic() - t0
        yield srv
    finally:
        _stop(srv, signal.SIGINT)       # fast shutdown; SIGTERM would wait for clients
        if logf:
            logf.close()
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv):
    kinds = {"mariadb": mariadb, "mysql": mariadb, "postgres": postgres}
    if len(argv) != 2 or argv[1] not in kinds:
        print("usage: dbservers.py mariadb|postgres", file=sys.stderr)
        return 2
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupt)
    with kinds[argv[1]]() as srv:
        print("%s up in %.2f s, pid %d" % (srv.kind, srv.startup_s, srv.pid))
        print("GW_TEST_DSN='%s'" % srv.dsn, flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
