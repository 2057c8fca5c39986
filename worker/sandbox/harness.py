"""Runs INSIDE the sandbox (standard library only, `python -I -S`): sets the limits, then runs
the submission in one of three modes and, for calls, reports the outcome as one JSON line on
the result pipe. It reports what happened, never whether it was right: expected values never
enter the sandbox, so a submission cannot forge a pass. Nor time or memory: the host takes
those from the kernel. A program runs in this process and can write on the result pipe
itself, so the host treats the line as the program's own answer: untrusted, validated. A plain
run gets no result pipe at all.

    harness.py run     SPEC      # the program as __main__, stdin from the box
    harness.py call    SPEC FD   # import it, call spec["function"](*args, **kwargs)
    harness.py request SPEC FD   # import it, call the @endpoint handler for method and path

Every import here is paid on every execution, before the user's code starts: json (which pulls
in re), runpy, traceback and contextlib cost ~10 ms together, more than the interpreter's own
start. So the spec arrives as marshal data (built in; written by the host, never read back from
the sandbox), runpy and traceback are replaced by the few lines below, and json is imported
only when there is a value to report.
"""

import errno
import marshal
import os
import resource
import sys

CODE = "/box/code.py"  # replaced by spec["code_path"]
RESULT_FD = -1  # replaced by argv[3] in call and request modes: the host's result pipe
MEMORY_ERROR_EXIT = 101
FILE_SIZE_EXIT = 102
NOFILE = 64


def set_limits(limits):
    cpu = max(1, int(limits["cpu_time_limit"] + 0.999))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    memory = limits["memory_limit"] * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    nproc = limits["max_processes_and_or_threads"]
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    size = limits["max_file_size"] * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def report(outcome):
    import json

    write_result(json.dumps(outcome, default=repr))


def write_result(line):
    try:  # noqa: SIM105 - contextlib.suppress would cost an import on every start
        os.write(RESULT_FD, (line + "\n").encode())
    except OSError:
        pass  # the host closed the pipe (it is killing the sandbox): nothing left to tell


def execute(run_name):
    """What runpy.run_path does for a plain file: compile, then run it as module `run_name`."""
    with open(CODE, "rb") as handle:
        code = compile(handle.read(), CODE, "exec", dont_inherit=True)
    module = type(sys)(run_name)
    module.__file__ = CODE
    sys.modules[run_name] = module  # so pickle, dataclasses and __main__ lookups find it
    exec(code, module.__dict__)
    return module.__dict__


def load():
    return execute("submission")


def endpoint(path, method="GET"):
    def register(handler):
        ENDPOINTS[(method.upper(), path)] = handler
        return handler

    return register


ENDPOINTS: dict = {}


def call(spec):
    namespace = load()
    function = namespace.get(spec["function"])
    if not callable(function):
        report({"error": f"NameError: no function named {spec['function']!r}"})
        return 1
    value = function(*spec.get("args", []), **spec.get("kwargs", {}))
    report({"value": value})
    return 0


def request(spec):
    import builtins

    builtins.endpoint = endpoint  # type: ignore[attr-defined]
    load()
    handler = ENDPOINTS.get((spec["method"], spec["path"]))
    if handler is None:
        report(
            {
                "status": 404,
                "body": {"detail": f"no @endpoint for {spec['method']} {spec['path']}"},
            }
        )
        return 0
    answer = handler(spec.get("body")) if handler.__code__.co_argcount else handler()
    status = 200
    if isinstance(answer, tuple) and len(answer) == 2 and isinstance(answer[1], int):
        answer, status = answer
    report({"status": status, "body": answer})
    return 0


def main():
    global RESULT_FD
    mode, spec_path = sys.argv[1], sys.argv[2]
    if len(sys.argv) > 3:
        RESULT_FD = int(sys.argv[3])
    with open(spec_path, "rb") as handle:
        spec = marshal.load(handle)
    global CODE
    CODE = spec.get("code_path", CODE)
    stdin = os.open(spec.get("stdin_path", "/dev/null"), os.O_RDONLY)
    os.dup2(stdin, 0)
    os.close(stdin)
    set_limits(spec["limits"])
    sys.argv = [CODE]
    try:
        if mode == "run":
            execute("__main__")
            return 0
        return call(spec) if mode == "call" else request(spec)
    except SystemExit as exit:
        code = exit.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except BaseException as error:
        sys.__excepthook__(type(error), error, error.__traceback__)  # traceback's format, in C
        if mode != "run":
            report({"error": f"{type(error).__name__}: {error}"})
        if isinstance(error, MemoryError):
            return MEMORY_ERROR_EXIT
        if isinstance(error, OSError) and error.errno == errno.EFBIG:
            return FILE_SIZE_EXIT  # CPython ignores SIGXFSZ, so the limit shows up as EFBIG
        return 1


if __name__ == "__main__":
    status = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        pass  # a closed or full pipe: the output cap is the host's business
    os._exit(status)
