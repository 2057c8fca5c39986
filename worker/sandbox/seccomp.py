"""The system-call filter bubblewrap applies to sandboxed code (`bwrap --seccomp FD`).

Built once per worker process with libseccomp (through `pyseccomp`, ctypes over libseccomp2) and
exported as BPF; every sandbox gets its own pipe holding those bytes, since bwrap reads the
program from the descriptor's current offset. A denylist, default allow: what the sandbox must
never do fails with EPERM, and the rest of what a Python program does (threads, subprocess,
multiprocessing, asyncio) runs as it would anywhere. It holds without Docker's profile (a host
worker) and inside it (deploy/seccomp-bwrap.json is the container's own, outer filter).

What it denies (docs/sandbox.md has the reasons):
- kernel keyrings (keys are not namespaced: one job could read another's);
- tracing and reading other processes, the sandbox's own init included;
- io_uring, perf events, BPF, userfaultfd (the kernel's largest attack surfaces);
- mounts and new namespaces: `unshare`, `setns`, `clone` with a namespace flag; `clone3`
  answers ENOSYS (its flags sit in memory a filter cannot read), so libc falls back to `clone`;
- `AF_VSOCK` sockets (not namespaced: they reach a virtual machine's host);
- the rest Docker's default profile refuses a container without capabilities (modules, kexec,
  reboot, clocks, swap, quotas, accounting, handles, NUMA policy, raw I/O ports, syslog).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import tempfile

DENIED = """
add_key keyctl request_key
ptrace process_vm_readv process_vm_writev kcmp pidfd_getfd
io_uring_setup io_uring_enter io_uring_register
perf_event_open bpf userfaultfd fanotify_init lookup_dcookie
mount umount umount2 pivot_root chroot move_mount open_tree fsopen fsconfig fsmount fspick
mount_setattr unshare setns
init_module finit_module delete_module create_module query_module get_kernel_syms
kexec_load kexec_file_load reboot swapon swapoff acct quotactl quotactl_fd nfsservctl
settimeofday stime clock_settime clock_adjtime adjtimex sethostname setdomainname
name_to_handle_at open_by_handle_at uselib ustat sysfs _sysctl vm86 vm86old iopl ioperm
syslog vhangup mbind set_mempolicy get_mempolicy move_pages migrate_pages
""".split()  # noqa: SIM905 - grouped by kind, a line each
# clone's flags that create a namespace (Docker's profile refuses the same mask).
NAMESPACE_FLAGS = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}


# Virtual-machine sockets are not network-namespaced: they would reach the hypervisor's host.
AF_VSOCK = 40


class FilterUnavailable(RuntimeError):
    """libseccomp (or its Python binding) is missing: the sandbox cannot be sealed."""


@functools.cache
def program() -> bytes:
    """The filter as BPF bytes, built once per process."""
    try:
        import pyseccomp as seccomp
    except (ImportError, OSError) as exc:  # the binding, or libseccomp.so.2 it loads
        raise FilterUnavailable(f"libseccomp is not available: {exc}") from exc
    denied = seccomp.ERRNO(errno.EPERM)
    rules = seccomp.SyscallFilter(seccomp.ALLOW)
    for name in DENIED:
        _add(rules, denied, name)
    for flag in NAMESPACE_FLAGS.values():
        _add(rules, denied, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    _add(rules, denied, "socket", seccomp.Arg(0, seccomp.EQ, AF_VSOCK))
    _add(rules, seccomp.ERRNO(errno.ENOSYS), "clone3")
    with tempfile.TemporaryFile() as handle:
        rules.export_bpf(handle)
        handle.seek(0)
        return handle.read()


def _add(rules: object, action: int, name: str, *args: object) -> None:
    # An error: no such system call on this architecture, so nothing to deny.
    with contextlib.suppress(OSError, ValueError, RuntimeError):
        rules.add_rule(action, name, *args)  # type: ignore[attr-defined]


def descriptor() -> int:
    """A pipe's read end holding the filter, for one bwrap to read (the caller closes it)."""
    data = program()
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, data)  # a few KB: well within a pipe's buffer
    finally:
        os.close(write_end)
    return read_end
