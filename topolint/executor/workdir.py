"""The run's private folder, and the sweep of folders left by runs that were SIGKILLed.

Layout: ``$TMPDIR/topolint-<uid>/`` is a per-user base, created mode 0700 and used only if
it is a real folder (not a symlink) owned by this user; anything else is refused with a
message (:class:`WorkdirError`).  Each run makes ``run-XXXXXXXX`` inside it with
:func:`tempfile.mkdtemp` (mode 0700) and writes an ``owner`` record there: the supervisor's
pid, its start time (field 22 of ``/proc/<pid>/stat``, in clock ticks since boot), its PID
namespace and the kernel's boot id.

The sweep removes a folder only when its owner is *provably* gone: the record is a small
regular file owned by this user (opened with ``O_NOFOLLOW | O_NONBLOCK``, checked with
``fstat``, at most :data:`OWNER_MAX` bytes read, never a FIFO, a device or a symlink), it
was written in this boot and this PID namespace, and ``/proc`` (mounted for this namespace)
shows no process with that pid, or one with another start time (the pid was reused).
Anything it cannot prove (garbage, a record from another namespace or boot, an unreadable
``/proc``) is left alone; the sweep never raises.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass

BASE_PREFIX = "topolint-"
RUN_PREFIX = "run-"
OWNER = "owner"
OWNER_MAGIC = "topolint-run-owner 1"
#: The most bytes the sweep reads from an owner record (a real one is about 120).
OWNER_MAX = 512
#: The most bytes read from /proc/<pid>/stat (comm is at most 16 bytes; 52 fields follow).
STAT_MAX = 2048
#: sun_path holds 107 bytes plus the NUL.
SUN_PATH_MAX = 107
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class WorkdirError(OSError):
    """The per-user base folder cannot be used safely (the message says why)."""


@dataclass(frozen=True)
class Owner:
    """Who created a run folder."""

    pid: int
    start: int  # clock ticks after boot (field 22 of /proc/<pid>/stat)
    pidns: str  # readlink /proc/self/ns/pid, e.g. "pid:[4026531836]"
    boot: str  # /proc/sys/kernel/random/boot_id


def _read_small(path: str, limit: int, dir_fd: int | None = None) -> bytes | None:
    """At most ``limit`` bytes of a regular file, never following a symlink or blocking."""
    try:
        fd = os.open(path, _OPEN_FLAGS, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        return os.read(fd, limit)
    except OSError:
        return None
    finally:
        os.close(fd)


def _start_time(pid: int) -> int | None:
    """Field 22 (starttime) of ``/proc/<pid>/stat``; None if there is no such process."""
    data = _read_small(f"/proc/{pid}/stat", STAT_MAX)
    if data is None:
        return None
    try:
        fields = data[data.rindex(b")") + 2 :].split()
        return int(fields[19])  # fields[0] is field 3 (state)
    except (ValueError, IndexError):
        return None


def _boot_id() -> str | None:
    data = _read_small("/proc/sys/kernel/random/boot_id", 64)
    return data.decode("ascii", "replace").strip() if data else None


def _pidns() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def _proc_is_ours() -> bool:
    """Is /proc mounted for this process's PID namespace (so /proc/<pid> means our pid)?"""
    try:
        return os.readlink("/proc/self") == str(os.getpid())
    except OSError:
        return False


def current_owner() -> Owner | None:
    """This process as an owner record; None if /proc cannot say who we are."""
    pid = os.getpid()
    start, ns, boot = _start_time(pid), _pidns(), _boot_id()
    if start is None or ns is None or boot is None or not _proc_is_ours():
        return None
    return Owner(pid, start, ns, boot)


def format_owner(o: Owner) -> str:
    """The text of a run folder's ``owner`` record (read back by the sweep)."""
    return f"{OWNER_MAGIC}\npid {o.pid}\nstart {o.start}\nns {o.pidns}\nboot {o.boot}\n"


def parse_owner(data: bytes) -> Owner | None:
    """An owner record, or None for anything else (never raises)."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return None
    lines = text.split("\n")
    if not lines or lines[0] != OWNER_MAGIC:
        return None
    fields: dict[str, str] = {}
    for line in lines[1:]:
        key, _, value = line.partition(" ")
        if key:
            fields[key] = value
    pid, start = fields.get("pid", ""), fields.get("start", "")
    if not (pid.isdigit() and start.isdigit() and len(pid) <= 10 and len(start) <= 20):
        return None
    ns, boot = fields.get("ns", ""), fields.get("boot", "")
    if not ns or not boot or len(ns) > 64 or len(boot) > 64:
        return None
    return Owner(int(pid), int(start), ns, boot)


def read_owner(folder: str, dir_fd: int | None = None) -> Owner | None:
    """The owner record of a run folder, or None (see :func:`parse_owner`)."""
    data = _read_small(os.path.join(folder, OWNER), OWNER_MAX, dir_fd=dir_fd)
    return None if data is None else parse_owner(data)


def owner_gone(o: Owner, me: Owner | None = None) -> bool:
    """True only if the process that wrote ``o`` provably no longer exists."""
    me = me or current_owner()
    if me is None or o.boot != me.boot or o.pidns != me.pidns:
        return False  # another boot or namespace: its pids mean nothing here
    if o.pid == me.pid:
        return o.start != me.start
    if o.pid <= 0:
        return False
    start = _start_time(o.pid)
    if start is None:  # no /proc/<pid>: gone, unless /proc itself went away meanwhile
        return _proc_is_ours() and not os.path.exists(f"/proc/{o.pid}")
    return start != o.start  # the pid now belongs to another process


def tempdir(reserve: int = 0) -> tuple[str, str | None]:
    """The temporary folder to use, and a note when ``$TMPDIR`` was too long for IPC paths
    (``reserve`` = the longest name the run puts in its folder)."""
    tmp = tempfile.gettempdir()
    # base/topolint-<uid>/run-XXXXXXXX/<name>
    need = len(tmp) + len(f"/{BASE_PREFIX}{os.getuid()}/{RUN_PREFIX}XXXXXXXX/") + reserve
    if need > SUN_PATH_MAX and tmp != "/tmp":
        return "/tmp", f"TMPDIR {tmp!r} is too long for IPC socket paths: the run used /tmp"
    return tmp, None


def user_base(tmp: str) -> str:
    """``tmp/topolint-<uid>``: created 0700, or verified to be a folder of ours (not a
    symlink) and made private.  Raises :class:`WorkdirError` otherwise."""
    uid = os.getuid()
    base = os.path.join(tmp, f"{BASE_PREFIX}{uid}")
    with contextlib.suppress(FileExistsError):
        os.mkdir(base, 0o700)
    try:
        fd = os.open(base, _DIR_FLAGS)
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENOTDIR):
            raise WorkdirError(
                e.errno, f"{base} is not a folder (a symlink or a file): refusing to run there"
            ) from None
        raise
    try:
        st = os.fstat(fd)
        if st.st_uid != uid:
            raise WorkdirError(
                errno.EPERM,
                f"{base} belongs to uid {st.st_uid}, not to you (uid {uid}): refusing to run "
                "there; remove it or point TMPDIR elsewhere",
            )
        if stat.S_IMODE(st.st_mode) & 0o077:
            os.fchmod(fd, 0o700)
    finally:
        os.close(fd)
    return base


def make_run_dir(base: str, me: Owner | None) -> str:
    """A new private run folder in ``base`` with its owner record."""
    path = tempfile.mkdtemp(prefix=RUN_PREFIX, dir=base)
    if me is not None:
        fd = os.open(
            os.path.join(path, OWNER),
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o600,
        )
        try:
            os.write(fd, format_owner(me).encode("ascii"))
        finally:
            os.close(fd)
    return path


def sweep(base: str, me: Owner | None = None, limit: int = 1000) -> list[str]:
    """Remove run folders in ``base`` whose owner is provably gone; never raises."""
    removed: list[str] = []
    me = me or current_owner()
    if me is None:
        return removed
    uid = os.getuid()
    try:
        base_fd = os.open(base, _DIR_FLAGS)
    except OSError:
        return removed
    try:
        with os.scandir(base_fd) as it:
            names = [e.name for _, e in zip(range(limit), it, strict=False)]
        for name in names:
            if not name.startswith(RUN_PREFIX):
                continue
            try:
                fd = os.open(name, _DIR_FLAGS, dir_fd=base_fd)
            except OSError:
                continue  # a symlink, a file, a FIFO: not ours to judge
            try:
                if os.fstat(fd).st_uid != uid:
                    continue
                owner = read_owner(".", dir_fd=fd)
            except OSError:
                continue
            finally:
                os.close(fd)
            if owner is None or not owner_gone(owner, me):
                continue
            with contextlib.suppress(OSError):
                shutil.rmtree(name, dir_fd=base_fd)
                removed.append(os.path.join(base, name))
    except Exception:  # a sweep must never stop a run
        pass
    finally:
        os.close(base_fd)
    return removed
